import { ShapeError } from '@guilomo/core';
import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { rankMask, rankMaskRows } from '../src/rank-mask.js';

// Rows with a unique maximum, a tie (first index wins), a maximum at the last entry and a
// maximum at entry 0.
const H = [
  [0.2, 0.5, 0.1, -0.3],
  [0.1, 0.4, 0.4, 0.2],
  [-1, 0, 1, 2],
  [3, 0.5, -0.5, 2.9],
];
const UPSTREAM = [
  [1, 2, 3, 4],
  [-0.5, 1.5, 2, -1],
  [0.3, -0.2, 0.7, 1.1],
  [2, -3, 0.25, 0.5],
];

describe.each(TEST_BACKENDS)('rankMaskRows on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('equals rankMask per row in value', async () => {
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const batched = rankMaskRows(tf.tensor2d(H));
        const perRow = tf.stack(H.map((row) => rankMask(tf.tensor1d(row))));
        expect(batched.shape).toEqual([4, 4]);
        expectClose(batched, perRow, 'exact');
      }),
    );
  });

  it('equals rankMask per row in gradient', async () => {
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const upstream = tf.tensor2d(UPSTREAM);
        const batched = tf.grad((h) => tf.sum(tf.mul(rankMaskRows(h as tf.Tensor2D), upstream)))(
          tf.tensor2d(H),
        );
        const perRow = H.map((row, e) =>
          tf.grad((h) =>
            tf.sum(tf.mul(rankMask(h as tf.Tensor1D), tf.tensor1d(UPSTREAM[e] as number[]))),
          )(tf.tensor1d(row)),
        );
        expectClose(batched, tf.stack(perRow), 'exact');
      }),
    );
  });

  it('rejects a vector', async () => {
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const vector = tf.tensor1d([1, 2]) as unknown as tf.Tensor2D;
        expect(() => rankMaskRows(vector)).toThrow(ShapeError);
        expect(() => rankMaskRows(vector)).toThrow(/\[experts, rank\], received shape \[2\]/);
      }),
    );
  });
});
