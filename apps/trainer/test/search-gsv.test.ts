import { join } from 'node:path';
import { Rng } from '@guilomo/core';
import { useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSearchAdapters } from '../src/adapters.js';
import type { ConfigPath } from '../src/config/fields.js';
import { commandSearch } from '../src/index.js';
import type { Session } from '../src/session.js';
import {
  makeTempDir,
  openCapturedSession,
  readJsonLines,
  readTensors,
  removeTempDir,
  tinyConfig,
} from './helpers.js';

type GsvValues = Map<string, { shape: readonly number[]; data: Float32Array }>;

const TARGETS = ['q', 'v', 'down'];
const NUM_MODULES = 15;
const MAX_EXPERTS = 8;
const MAX_RANK = 8;

/** Runs stage 1 alone and returns the values of gsv.safetensors. */
async function searchGsv(
  out: string,
  overrides: Partial<Record<ConfigPath, unknown>>,
): Promise<GsvValues> {
  const { session } = await openCapturedSession(
    tinyConfig(out, { 'adapter.targets': TARGETS, ...overrides }),
  );
  try {
    await commandSearch(session);
  } finally {
    session.model.dispose();
  }
  return readTensors(join(out, 'gsv.safetensors'));
}

/** GSV values the search starts from, built the way runSearch builds them for the seed. */
function initialGsv(session: Session): GsvValues {
  const set = createSearchAdapters(
    session.targets,
    session.config,
    session.registry,
    new Rng(session.config.run.seed).fork(),
  );
  const values: GsvValues = new Map();
  for (const [path, gsv] of set.gsv) {
    values.set(`${path}.router_expert_vector`, {
      shape: gsv.expert.shape,
      data: Float32Array.from(gsv.expert.dataSync()),
    });
    const ranks = gsv.ranks.dataSync();
    for (let expert = 0; expert < gsv.numExperts; expert++) {
      values.set(`${path}.expertlora_E_vector_${expert}`, {
        shape: [gsv.maxRank],
        data: Float32Array.from(ranks.subarray(expert * gsv.maxRank, (expert + 1) * gsv.maxRank)),
      });
    }
  }
  set.dispose();
  return values;
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  }
  return max;
}

describe('stage 1 on an OpenBookQA slice', () => {
  const dirs: string[] = [];
  let unsearched: GsvValues;
  let initial: GsvValues;
  let tensorsBefore = 0;

  beforeAll(async () => {
    await useBackend('wasm');
    tensorsBefore = tf.memory().numTensors;
    const out = makeTempDir('gsv-0');
    dirs.push(out);
    unsearched = await searchGsv(out, { 'search.steps': 0 });
    const { session } = await openCapturedSession(
      tinyConfig(makeTempDir('gsv-init'), { 'adapter.targets': TARGETS }),
      { withoutData: true },
    );
    dirs.push(session.runDir.root);
    initial = initialGsv(session);
    session.model.dispose();
  }, 60_000);

  afterAll(() => {
    for (const dir of dirs) {
      removeTempDir(dir);
    }
  });

  it('writes the initial GSVs after 0 steps', () => {
    expect(unsearched.size).toBe(NUM_MODULES * (1 + MAX_EXPERTS));
    expect([...unsearched.keys()].sort()).toEqual([...initial.keys()].sort());
    for (const [name, values] of initial) {
      const expectedShape = name.endsWith('.router_expert_vector') ? [MAX_EXPERTS] : [MAX_RANK];
      expect(unsearched.get(name)?.shape, name).toEqual(expectedShape);
      expect(Array.from(unsearched.get(name)?.data ?? []), name).toEqual(Array.from(values.data));
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  // NOTE: the cpu backend is left out because one search step there takes several seconds.
  describe.each([
    ['darts', 'wasm'],
    ['first-order', 'wasm'],
  ] as const)('mode %s on %s', (mode, backend) => {
    let searched: GsvValues;
    let out: string;

    beforeAll(async () => {
      out = makeTempDir(`gsv-${mode}-${backend}`);
      dirs.push(out);
      searched = await searchGsv(out, {
        'search.mode': mode,
        'search.steps': 3,
        'run.backend': backend,
      });
    }, 60_000);

    it('moves the GSVs away from their initial values', () => {
      expect([...searched.keys()].sort()).toEqual([...unsearched.keys()].sort());
      let changedExpertVectors = 0;
      let largest = 0;
      for (const [name, values] of searched) {
        const before = unsearched.get(name)?.data ?? new Float32Array(values.data.length);
        for (const value of values.data) {
          expect(Number.isFinite(value), name).toBe(true);
        }
        const difference = maxAbsDifference(values.data, before);
        largest = Math.max(largest, difference);
        if (name.endsWith('.router_expert_vector') && difference > 0) {
          changedExpertVectors++;
        }
      }
      // The first AdamW step alone moves every entry with a nonzero gradient by about outerLr (3e-3).
      expect(largest).toBeGreaterThan(1e-3);
      expect(changedExpertVectors).toBe(NUM_MODULES);
    });

    it('logs the outer gradient of every step', () => {
      const log = readJsonLines(join(out, 'search-log.jsonl'));
      expect(log.map((record) => record.step)).toEqual([1, 2, 3]);
      for (const record of log) {
        expect(record.outerGradNorm).toBeGreaterThan(0);
        expect(Number.isFinite(record.valLoss)).toBe(true);
      }
    });

    it('leaves no tensors alive', () => {
      expect(tf.memory().numTensors).toBe(tensorsBefore);
    });
  });
});
