import { expectNoLeaks, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOpenBlasAddon } from '../src/addon.js';
import { registerOpenBlasKernels, unregisterOpenBlasKernels } from '../src/index.js';

const addon = loadOpenBlasAddon();
const suiteName = addon.available
  ? 'Slice and SplitV on wasm'
  : `Slice and SplitV on wasm (skipped: ${addon.reason})`;

function filled(shape: number[]): tf.Tensor {
  const size = shape.reduce((total, dim) => total * dim, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, (_, i) => i * 0.5 - 3),
    shape,
  );
}

/** Runs `compute` with the replaced kernels and with the stock ones; returns both results. */
function replacedThenStock(compute: () => tf.Tensor[]): {
  replaced: number[][];
  stock: number[][];
  shapes: number[][];
} {
  const read = () => {
    const outputs = compute();
    const values = outputs.map((tensor) => Array.from(tensor.dataSync()));
    const shapes = outputs.map((tensor) => tensor.shape);
    tf.dispose(outputs);
    return { values, shapes };
  };
  const replaced = read();
  unregisterOpenBlasKernels();
  const stock = read();
  expect(replaced.shapes).toEqual(stock.shapes);
  return { replaced: replaced.values, stock: stock.values, shapes: replaced.shapes };
}

// shape, begin, size
const SLICES: [number[], number[], number[]][] = [
  [
    [6, 4],
    [2, 0],
    [3, 4],
  ],
  [
    [6, 4],
    [1, 1],
    [4, 2],
  ],
  [
    [3, 5, 4],
    [0, 1, 0],
    [3, 3, 4],
  ],
  [
    [3, 5, 4],
    [1, 0, 2],
    [2, 5, 2],
  ],
  [
    [2, 3, 4, 5],
    [0, 1, 1, 0],
    [2, 2, 3, 5],
  ],
  [
    [2, 3, 4, 5],
    [1, 2, 3, 4],
    [1, 1, 1, 1],
  ],
  [[7], [2], [4]],
];

// shape, numOrSizeSplits, axis
const SPLITS: [number[], number | number[], number][] = [
  [[14, 3], 7, 0],
  [[14, 3], [5, 9], 0],
  [[4, 6], 3, 1],
  [[2, 6, 5], [1, 2, 3], 1],
  [[1, 8, 2], 4, 1],
];

describe.skipIf(!addon.available)(suiteName, () => {
  beforeEach(async () => {
    await useBackend('wasm');
    unregisterOpenBlasKernels();
    registerOpenBlasKernels({ backends: ['wasm'] });
  });
  afterEach(() => {
    unregisterOpenBlasKernels();
  });

  it.each(SLICES)('slice of %j from %j size %j equals stock', async (shape, begin, size) => {
    await expectNoLeaks(() => {
      const x = filled(shape);
      const { replaced, stock } = replacedThenStock(() => [tf.slice(x, begin, size)]);
      expect(replaced).toEqual(stock);
      x.dispose();
    });
  });

  it.each(SPLITS)('split of %j into %j along %i equals stock', async (shape, splits, axis) => {
    await expectNoLeaks(() => {
      const x = filled(shape);
      const { replaced, stock } = replacedThenStock(() => tf.split(x, splits, axis));
      expect(replaced).toEqual(stock);
      x.dispose();
    });
  });

  it('concat gradient splits the upstream gradient', async () => {
    await expectNoLeaks(() => {
      const parts = [filled([2, 3]), filled([4, 3])];
      const upstream = filled([6, 3]);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.concat([a, b], 0), upstream)),
      )(parts);
      expect(Array.from(grads[0]?.dataSync() ?? [])).toEqual(
        Array.from(upstream.dataSync()).slice(0, 6),
      );
      expect(Array.from(grads[1]?.dataSync() ?? [])).toEqual(
        Array.from(upstream.dataSync()).slice(6),
      );
      tf.dispose([...parts, upstream, ...grads]);
    });
  });

  it('slices int32 with the stock kernel', async () => {
    await expectNoLeaks(() => {
      const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
      const out = tf.slice(x, [1, 0], [2, 2]);
      expect(out.dtype).toBe('int32');
      expect(Array.from(out.dataSync())).toEqual([3, 4, 5, 6]);
      tf.dispose([x, out]);
    });
  });
});
