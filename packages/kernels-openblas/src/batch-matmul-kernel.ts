import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { OpenBlasAddon } from './addon.js';
import type { BackendMemory, SupportedBackend } from './backend-access.js';
import { backendMemory } from './backend-access.js';
import { computeMatMulGeometry } from './matmul-geometry.js';

/** Arguments that TF.js passes to a kernel function. */
export type KernelArgs = Parameters<KernelFunc>[0];

/**
 * Computes `op(a) · op(b)` with OpenBLAS into a new float32 tensor of the backend, or returns
 * undefined when the inputs need the stock kernel: a dtype other than float32, an empty
 * dimension, or memory that is not reachable in place. Throws a ShapeError for incompatible
 * shapes.
 */
export function openBlasMatMul(
  addon: OpenBlasAddon,
  memory: BackendMemory,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): TensorInfo | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    return undefined;
  }
  const geometry = computeMatMulGeometry(a.shape, b.shape, transposeA, transposeB);
  const { m, n, k, batch } = geometry;

  if (m === 0 || n === 0 || k === 0 || batch === 0) {
    return undefined;
  }

  // Allocate first: on wasm the allocation may grow the heap and detach older views.
  const out = memory.allocate(geometry.outShape);
  const regionA = memory.read(a);
  const regionB = memory.read(b);
  if (regionA === undefined || regionB === undefined) {
    memory.dispose(out.info);
    return undefined;
  }

  const sizeA = m * k;
  const sizeB = k * n;
  const sizeC = m * n;
  try {
    if (geometry.batchIndex === undefined) {
      addon.sgemmBatch(
        transposeA,
        transposeB,
        m,
        n,
        k,
        regionA.array,
        regionA.offset,
        geometry.batchA === 1 ? 0 : sizeA,
        regionB.array,
        regionB.offset,
        geometry.batchB === 1 ? 0 : sizeB,
        out.array,
        out.offset,
        sizeC,
        batch,
      );
    } else {
      const { a: indexA, b: indexB } = geometry.batchIndex;
      for (let i = 0; i < batch; i++) {
        addon.sgemmBatch(
          transposeA,
          transposeB,
          m,
          n,
          k,
          regionA.array,
          regionA.offset + (indexA[i] as number) * sizeA,
          0,
          regionB.array,
          regionB.offset + (indexB[i] as number) * sizeB,
          0,
          out.array,
          out.offset + i * sizeC,
          0,
          1,
        );
      }
    }
  } catch (error) {
    memory.dispose(out.info);
    throw error;
  }
  return out.info;
}

/** Reads a boolean kernel attribute, which TF.js omits or passes as a boolean. */
export function booleanAttr(attrs: NamedAttrMap | undefined, name: string): boolean {
  return attrs?.[name] === true;
}

/**
 * Returns a function that gives the in-place memory access of a backend instance, created once
 * per instance. It returns undefined for an instance without the expected fields.
 */
export function memoryCache(
  backendName: SupportedBackend,
): (backend: unknown) => BackendMemory | undefined {
  const cache = new WeakMap<object, BackendMemory | null>();
  return (backend) => {
    if (typeof backend !== 'object' || backend === null) {
      return undefined;
    }
    let memory = cache.get(backend);
    if (memory === undefined) {
      memory = backendMemory(backendName, backend) ?? null;
      cache.set(backend, memory);
    }
    return memory ?? undefined;
  };
}

/**
 * Creates a BatchMatMul kernel function that runs OpenBLAS sgemm and falls back to `stock` for
 * the inputs it does not handle.
 */
export function createBatchMatMulKernel(
  addon: OpenBlasAddon,
  backendName: SupportedBackend,
  stock: KernelFunc,
): KernelFunc {
  const memoryOf = memoryCache(backendName);
  return (args: KernelArgs) => {
    const { a, b } = args.inputs;
    const memory = memoryOf(args.backend);
    if (a === undefined || b === undefined || memory === undefined) {
      return stock(args);
    }
    const transposeA = booleanAttr(args.attrs, 'transposeA');
    const transposeB = booleanAttr(args.attrs, 'transposeB');
    return openBlasMatMul(addon, memory, a, b, transposeA, transposeB) ?? stock(args);
  };
}
