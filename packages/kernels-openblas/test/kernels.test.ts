import { ShapeError } from '@guilomo/core';
import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOpenBlasAddon } from '../src/addon.js';
import { registerOpenBlasKernels, unregisterOpenBlasKernels } from '../src/index.js';

const addon = loadOpenBlasAddon();
// CI installs libopenblas-dev, so these tests run there. Elsewhere they skip, and the suite name
// gives the reason.
const suiteName = addon.available
  ? 'OpenBLAS matMul kernels'
  : `OpenBLAS matMul kernels (skipped: ${addon.reason})`;

/** Deterministic inputs with values in [-1, 1), so that sums stay near 1 in magnitude. */
function filled(shape: number[], seed: number): tf.Tensor {
  const size = shape.reduce((total, dim) => total * dim, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    values[i] = Math.sin(seed * 12.9898 + i * 78.233) * 0.999;
  }
  return tf.tensor(values, shape);
}

/** Runs `compute` with the stock kernels, then with OpenBLAS, and returns both outputs. */
function stockThenOpenBlas(compute: () => tf.Tensor): {
  stock: Float32Array;
  openblas: Float32Array;
  shape: number[];
} {
  unregisterOpenBlasKernels();
  const stockTensor = compute();
  const stock = stockTensor.dataSync() as Float32Array;
  stockTensor.dispose();
  const { registered } = registerOpenBlasKernels();
  expect(registered.length).toBeGreaterThan(0);
  const tensor = compute();
  const openblas = tensor.dataSync() as Float32Array;
  const shape = tensor.shape;
  tensor.dispose();
  return { stock, openblas, shape };
}

// aShape, bShape, transposeA, transposeB
const MATMUL_CASES = [
  [[5, 7], [7, 3], false, false],
  [[7, 5], [7, 3], true, false],
  [[5, 7], [3, 7], false, true],
  [[7, 5], [3, 7], true, true],
  [[33, 65], [65, 17], false, false],
  [[65, 33], [17, 65], true, true],
  [[4, 5, 7], [4, 7, 3], false, false],
  [[4, 7, 5], [4, 7, 3], true, false],
  [[4, 5, 7], [4, 3, 7], false, true],
  [[1, 5, 7], [3, 7, 4], false, false],
  [[3, 5, 7], [1, 4, 7], false, true],
  [[3, 5, 7], [7, 4], false, false],
  [[2, 3, 5, 7], [2, 3, 7, 4], false, false],
  [[2, 3, 7, 5], [3, 4, 7], true, true],
  [[1, 1], [1, 1], false, false],
] as const;

