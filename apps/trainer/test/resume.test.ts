import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigPath } from '../src/config/fields.js';
import { commandRun, RunStopped } from '../src/index.js';
import {
  makeTempDir,
  openCapturedSession,
  readJson,
  readJsonLines,
  readTensors,
  removeTempDir,
  tinyConfig,
} from './helpers.js';

const SETTINGS: Partial<Record<ConfigPath, unknown>> = {
  'adapter.targets': ['q', 'v', 'down'],
  'search.steps': 3,
  'train.steps': 3,
  'data.evalLimit': 1,
  // Only the final checkpoint and the ones written at a stop.
  'run.checkpointEvery': 100,
};

interface Invocation {
  /** What commandRun threw, or undefined when it finished. */
  readonly error: unknown;
  /** Steps reported by the progress events of each phase, in order. */
  readonly steps: Record<string, number[]>;
}

/** Runs `guilomo run` in-process and disposes the session's model, whatever happens. */
async function runOnce(
  out: string,
  options: { stopAfter?: number; resume?: boolean },
): Promise<Invocation> {
  const config = tinyConfig(out, { ...SETTINGS, 'run.stopAfter': options.stopAfter ?? 0 });
  const { session, events } = await openCapturedSession(config, {
    resume: options.resume === true,
  });
  let error: unknown;
  try {
    await commandRun(session);
  } catch (caught) {
    error = caught;
  } finally {
    session.model.dispose();
  }
  const steps: Record<string, number[]> = { search: [], train: [] };
  for (const event of events) {
    steps[event.phase]?.push(event.step);
  }
  return { error, steps };
}

/** Log records without the wall-clock field, which differs between any two runs. */
function stepRecords(path: string): Record<string, unknown>[] {
  return readJsonLines(path).map(({ elapsedSeconds: _elapsed, ...rest }) => rest);
}

async function expectSameTensors(actualPath: string, expectedPath: string): Promise<void> {
  const actual = await readTensors(actualPath);
  const expected = await readTensors(expectedPath);
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [name, tensor] of expected) {
    const other = actual.get(name);
    expect(other?.shape, name).toEqual(tensor.shape);
    // Bit for bit: the Float32Array contents, compared element by element.
    expect(Array.from(other?.data ?? []), name).toEqual(Array.from(tensor.data));
  }
}

describe('resume after run.stopAfter', () => {
  let straight: string;
  let resumed: string;
  let tensorsBefore = 0;
  const invocations: Invocation[] = [];
  const tensorsAfterStop: number[] = [];
  const searchLogAtFirstStop: Record<string, unknown>[] = [];

  beforeAll(async () => {
    await useBackend('wasm');
    tensorsBefore = tf.memory().numTensors;
    straight = makeTempDir('straight');
    resumed = makeTempDir('resumed');

    const uninterrupted = await runOnce(straight, {});
    if (uninterrupted.error !== undefined) {
      throw uninterrupted.error;
    }
    // First invocation: stops the search after 2 of 3 steps.
    invocations.push(await runOnce(resumed, { stopAfter: 2 }));
    tensorsAfterStop.push(tf.memory().numTensors);
    searchLogAtFirstStop.push(...stepRecords(join(resumed, 'search-log.jsonl')));
    // Second: finishes the search (1 step), then stops training after 2 of 3 steps.
    invocations.push(await runOnce(resumed, { stopAfter: 2, resume: true }));
    tensorsAfterStop.push(tf.memory().numTensors);
    // Third: finishes training, evaluates and reports.
    invocations.push(await runOnce(resumed, { resume: true }));
  }, 180_000);

  afterAll(() => {
    removeTempDir(straight);
    removeTempDir(resumed);
  });

  it('stops the search phase first', () => {
    const first = invocations[0];
    expect(first?.error).toBeInstanceOf(RunStopped);
    expect(first?.error).toMatchObject({ phase: 'search', step: 2, total: 3 });
    expect((first?.error as Error).message).toContain('Continue with --resume');
    expect(first?.steps).toEqual({ search: [0, 1, 2], train: [] });
    expect(searchLogAtFirstStop.map((record) => record.step)).toEqual([1, 2]);
  });

  it('continues the search, then stops training', () => {
    const second = invocations[1];
    expect(second?.error).toBeInstanceOf(RunStopped);
    expect(second?.error).toMatchObject({ phase: 'train', step: 2, total: 3 });
    // The search continues at step 2 instead of starting over.
    expect(second?.steps).toEqual({ search: [2, 3], train: [0, 1, 2] });
  });

  it('continues training to the end', () => {
    const third = invocations[2];
    expect(third?.error).toBeUndefined();
    expect(third?.steps).toEqual({ search: [3], train: [2, 3] });
  });

  it('leaves no tensors alive after a stop', () => {
    expect(tensorsAfterStop).toEqual([tensorsBefore, tensorsBefore]);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('ends with the same GSVs', async () => {
    await expectSameTensors(join(resumed, 'gsv.safetensors'), join(straight, 'gsv.safetensors'));
  });

  it('ends with the same allocation', () => {
    for (const file of [
      'allocation.json',
      'expert.json',
      'rank.json',
      'adapter/adapter_config.json',
    ]) {
      expect(readFileSync(join(resumed, file), 'utf8'), file).toBe(
        readFileSync(join(straight, file), 'utf8'),
      );
    }
  });

  it('ends with the same adapter weights', async () => {
    await expectSameTensors(
      join(resumed, 'adapter', 'adapter_model.safetensors'),
      join(straight, 'adapter', 'adapter_model.safetensors'),
    );
  });

  it('ends with the same checkpoints', async () => {
    for (const phase of ['search', 'train']) {
      const latest = readJson<{ folder: string }>(
        join(straight, 'checkpoints', phase, 'latest.json'),
      );
      expect(readJson(join(resumed, 'checkpoints', phase, 'latest.json'))).toEqual(latest);
      const folder = join('checkpoints', phase, latest.folder);
      await expectSameTensors(
        join(resumed, folder, 'tensors.safetensors'),
        join(straight, folder, 'tensors.safetensors'),
      );
      expect(readJson(join(resumed, folder, 'state.json'))).toEqual(
        readJson(join(straight, folder, 'state.json')),
      );
    }
  });

  it('ends with the same logs', () => {
    for (const phase of ['search', 'train']) {
      const expected = stepRecords(join(straight, `${phase}-log.jsonl`));
      expect(expected).toHaveLength(3);
      expect(stepRecords(join(resumed, `${phase}-log.jsonl`)), phase).toEqual(expected);
    }
  });

  it('ends with the same evaluation', () => {
    const strip = ({
      seconds: _seconds,
      examplesPerSecond: _rate,
      ...rest
    }: Record<string, unknown>) => rest;
    expect(strip(readJson(join(resumed, 'eval-results.json')))).toEqual(
      strip(readJson(join(straight, 'eval-results.json'))),
    );
    expect(existsSync(join(resumed, 'report.md'))).toBe(true);
  });
});
