import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, seededDropout } from '../src/index.js';
import { expectNoLeaks, TEST_BACKENDS, useBackend } from '../src/testing/index.js';

// shape, rate, seed
const CASES: [number[], number, number][] = [
  [[64, 48], 0.05, 0],
  [[64, 48], 0.05, 1],
  [[64, 48], 0.05, 4294967295],
  [[300, 7], 0.1, 12345],
  [[5, 6, 7], 0.5, 99],
  [[1000], 0.99, 7],
  [[1000], 1e-9, 7],
];

describe.each(TEST_BACKENDS)('seededDropout on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(CASES)('of %j at rate %f with seed %i equals tf.dropout', async (shape, rate, seed) => {
    await expectNoLeaks(() => {
      const size = shape.reduce((total, dim) => total * dim, 1);
      const x = tf.tensor(new Rng(seed).normalArray(size), shape);
      const ours = seededDropout(x, rate, seed);
      const stock = tf.dropout(x, rate, undefined, seed);
      expect(ours.shape).toEqual(shape);
      // toEqual on the typed arrays compares every element, zero signs included.
      expect(ours.dataSync()).toEqual(stock.dataSync());
      tf.dispose([x, ours, stock]);
    });
  });

  it('keeps and scales about 1 - rate of the entries', async () => {
    await expectNoLeaks(() => {
      const x = tf.ones([200, 50]);
      const out = seededDropout(x, 0.25, 3);
      const values = out.dataSync();
      const kept = values.filter((value) => value !== 0);
      expect(kept.length / values.length).toBeGreaterThan(0.72);
      expect(kept.length / values.length).toBeLessThan(0.78);
      expect(new Set(kept)).toEqual(new Set([Math.fround(1 / Math.fround(0.75))]));
      tf.dispose([x, out]);
    });
  });

  it('returns a copy at rate 0', async () => {
    await expectNoLeaks(() => {
      const x = tf.tensor1d([1, -2, 3]);
      const out = seededDropout(x, 0, 5);
      expect(Array.from(out.dataSync())).toEqual([1, -2, 3]);
      tf.dispose([x, out]);
    });
  });

  it('passes gradients through the kept entries', async () => {
    await expectNoLeaks(() => {
      const x = tf.tensor2d(new Rng(2).normalArray(40), [8, 5]);
      const grad = tf.grad((input: tf.Tensor) => tf.sum(seededDropout(input, 0.3, 11)))(x);
      const expected = tf.grad((input: tf.Tensor) => tf.sum(tf.dropout(input, 0.3, undefined, 11)))(
        x,
      );
      expect(grad.dataSync()).toEqual(expected.dataSync());
      tf.dispose([x, grad, expected]);
    });
  });

  it.each([1, -0.1, Number.NaN])('rejects rate %f', (rate) => {
    const x = tf.ones([2]);
    expect(() => seededDropout(x, rate, 1)).toThrow(/Dropout rate must be in \[0, 1\)/);
    x.dispose();
  });
});
