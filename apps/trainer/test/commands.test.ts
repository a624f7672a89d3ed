import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@guilomo/core';
import { useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigPath } from '../src/config/fields.js';
import { commandAllocate, commandEval, commandSearch, commandTrain } from '../src/index.js';
import type { Session } from '../src/session.js';
import {
  makeTempDir,
  openCapturedSession,
  readJson,
  readJsonLines,
  removeTempDir,
  tinyConfig,
} from './helpers.js';

const SETTINGS: Partial<Record<ConfigPath, unknown>> = {
  'adapter.targets': ['q', 'o'],
  'search.steps': 1,
  'train.steps': 1,
  'data.evalLimit': 2,
};

/** Opens a session on `out`, runs `command` and disposes the model afterwards. */
async function withSession<T>(
  out: string,
  command: (session: Session) => Promise<T>,
  options: { withoutData?: boolean } = {},
): Promise<T> {
  const { session } = await openCapturedSession(tinyConfig(out, SETTINGS), options);
  try {
    return await command(session);
  } finally {
    session.model.dispose();
  }
}

describe('pipeline commands one by one', () => {
  let dir: string;
  let out: string;
  let tensorsBefore = 0;

  beforeAll(async () => {
    await useBackend('wasm');
    tensorsBefore = tf.memory().numTensors;
    dir = makeTempDir('commands');
    out = join(dir, 'run');
  });

  afterAll(() => {
    removeTempDir(dir);
  });

  it('evaluates the base model without adapters', async () => {
    const base = join(dir, 'base');
    const result = await withSession(base, commandEval);
    expect(result.total).toBe(2);
    expect(readJson(join(base, 'eval-results.json')).model).toBe('base');
    expect(existsSync(join(base, 'report.md'))).toBe(true);
  });

  it('rejects allocate before search', async () => {
    const error = await withSession(join(dir, 'no-search'), commandAllocate, {
      withoutData: true,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('`allocation.policy`: needs GSVs');
    expect((error as Error).message).toContain('Run `guilomo search --run-out');
  });

  it('runs search, allocate, train and eval separately', async () => {
    await withSession(out, commandSearch);
    expect(existsSync(join(out, 'gsv.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'allocation.json'))).toBe(false);

    const allocation = await withSession(out, commandAllocate, { withoutData: true });
    expect(allocation.modules).toHaveLength(10);
    expect(existsSync(join(out, 'allocation.json'))).toBe(true);

    await withSession(out, commandTrain);
    expect(readJsonLines(join(out, 'train-log.jsonl')).map((record) => record.step)).toEqual([1]);
    expect(existsSync(join(out, 'adapter', 'adapter_model.safetensors'))).toBe(true);

    const result = await withSession(out, commandEval);
    expect(result.total).toBe(2);
    expect(readJson(join(out, 'eval-results.json')).model).toBe('adapted');
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  }, 60_000);

  it('leaves no tensors alive', () => {
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});
