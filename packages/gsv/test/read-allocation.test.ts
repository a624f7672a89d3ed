import { NumericError, Rng, ShapeError } from '@guilomo/core';
import { expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGsvSet } from '../src/gsv-set.js';
import { allocationFromValues, readAllocation } from '../src/read-allocation.js';

describe('allocationFromValues', () => {
  it.each([
    { label: 'argmax 3', expert: [0.1, 0.2, 0.1, 0.9], experts: 4 },
    { label: 'argmax 0 raised to 2', expert: [0.9, 0.2, 0.1, 0.3], experts: 2 },
    { label: 'argmax 1', expert: [0.1, 0.9, 0.1, 0.3], experts: 2 },
    { label: 'tie takes the first', expert: [0.1, 0.2, 0.7, 0.7], experts: 3 },
    { label: 'negative values', expert: [-3, -2, -1, -4], experts: 3 },
  ])('counts experts: $label', ({ expert, experts }) => {
    const ranks = new Array(expert.length * 2).fill(0);
    expect(allocationFromValues(expert, ranks, 2).experts).toBe(experts);
  });

  it('reads one rank per expert, ties to the first', () => {
    const ranks = [
      [0.9, 0.1, 0.1],
      [0.1, 0.9, 0.1],
      [0.1, 0.1, 0.9],
      [0.5, 0.5, 0.5],
      [0.1, 0.4, 0.4],
    ];
    const allocation = allocationFromValues([1, 0, 0, 0, 0], ranks.flat(), 3);
    expect(allocation.ranks).toEqual([1, 2, 3, 1, 2]);
  });

  it('rejects rank values of the wrong length', () => {
    expect(() => allocationFromValues([1, 2], [1, 2, 3], 2)).toThrow(ShapeError);
    expect(() => allocationFromValues([1, 2], [1, 2, 3], 2)).toThrow(
      /3 entries, expected numExperts · maxRank = 2 · 2 = 4/,
    );
  });

  it('rejects a non-finite value', () => {
    expect(() => allocationFromValues([1, Number.NaN], [1, 2, 3, 4], 2)).toThrow(NumericError);
    expect(() => allocationFromValues([1, 2], [1, 2, 3, Number.POSITIVE_INFINITY], 2)).toThrow(
      /rank GSV of expert 1 has a non-finite value Infinity at index 1/,
    );
  });
});

describe.each(TEST_BACKENDS)('readAllocation on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('reads the allocation from the variables', async () => {
    await expectNoLeaks(() => {
      const gsv = createGsvSet({ numExperts: 4, maxRank: 3, rng: new Rng(0) });
      tf.tidy(() => {
        gsv.expert.assign(tf.tensor1d([0.1, 0.3, 0.8, 0.2]));
        gsv.ranks.assign(
          tf.tensor2d([
            [0, 0, 1],
            [1, 0, 0],
            [0, 1, 0],
            [0.2, 0.2, 0.1],
          ]),
        );
      });
      expect(readAllocation(gsv)).toEqual({ experts: 3, ranks: [3, 1, 2, 1] });
      gsv.dispose();
    });
  });
});
