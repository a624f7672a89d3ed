import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { OpenBlasAddon } from './addon.js';
import type { BackendMemory, SupportedBackend } from './backend-access.js';
import type { KernelArgs } from './batch-matmul-kernel.js';
import { memoryCache } from './batch-matmul-kernel.js';

/** Sizes of a transpose that swaps two adjacent axes, seen as [outer, rows, cols, inner]. */
interface AdjacentSwap {
  readonly outer: number;
  readonly rows: number;
  readonly cols: number;
  readonly inner: number;
  readonly outShape: number[];
}

function product(dims: readonly number[]): number {
  return dims.reduce((total, dim) => total * dim, 1);
}

/**
 * Returns the sizes when `perm` is the identity except for two adjacent axes swapped (as in
 * [1, 0], [0, 2, 1] or [0, 2, 1, 3]), otherwise undefined.
 */
export function adjacentSwap(
  shape: readonly number[],
  perm: readonly number[],
): AdjacentSwap | undefined {
  if (perm.length !== shape.length) {
    return undefined;
  }
  const swapped = perm.findIndex((axis, index) => axis !== index);
  if (swapped < 0 || perm[swapped] !== swapped + 1 || perm[swapped + 1] !== swapped) {
    return undefined;
  }
  if (!perm.every((axis, index) => index === swapped || index === swapped + 1 || axis === index)) {
    return undefined;
  }
  return {
    outer: product(shape.slice(0, swapped)),
    rows: shape[swapped] as number,
    cols: shape[swapped + 1] as number,
    inner: product(shape.slice(swapped + 2)),
    outShape: perm.map((axis) => shape[axis] as number),
  };
}

/**
 * Transposes the float32 tensor `x` by `perm` with the addon's tiled copy into a new tensor, or
 * returns undefined when `perm` does not swap two adjacent axes, a dimension is empty, or `x` is
 * not reachable in place.
 */
export function transposeAdjacentSwap(
  addon: OpenBlasAddon,
  memory: BackendMemory,
  x: TensorInfo,
  perm: readonly number[],
): TensorInfo | undefined {
  const swap = adjacentSwap(x.shape, perm);
  if (swap === undefined || swap.outer * swap.rows * swap.cols * swap.inner === 0) {
    return undefined;
  }
  // Allocate first: on wasm the allocation may grow the heap and detach older views.
  const out = memory.allocate(swap.outShape);
  const input = memory.read(x);
  if (input === undefined) {
    memory.dispose(out.info);
    return undefined;
  }
  try {
    addon.transposeBlocks(
      swap.outer,
      swap.rows,
      swap.cols,
      swap.inner,
      input.array,
      input.offset,
      out.array,
      out.offset,
    );
  } catch (error) {
    memory.dispose(out.info);
    throw error;
  }
  return out.info;
}

/**
 * Creates a Transpose kernel function that copies with a tiled loop in the addon when the
 * permutation swaps two adjacent axes of a float32 tensor, and calls `stock` otherwise. The stock
 * 2-D transpose of tfjs-backend-wasm 4.22 moves about 0.2-0.5 GB/s, which makes it the largest
 * kernel of a training step once matMul runs on OpenBLAS.
 */
export function createTransposeKernel(
  addon: OpenBlasAddon,
  backendName: SupportedBackend,
  stock: KernelFunc,
): KernelFunc {
  const memoryOf = memoryCache(backendName);
  return (args: KernelArgs) => {
    const x: TensorInfo | undefined = args.inputs.x;
    const perm = args.attrs?.perm;
    const memory = memoryOf(args.backend);
    if (x === undefined || x.dtype !== 'float32' || !Array.isArray(perm) || memory === undefined) {
      return stock(args);
    }
    return transposeAdjacentSwap(addon, memory, x, perm as number[]) ?? stock(args);
  };
}
