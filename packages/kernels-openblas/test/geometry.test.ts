import { ShapeError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import { computeMatMulGeometry } from '../src/matmul-geometry.js';
import { adjacentSwap } from '../src/transpose-kernel.js';

describe('computeMatMulGeometry', () => {
  it.each([
    // aShape, bShape, transposeA, transposeB, m, n, k, outShape
    [[5, 7], [7, 3], false, false, 5, 3, 7, [5, 3]],
    [[7, 5], [7, 3], true, false, 5, 3, 7, [5, 3]],
    [[5, 7], [3, 7], false, true, 5, 3, 7, [5, 3]],
    [[7, 5], [3, 7], true, true, 5, 3, 7, [5, 3]],
    [[4, 5, 7], [4, 7, 3], false, false, 5, 3, 7, [4, 5, 3]],
    [[1, 5, 7], [4, 7, 3], false, false, 5, 3, 7, [4, 5, 3]],
    [[4, 5, 7], [7, 3], false, false, 5, 3, 7, [4, 5, 3]],
    [[2, 3, 5, 7], [3, 7, 2], false, false, 5, 2, 7, [2, 3, 5, 2]],
  ] as const)(
    'sizes a %j b %j transposeA %s transposeB %s',
    (aShape, bShape, ta, tb, m, n, k, out) => {
      const geometry = computeMatMulGeometry(aShape, bShape, ta, tb);
      expect(geometry.m).toBe(m);
      expect(geometry.n).toBe(n);
      expect(geometry.k).toBe(k);
      expect(geometry.outShape).toEqual(out);
    },
  );

  it('uses strides when one side has a single matrix', () => {
    const geometry = computeMatMulGeometry([1, 5, 7], [4, 7, 3], false, false);
    expect(geometry.batch).toBe(4);
    expect(geometry.batchA).toBe(1);
    expect(geometry.batchB).toBe(4);
    expect(geometry.batchIndex).toBeUndefined();
  });

  it('tabulates a batch repeated over a leading dimension', () => {
    // b's batch [3] repeats along out's first dimension, which one stride cannot express.
    const geometry = computeMatMulGeometry([2, 3, 5, 7], [3, 7, 2], false, false);
    expect(geometry.batch).toBe(6);
    expect(Array.from(geometry.batchIndex?.a ?? [])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(geometry.batchIndex?.b ?? [])).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('tabulates a two-sided broadcast', () => {
    const geometry = computeMatMulGeometry([2, 1, 5, 7], [1, 3, 7, 4], false, false);
    expect(geometry.outShape).toEqual([2, 3, 5, 4]);
    expect(Array.from(geometry.batchIndex?.a ?? [])).toEqual([0, 0, 0, 1, 1, 1]);
    expect(Array.from(geometry.batchIndex?.b ?? [])).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it.each([
    [[5, 7], [6, 3], false, false, 'inner dimensions differ (7 vs 6)'],
    [[7], [7, 3], false, false, 'rank 2 or more'],
    [[2, 5, 7], [3, 7, 3], false, false, 'do not broadcast'],
  ] as const)('rejects a %j b %j', (aShape, bShape, ta, tb, message) => {
    expect(() => computeMatMulGeometry(aShape, bShape, ta, tb)).toThrow(ShapeError);
    expect(() => computeMatMulGeometry(aShape, bShape, ta, tb)).toThrow(message);
  });
});

describe('adjacentSwap', () => {
  it.each([
    // shape, perm, [outer, rows, cols, inner]
    [
      [5, 7],
      [1, 0],
      [1, 5, 7, 1],
    ],
    [
      [3, 5, 7],
      [0, 2, 1],
      [3, 5, 7, 1],
    ],
    [
      [2, 4, 3, 5],
      [0, 2, 1, 3],
      [2, 4, 3, 5],
    ],
    [
      [2, 4, 3, 5],
      [1, 0, 2, 3],
      [1, 2, 4, 15],
    ],
  ] as const)('splits %j by %j', (shape, perm, sizes) => {
    const swap = adjacentSwap(shape, perm);
    expect([swap?.outer, swap?.rows, swap?.cols, swap?.inner]).toEqual(sizes);
    expect(swap?.outShape).toEqual(perm.map((axis) => shape[axis]));
  });

  it.each([
    [
      [4, 3, 5],
      [2, 0, 1],
    ],
    [
      [4, 3, 5],
      [0, 1, 2],
    ],
    [
      [4, 3, 5, 2],
      [1, 0, 3, 2],
    ],
    [
      [4, 3],
      [1, 0, 2],
    ],
  ] as const)('rejects %j by %j', (shape, perm) => {
    expect(adjacentSwap(shape, perm)).toBeUndefined();
  });
});