describe.skipIf(!addon.available).each(TEST_BACKENDS)(`${suiteName} on %s`, (backend) => {
  beforeEach(async () => {
    await useBackend(backend);
    unregisterOpenBlasKernels();
  });
  afterEach(() => {
    unregisterOpenBlasKernels();
  });

  it.each(MATMUL_CASES)(
    'BatchMatMul a %j b %j transposeA %s transposeB %s',
    async (aShape, bShape, ta, tb) => {
      await expectNoLeaks(() => {
        const a = filled([...aShape], 1);
        const b = filled([...bShape], 2);
        const { stock, openblas } = stockThenOpenBlas(() => tf.matMul(a, b, ta, tb));
        expectClose(openblas, stock, 'crossBackend');
        a.dispose();
        b.dispose();
      });
    },
  );

  it.each([
    [
      [5, 7],
      [1, 0],
    ],
    [
      [33, 65],
      [1, 0],
    ],
    [
      [3, 5, 7],
      [0, 2, 1],
    ],
    [
      [2, 4, 3, 5],
      [0, 2, 1, 3],
    ],
    [
      [2, 4, 3, 5],
      [1, 0, 2, 3],
    ],
    [
      [2, 4, 3, 5],
      [0, 1, 3, 2],
    ],
    [
      [4, 3, 5],
      [2, 0, 1],
    ],
    [
      [4, 3, 5],
      [0, 1, 2],
    ],
  ] as const)('Transpose %j by %j', async (shape, perm) => {
    await expectNoLeaks(() => {
      const x = filled([...shape], 20);
      const {
        stock,
        openblas,
        shape: outShape,
      } = stockThenOpenBlas(() => tf.transpose(x, [...perm]));
      expect(outShape).toEqual(perm.map((axis) => shape[axis]));
      expect(Array.from(openblas)).toEqual(Array.from(stock));
      x.dispose();
    });
  });

  it('broadcasts batch dimensions on both sides', async () => {
    await expectNoLeaks(() => {
      const a = filled([2, 1, 5, 7], 3);
      const b = filled([1, 3, 7, 4], 4);
      // Reference: tile both operands to the full batch, which the stock kernel handles.
      unregisterOpenBlasKernels();
      const expected = tf.tidy(() => tf.matMul(tf.tile(a, [1, 3, 1, 1]), tf.tile(b, [2, 1, 1, 1])));
      registerOpenBlasKernels();
      const actual = tf.matMul(a, b);
      expect(actual.shape).toEqual([2, 3, 5, 4]);
      expectClose(actual, expected, 'crossBackend');
      tf.dispose([a, b, expected, actual]);
    });
  });

  // The reference applies bias and activation as separate ops. The stock wasm _FusedMatMul of
  // tfjs-backend-wasm 4.22.0 adds the bias wrongly when the batch is larger than 1, so it cannot
  // serve as the reference here.
  it.each([
    // activation, transposeA, transposeB
    ['linear', false, false],
    ['relu', false, true],
    ['relu6', true, false],
    ['elu', true, true],
    ['sigmoid', false, false],
    ['leakyrelu', false, true],
    ['prelu', false, false],
  ] as const)(
    '_FusedMatMul with bias and %s, transposeA %s transposeB %s',
    async (activation, ta, tb) => {
      await expectNoLeaks(() => {
        const a = filled(ta ? [3, 9, 6] : [3, 6, 9], 5);
        const b = filled(tb ? [3, 4, 9] : [3, 9, 4], 6);
        const bias = filled([4], 7);
        const alpha = filled([4], 8);
        const unfused = () =>
          tf.tidy(() => {
            const x = tf.add(tf.matMul(a, b, ta, tb), bias);
            switch (activation) {
              case 'linear':
                return x;
              case 'relu':
                return tf.relu(x);
              case 'relu6':
                return tf.relu6(x);
              case 'elu':
                return tf.elu(x);
              case 'sigmoid':
                return tf.sigmoid(x);
              case 'leakyrelu':
                return tf.leakyRelu(x, 0.1);
              case 'prelu':
                return tf.prelu(x, alpha);
            }
          });
        unregisterOpenBlasKernels();
        const expected = unfused();
        registerOpenBlasKernels();
        const actual = tf.fused.matMul({
          a,
          b,
          transposeA: ta,
          transposeB: tb,
          bias,
          activation,
          ...(activation === 'prelu' ? { preluActivationWeights: alpha } : {}),
          leakyreluAlpha: 0.1,
        });
        expectClose(actual, expected, 'crossBackend');
        tf.dispose([a, b, bias, alpha, expected, actual]);
      });
    },
  );

  it('_FusedMatMul without bias', async () => {
    await expectNoLeaks(() => {
      const a = filled([2, 6, 9], 9);
      const b = filled([2, 9, 4], 10);
      const { stock, openblas } = stockThenOpenBlas(() =>
        tf.fused.matMul({ a, b, activation: 'relu' }),
      );
      expectClose(openblas, stock, 'crossBackend');
      tf.dispose([a, b]);
    });
  });

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const)('gradients agree, transposeA %s transposeB %s', async (ta, tb) => {
    await expectNoLeaks(() => {
      const a = filled(ta ? [2, 7, 5] : [2, 5, 7], 11);
      const b = filled(tb ? [2, 3, 7] : [2, 7, 3], 12);
      const weights = filled([2, 5, 3], 13);
      const gradients = () =>
        tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), weights)))([
          a,
          b,
        ]);
      unregisterOpenBlasKernels();
      const stock = gradients();
      registerOpenBlasKernels();
      const openblas = gradients();
      expectClose(openblas[0] as tf.Tensor, stock[0] as tf.Tensor, 'crossBackend');
      expectClose(openblas[1] as tf.Tensor, stock[1] as tf.Tensor, 'crossBackend');
      tf.dispose([a, b, weights, ...stock, ...openblas]);
    });
  });

  it('gives a variable gradient through fused matMul', async () => {
    await expectNoLeaks(() => {
      const x = filled([6, 9], 14);
      const initial = filled([9, 4], 15);
      const w = tf.variable(initial);
      initial.dispose();
      const bias = filled([4], 16);
      const loss = () =>
        tf.sum(tf.fused.matMul({ a: x, b: w, bias, activation: 'relu' })) as tf.Scalar;
      unregisterOpenBlasKernels();
      const stock = tf.variableGrads(loss);
      registerOpenBlasKernels();
      const openblas = tf.variableGrads(loss);
      expectClose(openblas.value, stock.value, 'crossBackend');
      expectClose(
        openblas.grads[w.name] as tf.Tensor,
        stock.grads[w.name] as tf.Tensor,
        'crossBackend',
      );
      tf.dispose([x, w, bias, stock.value, openblas.value]);
      tf.dispose(Object.values(stock.grads));
      tf.dispose(Object.values(openblas.grads));
    });
  });

  it('throws ShapeError for mismatched inner dimensions', async () => {
    await expectNoLeaks(() => {
      registerOpenBlasKernels();
      const a = filled([5, 7], 17);
      const b = filled([6, 3], 18);
      expect(() => tf.matMul(a, b)).toThrow(ShapeError);
      expect(() => tf.matMul(a, b)).toThrow('inner dimensions differ (7 vs 6)');
      tf.dispose([a, b]);
    });
  });

  it('falls back to stock for empty dimensions', async () => {
    await expectNoLeaks(() => {
      registerOpenBlasKernels();
      const a = tf.zeros([0, 4]);
      const b = filled([4, 3], 19);
      const product = tf.matMul(a, b);
      expect(product.shape).toEqual([0, 3]);
      tf.dispose([a, b, product]);
    });
  });
});

describe.skipIf(!addon.available)(`${suiteName}: int32 on cpu`, () => {
  afterEach(() => {
    unregisterOpenBlasKernels();
  });

  it('falls back to the stock kernel for int32', async () => {
    await useBackend('cpu');
    await expectNoLeaks(() => {
      const a = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
      const b = tf.tensor2d([5, 6, 7, 8], [2, 2], 'int32');
      registerOpenBlasKernels();
      const product = tf.matMul(a, b);
      expect(product.dtype).toBe('int32');
      expect(Array.from(product.dataSync())).toEqual([19, 22, 43, 50]);
      tf.dispose([a, b, product]);
    });
  });
});
