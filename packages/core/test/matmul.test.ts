import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isTransposedMatMulFast,
  matMul2d,
  matMulConst,
  Rng,
  setTransposedMatMulFast,
} from '../src/index.js';
import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../src/testing/index.js';

const SHAPES = [
  { m: 3, k: 4, n: 5 },
  { m: 1, k: 1, n: 1 },
  { m: 6, k: 2, n: 7 },
];

function randomMatrix(rng: Rng, rows: number, columns: number): tf.Tensor2D {
  return tf.tensor2d(rng.normalArray(rows * columns), [rows, columns]);
}

const CASES = TEST_BACKENDS.flatMap((backend) => [false, true].map((fast) => ({ backend, fast })));

describe.each(CASES)(
  'matMul wrappers on $backend, transposes marked fast: $fast',
  ({ backend, fast }) => {
    beforeAll(async () => {
      await useBackend(backend);
      setTransposedMatMulFast(backend, fast);
    });
    afterAll(() => {
      setTransposedMatMulFast(backend, false);
    });

    it('reports the mark', () => {
      expect(isTransposedMatMulFast(backend)).toBe(fast);
    });

    describe.each(SHAPES)('[$m,$k]x[$k,$n]', ({ m, k, n }) => {
      it('matMul2d matches tf.matMul and its gradients', async () => {
        await expectNoLeaks(() => {
          tf.tidy(() => {
            const rng = new Rng(m * 100 + k * 10 + n);
            const a = randomMatrix(rng, m, k);
            const b = randomMatrix(rng, k, n);
            // A random upstream gradient, so that a transposed product cannot pass by symmetry.
            const upstream = randomMatrix(rng, m, n);
            const loss = (matMul: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D) =>
              tf.grads((x: tf.Tensor, y: tf.Tensor) =>
                tf.sum(tf.mul(matMul(x as tf.Tensor2D, y as tf.Tensor2D), upstream)),
              );

            const [gradA, gradB] = loss(matMul2d)([a, b]);
            const [expectedA, expectedB] = loss((x, y) => tf.matMul(x, y))([a, b]);

            expectClose(matMul2d(a, b), tf.matMul(a, b), 'exact');
            expect(gradA?.shape).toEqual([m, k]);
            expect(gradB?.shape).toEqual([k, n]);
            expectClose(gradA as tf.Tensor, expectedA as tf.Tensor, 'exact');
            expectClose(gradB as tf.Tensor, expectedB as tf.Tensor, 'exact');
          });
        });
      });

      it('matMulConst matches tf.matMul for the input gradient', async () => {
        await expectNoLeaks(() => {
          tf.tidy(() => {
            const rng = new Rng(m * 100 + k * 10 + n + 1);
            const x = randomMatrix(rng, m, k);
            const w = randomMatrix(rng, k, n);
            const upstream = randomMatrix(rng, m, n);

            const gradX = tf.grad((input: tf.Tensor) =>
              tf.sum(tf.mul(matMulConst(input as tf.Tensor2D, w), upstream)),
            )(x);
            const expected = tf.grad((input: tf.Tensor) =>
              tf.sum(tf.mul(tf.matMul(input as tf.Tensor2D, w), upstream)),
            )(x);

            expectClose(matMulConst(x, w), tf.matMul(x, w), 'exact');
            expect(gradX.shape).toEqual([m, k]);
            expectClose(gradX, expected, 'exact');
          });
        });
      });
    });

    it('matMulConst gives a frozen variable no gradient', async () => {
      const rng = new Rng(5);
      const frozen = tf.variable(randomMatrix(rng, 4, 3), true, `frozen-${backend}-${fast}`);
      const trainable = tf.variable(randomMatrix(rng, 2, 4), true, `trainable-${backend}-${fast}`);

      await expectNoLeaks(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(matMulConst(trainable, frozen)));
        const expected = tf.tidy(() =>
          tf.grad((x: tf.Tensor) => tf.sum(tf.matMul(x as tf.Tensor2D, frozen)))(trainable),
        );

        expect(Object.keys(grads)).toEqual([trainable.name]);
        expectClose(grads[trainable.name] as tf.Tensor, expected, 'exact');
        tf.dispose([value, expected, grads]);
      });
      frozen.dispose();
      trainable.dispose();
    });
  },
);
