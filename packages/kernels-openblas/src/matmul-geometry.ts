import { ShapeError } from '@guilomo/core';

/**
 * Sizes and memory layout of one batched matrix product `op(a) · op(b)`, where op transposes
 * the last two dimensions when the matching flag is set. Leading (batch) dimensions broadcast
 * as in NumPy.
 */
export interface MatMulGeometry {
  /** Rows of op(a) and of the output. */
  readonly m: number;
  /** Columns of op(b) and of the output. */
  readonly n: number;
  /** Shared dimension: columns of op(a), rows of op(b). */
  readonly k: number;
  /** Number of output matrices: the product of the broadcast batch dimensions. */
  readonly batch: number;
  /** Output shape: broadcast batch dimensions followed by [m, n]. */
  readonly outShape: number[];
  /**
   * Index of the `a` matrix and of the `b` matrix that each output matrix reads. It is undefined
   * in the common case, where each operand has either `batch` matrices in output order or a
   * single matrix that every output reuses.
   */
  readonly batchIndex?: { readonly a: Int32Array; readonly b: Int32Array };
  /** Matrices stored in `a` (1 when `a` is reused for every output matrix). */
  readonly batchA: number;
  /** Matrices stored in `b`. */
  readonly batchB: number;
}

function product(dims: readonly number[]): number {
  let size = 1;
  for (const dim of dims) {
    size *= dim;
  }
  return size;
}

function broadcastShapes(
  a: readonly number[],
  b: readonly number[],
  describe: () => string,
): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const dimA = a[a.length - rank + i] ?? 1;
    const dimB = b[b.length - rank + i] ?? 1;
    if (dimA !== dimB && dimA !== 1 && dimB !== 1) {
      throw new ShapeError(`matMul: batch dimensions do not broadcast: ${describe()}.`);
    }
    out.push(dimA === 1 ? dimB : dimA);
  }
  return out;
}

/** Maps each output batch entry to the entry of an operand with batch shape `dims`. */
function batchIndexTable(dims: readonly number[], outDims: readonly number[]): Int32Array {
  const total = product(outDims);
  const table = new Int32Array(total);
  const offset = outDims.length - dims.length;
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    let index = 0;
    let stride = 1;
    for (let axis = outDims.length - 1; axis >= 0; axis--) {
      const outDim = outDims[axis] as number;
      const coordinate = rest % outDim;
      rest = (rest - coordinate) / outDim;
      const operandAxis = axis - offset;
      if (operandAxis >= 0) {
        const dim = dims[operandAxis] as number;
        index += (dim === 1 ? 0 : coordinate) * stride;
        stride *= dim;
      }
    }
    table[flat] = index;
  }
  return table;
}

/**
 * Computes the geometry of `matMul(a, b, transposeA, transposeB)` for operand shapes of rank 2
 * or more. Throws a ShapeError when the inner dimensions differ or the batch dimensions do not
 * broadcast.
 */
export function computeMatMulGeometry(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): MatMulGeometry {
  const describe = () =>
    `a [${aShape.join(', ')}], b [${bShape.join(', ')}], transposeA ${transposeA}, transposeB ${transposeB}`;
  if (aShape.length < 2 || bShape.length < 2) {
    throw new ShapeError(`matMul: both operands need rank 2 or more, got ${describe()}.`);
  }
  const aRows = aShape[aShape.length - 2] as number;
  const aCols = aShape[aShape.length - 1] as number;
  const bRows = bShape[bShape.length - 2] as number;
  const bCols = bShape[bShape.length - 1] as number;
  const m = transposeA ? aCols : aRows;
  const k = transposeA ? aRows : aCols;
  const kB = transposeB ? bCols : bRows;
  const n = transposeB ? bRows : bCols;

  if (k !== kB) {
    throw new ShapeError(`matMul: inner dimensions differ (${k} vs ${kB}) for ${describe()}.`);
  }

  const batchDimsA = aShape.slice(0, -2);
  const batchDimsB = bShape.slice(0, -2);
  const outBatchDims = broadcastShapes(batchDimsA, batchDimsB, describe);
  const batch = product(outBatchDims);
  const batchA = product(batchDimsA);
  const batchB = product(batchDimsB);

  const uniform = (batchA === batch || batchA === 1) && (batchB === batch || batchB === 1);
  const geometry = { m, n, k, batch, batchA, batchB, outShape: [...outBatchDims, m, n] };
  if (uniform) {
    return geometry;
  }
  return {
    ...geometry,
    batchIndex: {
      a: batchIndexTable(batchDimsA, outBatchDims),
      b: batchIndexTable(batchDimsB, outBatchDims),
    },
  };
}
