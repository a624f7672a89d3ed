import { expectNoLeaks, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOpenBlasAddon } from '../src/addon.js';
import { registerOpenBlasKernels, unregisterOpenBlasKernels } from '../src/index.js';

const addon = loadOpenBlasAddon();
const suiteName = addon.available
  ? 'Sum and Mean on wasm'
  : `Sum and Mean on wasm (skipped: ${addon.reason})`;

/** Deterministic values of mixed magnitude, so that the summation order shows in the result. */
function filled(shape: number[]): tf.Tensor {
  const size = shape.reduce((total, dim) => total * dim, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    values[i] = Math.sin(i * 0.731) * 10 ** ((i % 7) - 3);
  }
  return tf.tensor(values, shape);
}

// shape, axis, keepDims
const CASES: [number[], number | number[], boolean][] = [
  [[37, 5], 0, false],
  [[37, 5], 0, true],
  [[37, 5], 1, false],
  [[4, 9, 6], 1, false],
  [[4, 9, 6], 1, true],
  [[4, 9, 6], 0, false],
  [[4, 9, 6], [0, 1], false],
  [[2, 3, 4, 5], 2, true],
  [[300, 64], 0, false],
];

function reduceBoth(
  op: 'sum' | 'mean',
  shape: number[],
  axis: number | number[],
  keepDims: boolean,
) {
  const x = filled(shape);
  const run = () => {
    const out = op === 'sum' ? tf.sum(x, axis, keepDims) : tf.mean(x, axis, keepDims);
    const result = { shape: out.shape, values: out.dataSync() as Float32Array };
    out.dispose();
    return result;
  };
  const replaced = run();
  unregisterOpenBlasKernels();
  const stock = run();
  x.dispose();
  return { replaced, stock };
}

describe.skipIf(!addon.available)(suiteName, () => {
  beforeEach(async () => {
    await useBackend('wasm');
    unregisterOpenBlasKernels();
    registerOpenBlasKernels({ backends: ['wasm'] });
  });
  afterEach(() => {
    unregisterOpenBlasKernels();
  });

  describe.each(['sum', 'mean'] as const)('%s', (op) => {
    it.each(CASES)('of %j over axis %j keepDims %s equals stock', async (shape, axis, keepDims) => {
      await expectNoLeaks(() => {
        const { replaced, stock } = reduceBoth(op, shape, axis, keepDims);
        expect(replaced.shape).toEqual(stock.shape);
        expect(replaced.values).toEqual(stock.values);
      });
    });
  });

  it('sums int32 with the stock kernel', async () => {
    await expectNoLeaks(() => {
      const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
      const out = tf.sum(x, 0);
      expect(out.dtype).toBe('int32');
      expect(Array.from(out.dataSync())).toEqual([9, 12]);
      tf.dispose([x, out]);
    });
  });
});
