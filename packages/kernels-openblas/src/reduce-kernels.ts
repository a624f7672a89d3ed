import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { OpenBlasAddon } from './addon.js';
import type { SupportedBackend } from './backend-access.js';
import type { KernelArgs } from './batch-matmul-kernel.js';
import { memoryCache } from './batch-matmul-kernel.js';
import { transposeAdjacentSwap } from './transpose-kernel.js';

/**
 * Creates a reduction kernel (Sum or Mean, whose attributes are `axis` and `keepDims`) that
 * moves the reduced axes last with the addon's transpose before it calls `stock`. The stock wasm
 * reductions run their own scalar transpose first when the axes are not innermost, such as the
 * axis-0 sum of a `[2048, 64]` gradient, which took longer than the matMul that produced it.
 * `stock` then reduces the innermost axes exactly as it would after its own transpose, so the
 * result is the same bit for bit. Other cases, including permutations that are not a swap of
 * two adjacent axes, call `stock` unchanged.
 */
export function createReduceKernel(
  addon: OpenBlasAddon,
  backendName: SupportedBackend,
  stock: KernelFunc,
): KernelFunc {
  const memoryOf = memoryCache(backendName);
  return (args: KernelArgs) => {
    const x: TensorInfo | undefined = args.inputs.x;
    const memory = memoryOf(args.backend);
    const axis = args.attrs?.axis as number | number[] | undefined;
    if (x === undefined || x.dtype !== 'float32' || axis === undefined || memory === undefined) {
      return stock(args);
    }
    const rank = x.shape.length;
    const axes = util.parseAxisParam(axis, x.shape);
    const perm = backend_util.getAxesPermutation(axes, rank);
    if (perm === null) {
      return stock(args);
    }
    const transposed = transposeAdjacentSwap(addon, memory, x, perm);
    if (transposed === undefined) {
      return stock(args);
    }
    try {
      const innerAxes = backend_util.getInnerMostAxes(axes.length, rank);
      const out = stock({
        ...args,
        inputs: { x: transposed },
        attrs: { ...args.attrs, axis: innerAxes, keepDims: false },
      }) as TensorInfo;
      if (args.attrs?.keepDims === true) {
        return { ...out, shape: backend_util.expandShapeToKeepDim(out.shape, axes) };
      }
      return out;
    } finally {
      memory.dispose(transposed);
    }
  };
}
