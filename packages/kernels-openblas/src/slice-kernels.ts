import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { backend_util, slice_util, util } from '@tensorflow/tfjs-core';
import type { OpenBlasAddon } from './addon.js';
import type { BackendMemory, SupportedBackend } from './backend-access.js';
import type { KernelArgs } from './batch-matmul-kernel.js';
import { memoryCache } from './batch-matmul-kernel.js';

/**
 * Copies the box `begin .. begin + size` of the float32 tensor `x` into a new tensor, one
 * contiguous run of elements at a time, or returns undefined when `x` is not reachable in place
 * or the box is empty. Trailing axes that the box covers entirely are merged into each run.
 */
export function copySlice(
  memory: BackendMemory,
  x: TensorInfo,
  begin: readonly number[],
  size: readonly number[],
): TensorInfo | undefined {
  const rank = x.shape.length;
  const total = size.reduce((product, dim) => product * dim, 1);
  if (total === 0 || rank === 0) {
    return undefined;
  }
  // The run is the innermost axes that the box spans completely, plus the next axis's extent.
  let run = 1;
  let axis = rank - 1;
  while (axis > 0 && begin[axis] === 0 && size[axis] === x.shape[axis]) {
    run *= size[axis] as number;
    axis -= 1;
  }
  run *= size[axis] as number;

  const strides = util.computeStrides(x.shape);
  const outerAxes = axis;
  const out = memory.allocate([...size]);
  // Read after the allocation, which may grow the wasm heap and detach older views.
  const input = memory.read(x);
  const output = memory.read(out.info);
  if (input === undefined || output === undefined) {
    memory.dispose(out.info);
    return undefined;
  }

  const runs = total / run;
  const index = new Array<number>(outerAxes).fill(0);
  let target = output.offset;
  for (let r = 0; r < runs; r++) {
    let source = input.offset + (begin[outerAxes] as number) * (strides[outerAxes] ?? 1);
    for (let d = 0; d < outerAxes; d++) {
      source += ((begin[d] as number) + (index[d] as number)) * (strides[d] as number);
    }
    if (output.array.buffer === input.array.buffer) {
      // wasm: both views cover the whole heap.
      output.array.copyWithin(target, source, source + run);
    } else {
      output.array.set(input.array.subarray(source, source + run), target);
    }
    target += run;
    // Advance the index of the outer axes, last axis fastest.
    for (let d = outerAxes - 1; d >= 0; d--) {
      index[d] = (index[d] as number) + 1;
      if ((index[d] as number) < (size[d] as number)) {
        break;
      }
      index[d] = 0;
    }
  }
  return out.info;
}

/**
 * Creates a Slice kernel that copies float32 boxes straight between tensor buffers. The stock
 * wasm Slice first copies the whole input out of the heap (`readSync`) for every call, so each
 * part of a split cost a copy of the whole tensor. Other dtypes use `stock`.
 */
export function createSliceKernel(
  _addon: OpenBlasAddon,
  backendName: SupportedBackend,
  stock: KernelFunc,
): KernelFunc {
  const memoryOf = memoryCache(backendName);
  return (args: KernelArgs) => {
    const x: TensorInfo | undefined = args.inputs.x;
    const memory = memoryOf(args.backend);
    if (x === undefined || x.dtype !== 'float32' || memory === undefined) {
      return stock(args);
    }
    const [begin, size] = slice_util.parseSliceParams(
      x,
      args.attrs?.begin as number | number[],
      args.attrs?.size as number | number[],
    );
    return copySlice(memory, x, begin, size) ?? stock(args);
  };
}

/**
 * Creates a SplitV kernel (the gradient of concat, among others) that copies each float32
 * part with {@link copySlice} instead of the stock per-part Slice. Other dtypes use `stock`.
 */
export function createSplitVKernel(
  _addon: OpenBlasAddon,
  backendName: SupportedBackend,
  stock: KernelFunc,
): KernelFunc {
  const memoryOf = memoryCache(backendName);
  return (args: KernelArgs) => {
    const x: TensorInfo | undefined = args.inputs.x;
    const memory = memoryOf(args.backend);
    if (x === undefined || x.dtype !== 'float32' || memory === undefined) {
      return stock(args);
    }
    const axis = util.parseAxisParam(args.attrs?.axis as number, x.shape)[0] as number;
    const sizes = backend_util.prepareSplitSize(
      x,
      args.attrs?.numOrSizeSplits as number | number[],
      axis,
    );
    if (sizes.some((part) => part === 0)) {
      return stock(args);
    }
    const begin = new Array<number>(x.shape.length).fill(0);
    const parts: TensorInfo[] = [];
    for (const part of sizes) {
      const size = [...x.shape];
      size[axis] = part;
      const copied = copySlice(memory, x, begin, size);
      if (copied === undefined) {
        for (const done of parts) {
          memory.dispose(done);
        }
        return stock(args);
      }
      parts.push(copied);
      begin[axis] = (begin[axis] as number) + part;
    }
    return parts;
  };
}
