import { ConfigError, Rng } from '@guilomo/core';
import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GsvInit } from '../src/gsv-init.js';
import { GSV_INITS, gsvInitialValues } from '../src/gsv-init.js';
import { createGsvSet } from '../src/gsv-set.js';
import { readAllocation } from '../src/read-allocation.js';

function sum(values: ArrayLike<number>): number {
  return Array.from(values).reduce((a, b) => a + b, 0);
}

describe('gsvInitialValues', () => {
  it('draws softmax-normal values that sum to 1', () => {
    const values = gsvInitialValues('softmax-normal', 8, new Rng(0));
    expect(sum(values)).toBeCloseTo(1, 6);
    expect(Math.min(...values)).toBeGreaterThan(0);
  });

  it('reproduces softmax-normal values from the seed', () => {
    expect(gsvInitialValues('softmax-normal', 8, new Rng(7))).toEqual(
      gsvInitialValues('softmax-normal', 8, new Rng(7)),
    );
    expect(gsvInitialValues('softmax-normal', 8, new Rng(7))).not.toEqual(
      gsvInitialValues('softmax-normal', 8, new Rng(8)),
    );
  });

  it('matches softmax of the normal draw', () => {
    const draw = Array.from(new Rng(3).normalArray(4));
    const exps = draw.map(Math.exp);
    const expected = exps.map((v) => v / sum(exps));
    expectClose(gsvInitialValues('softmax-normal', 4, new Rng(3)), expected, 'exact');
  });

  it.each([
    { init: 'ones' as GsvInit, expected: [1, 1, 1, 1] },
    { init: 'ones-bump-last' as GsvInit, expected: [1, 1, 1, 1 + 1e-4] },
  ])('fills $init', ({ init, expected }) => {
    expectClose(gsvInitialValues(init, 4, undefined), expected, 'exact');
  });

  it.each([
    { length: 8, peak: 4 },
    { length: 7, peak: 3 },
    { length: 4, peak: 2 },
  ])('centres gaussian-bump of length $length at $peak', ({ length, peak }) => {
    const values = Array.from(gsvInitialValues('gaussian-bump', length, undefined));
    expect(sum(values)).toBeCloseTo(1, 6);
    expect(values.indexOf(Math.max(...values))).toBe(peak);
  });

  it('requires an rng for softmax-normal', () => {
    expect(() => gsvInitialValues('softmax-normal', 4, undefined)).toThrow(ConfigError);
    expect(() => gsvInitialValues('softmax-normal', 4, undefined)).toThrow(
      /`rng`: is required by init 'softmax-normal'/,
    );
  });
});

describe.each(TEST_BACKENDS)('createGsvSet on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(GSV_INITS.map((init) => ({ init })))(
    'creates variables with init $init',
    async ({ init }) => {
      await expectNoLeaks(() => {
        const gsv = createGsvSet({ numExperts: 8, maxRank: 6, init, rng: new Rng(0) });
        expect(gsv.expert.shape).toEqual([8]);
        expect(gsv.ranks.shape).toEqual([8, 6]);
        expect(gsv.expert.trainable).toBe(true);
        expect([...gsv.variables().keys()]).toEqual(['gsv_expert', 'gsv_ranks']);
        gsv.dispose();
      });
    },
  );

  it('draws the expert GSV first, then the rank rows in order', async () => {
    await expectNoLeaks(() => {
      const gsv = createGsvSet({ numExperts: 3, maxRank: 4, rng: new Rng(5) });
      const rng = new Rng(5);
      const expected = [gsvInitialValues('softmax-normal', 3, rng)];
      for (let e = 0; e < 3; e++) {
        expected.push(gsvInitialValues('softmax-normal', 4, rng));
      }
      expectClose(gsv.expert.dataSync(), expected[0] as Float32Array, 'exact');
      expectClose(
        gsv.ranks.dataSync(),
        expected.slice(1).flatMap((row) => Array.from(row)),
        'exact',
      );
      gsv.dispose();
    });
  });

  it.each([
    { init: 'ones' as GsvInit, experts: 2, ranks: [1, 1, 1, 1] },
    { init: 'ones-bump-last' as GsvInit, experts: 4, ranks: [5, 5, 5, 5] },
    { init: 'gaussian-bump' as GsvInit, experts: 3, ranks: [3, 3, 3, 3] },
  ])('starts $init at $experts experts', async ({ init, experts, ranks }) => {
    await expectNoLeaks(() => {
      const gsv = createGsvSet({ numExperts: 4, maxRank: 5, init });
      const allocation = readAllocation(gsv);
      expect(allocation.experts).toBe(experts);
      expect(allocation.ranks).toEqual(ranks);
      gsv.dispose();
    });
  });

  it.each([
    {
      options: { numExperts: 1, maxRank: 4 },
      message: /`numExperts`: must be an integer >= 2.*received 1/,
    },
    { options: { numExperts: 4.5, maxRank: 4 }, message: /`numExperts`.*received 4.5/ },
    {
      options: { numExperts: 4, maxRank: 0 },
      message: /`maxRank`: must be an integer >= 1, received 0/,
    },
    {
      options: { numExperts: 4, maxRank: 4, init: 'zeros' as GsvInit },
      message:
        /`init`: must be one of 'softmax-normal', 'ones', 'ones-bump-last', 'gaussian-bump', received "zeros"/,
    },
    { options: { numExperts: 4, maxRank: 4 }, message: /`rng`: is required/ },
  ])('rejects invalid options: $message', ({ options, message }) => {
    const before = tf.memory().numTensors;
    expect(() => createGsvSet(options)).toThrow(ConfigError);
    expect(() => createGsvSet(options)).toThrow(message);
    expect(tf.memory().numTensors).toBe(before);
  });
});
