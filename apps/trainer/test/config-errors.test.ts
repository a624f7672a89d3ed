import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@guilomo/core';
import { useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigPath } from '../src/config/fields.js';
import { CONFIG_FIELDS, readConfigFile, resolveConfig } from '../src/index.js';
import {
  makeTempDir,
  openCapturedSession,
  removeTempDir,
  sharedDataDir,
  tinyConfig,
} from './helpers.js';

/** Returns the error `fn` throws, failing the test when it returns. */
function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    if (error instanceof Error) {
      return error;
    }
    throw new Error(`Expected an Error, received ${String(error)}.`);
  }
  throw new Error('Expected an error, but the call returned.');
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) {
      return error;
    }
    throw new Error(`Expected an Error, received ${String(error)}.`);
  }
  throw new Error('Expected a rejection, but the promise resolved.');
}

describe('resolveConfig', () => {
  it('fills every field with its default', () => {
    const config = resolveConfig() as unknown as Record<string, Record<string, unknown>>;
    for (const [path, spec] of Object.entries(CONFIG_FIELDS)) {
      const [section, key] = path.split('.') as [string, string];
      expect(config[section]?.[key], path).toEqual(spec.default);
    }
  });

  it('lets flags override the file', () => {
    const config = resolveConfig(
      { search: { steps: 5, mode: 'first-order' } },
      { 'search.steps': '7', 'adapter.targets': 'q, v' },
    );
    expect(config.search.steps).toBe(7);
    expect(config.search.mode).toBe('first-order');
    expect(config.adapter.targets).toEqual(['q', 'v']);
  });

  it('accepts run.stopAfter', () => {
    expect(resolveConfig({}, { 'run.stopAfter': '3' }).run.stopAfter).toBe(3);
    expect(resolveConfig().run.stopAfter).toBe(0);
  });

  it('rejects an unknown section', () => {
    const error = thrownBy(() => resolveConfig({ serach: { steps: 2 } }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('`serach`');
    expect(error.message).toContain('is not a config section');
    expect(error.message).toMatch(
      /Valid sections: run, model, data, adapter, search, allocation, train, eval/,
    );
  });

  it('rejects an unknown field', () => {
    const error = thrownBy(() => resolveConfig({ search: { stpes: 2 } }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('`search.stpes`');
    expect(error.message).toContain('is not a known field');
    for (const field of ['mode', 'steps', 'batchSize', 'innerLr', 'outerLr']) {
      expect(error.message).toContain(field);
    }
  });

  it('rejects an unknown override path', () => {
    const error = thrownBy(() =>
      resolveConfig({}, { 'search.stpes': '2' } as Partial<Record<ConfigPath, unknown>>),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('`search.stpes`');
    expect(error.message).toContain('steps');
  });

  it('rejects a section that is not a mapping', () => {
    const error = thrownBy(() => resolveConfig({ search: 3 }));
    expect(error.message).toBe('`search`: must be a mapping of fields, received 3.');
  });

  // [case, file config, flag overrides, expected message parts: field, value, what is allowed]
  it.each([
    [
      'string for an int',
      { search: { steps: 'two' } },
      {},
      ['`search.steps`', 'must be a number', '"two"'],
    ],
    [
      'fraction for an int',
      { train: { steps: 2.5 } },
      {},
      ['`train.steps`', 'must be an integer', '2.5'],
    ],
    [
      'text for a bool',
      { run: { openblas: 'yes' } },
      {},
      ['`run.openblas`', 'must be true or false', '"yes"'],
    ],
    [
      'string for a list',
      { adapter: { targets: 'q' } },
      {},
      ['`adapter.targets`', 'must be a list of strings', '"q"'],
    ],
    [
      'list for a json object',
      { allocation: { params: [1] } },
      {},
      ['`allocation.params`', 'must be an object', '[1]'],
    ],
    [
      'number for a string',
      { adapter: { router: 3 } },
      {},
      ['`adapter.router`', 'must be a string', '3'],
    ],
    [
      'flag that is no number',
      {},
      { 'search.steps': 'abc' },
      ['`search.steps`', 'must be a number', '"abc"'],
    ],
    ['empty flag for a number', {}, { 'train.lr': ' ' }, ['`train.lr`', 'must be a number']],
    [
      'flag that is no bool',
      {},
      { 'run.openblas': '1' },
      ['`run.openblas`', 'must be true or false', '"1"'],
    ],
    [
      'flag with invalid JSON',
      {},
      { 'adapter.routerParams': '{temperature: 2}' },
      ['`adapter.routerParams`', 'must be a JSON object', '"{temperature: 2}"'],
    ],
  ] as const)('rejects a wrong type: %s', (_name, file, flags, parts) => {
    const error = thrownBy(() =>
      resolveConfig(file, flags as Partial<Record<ConfigPath, unknown>>),
    );
    expect(error).toBeInstanceOf(ConfigError);
    for (const part of parts) {
      expect(error.message).toContain(part);
    }
  });

  it.each([
    ['negative steps', { search: { steps: -1 } }, '`search.steps`: must be >= 0, received -1.'],
    [
      'dropout above its maximum',
      { adapter: { dropout: 1.5 } },
      '`adapter.dropout`: must be <= 0.99, received 1.5.',
    ],
    ['zero learning rate', { train: { lr: 0 } }, '`train.lr`: must be > 0, received 0.'],
    [
      'too many experts',
      { adapter: { maxExperts: 65 } },
      '`adapter.maxExperts`: must be <= 64, received 65.',
    ],
    [
      'sequence too short',
      { data: { maxLength: 4 } },
      '`data.maxLength`: must be >= 8, received 4.',
    ],
  ] as const)('rejects a value out of range: %s', (_name, file, message) => {
    const error = thrownBy(() => resolveConfig(file));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(message);
  });

  it.each([
    ['search.mode', { search: { mode: 'dart' } }, 'first-order, darts, reference', '"dart"'],
    [
      'data.task',
      { data: { task: 'boolq' } },
      'openbookqa, commonsenseqa, scienceqa, mrpc, cola, rte',
      '"boolq"',
    ],
    ['run.backend', { run: { backend: 'webgl' } }, 'auto, tensorflow, wasm, cpu', '"webgl"'],
  ] as const)('rejects an invalid %s value', (field, file, allowed, received) => {
    const error = thrownBy(() => resolveConfig(file));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`\`${field}\``);
    expect(error.message).toContain(`must be one of ${allowed}`);
    expect(error.message).toContain(received);
  });

  it('rejects topK above maxExperts', () => {
    const error = thrownBy(() =>
      resolveConfig({ adapter: { topK: 5, maxExperts: 4 }, allocation: { policy: 'uniform' } }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('`adapter.topK`: must be <= adapter.maxExperts (4), received 5.');
  });

  it('rejects topK above 2 with the guilomo policy', () => {
    const error = thrownBy(() => resolveConfig({ adapter: { topK: 3 } }));
    expect(error.message).toContain('`adapter.topK`: must be <= 2 with the guilomo policy');
    expect(error.message).toContain('received 3');
  });
});

describe('readConfigFile', () => {
  let dir: string;

  beforeAll(() => {
    dir = makeTempDir('config');
  });

  afterAll(() => {
    removeTempDir(dir);
  });

  function write(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  it('reads YAML sections', () => {
    const path = write(
      'ok.yaml',
      'search:\n  steps: 3\n  mode: first-order\nadapter:\n  targets: [q, v]\n',
    );
    const config = resolveConfig(readConfigFile(path));
    expect(config.search.steps).toBe(3);
    expect(config.search.mode).toBe('first-order');
    expect(config.adapter.targets).toEqual(['q', 'v']);
  });

  it('reads an empty YAML file as defaults', () => {
    expect(readConfigFile(write('empty.yaml', ''))).toEqual({});
  });

  it('rejects invalid JSON', () => {
    const path = write('broken.json', '{ "search": { "steps": 3, } }');
    const error = thrownBy(() => readConfigFile(path));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('`--config`');
    expect(error.message).toContain(`${path} is not valid JSON`);
  });

  it('rejects invalid YAML', () => {
    const path = write('broken.yaml', 'search:\n  steps: 3\n mode: darts\n');
    const error = thrownBy(() => readConfigFile(path));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`${path} is not valid YAML`);
  });

  it('rejects a file that is not a mapping', () => {
    const path = write('list.yaml', '- search\n- train\n');
    const error = thrownBy(() => readConfigFile(path));
    expect(error.message).toContain('must contain a mapping of sections');
    expect(error.message).toContain('["search","train"]');
  });

  it('rejects a missing file', () => {
    const path = join(dir, 'missing.yaml');
    const error = thrownBy(() => readConfigFile(path));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`cannot read ${path}`);
  });
});

describe('openSession', () => {
  let dir: string;
  let tensorsBefore = 0;

  beforeAll(async () => {
    dir = makeTempDir('session');
    await useBackend('wasm');
    tensorsBefore = tf.memory().numTensors;
  });

  afterAll(() => {
    removeTempDir(dir);
  });

  it('rejects an unknown router', async () => {
    const error = await rejectionOf(
      openCapturedSession(tinyConfig(dir, { 'adapter.router': 'top-q' })),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('`adapter.router`');
    expect(error.message).toContain('"top-q"');
    for (const name of ['top-k', 'top-p', 'switch', 'soft', 'expert-choice']) {
      expect(error.message).toContain(name);
    }
    expect(error.message).toContain('run.plugins');
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('rejects an unknown allocation policy', async () => {
    const error = await rejectionOf(
      openCapturedSession(tinyConfig(dir, { 'allocation.policy': 'guilomo2' })),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('`allocation.policy`');
    expect(error.message).toContain('"guilomo2"');
    for (const name of ['guilomo', 'uniform', 'mola', 'alphalora']) {
      expect(error.message).toContain(name);
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it.each([
    ['a layer the model lacks', ['layers.9.q'], 'matches no module of this 5-layer model'],
    ['an unknown projection', ['qkv'], 'unknown projection name'],
  ])('rejects targets with %s', async (_name, targets, message) => {
    const error = await rejectionOf(
      openCapturedSession(tinyConfig(dir, { 'adapter.targets': targets })),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('`adapter.targets`');
    expect(error.message).toContain(JSON.stringify(targets[0]));
    expect(error.message).toContain(message);
    // The model loaded before the check is released again.
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it.each([
    ['commonsenseqa', 5],
    ['mrpc', 2],
  ] as const)('loads %s from data.dir', async (task, options) => {
    const config = tinyConfig(dir, {
      'data.task': task,
      'data.dir': sharedDataDir,
      'data.trainLimit': 3,
      'data.evalLimit': 2,
    });
    const { session } = await openCapturedSession(config);
    session.model.dispose();
    expect(session.trainExamples).toHaveLength(3);
    expect(session.evalExamples).toHaveLength(2);
    for (const example of [...session.trainExamples, ...session.evalExamples]) {
      expect(example.choices).toHaveLength(options);
      expect(example.choices[example.label]).toBe(example.output);
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('rejects a data folder without the task files', async () => {
    const error = await rejectionOf(
      openCapturedSession(tinyConfig(dir, { 'data.dir': join(dir, 'no-data') })),
    );
    expect(error.message).toContain('no-data');
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});
