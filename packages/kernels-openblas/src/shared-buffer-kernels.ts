import type { DataId, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { OpenBlasAddon } from './addon.js';
import type { SupportedBackend } from './backend-access.js';
import type { KernelArgs } from './batch-matmul-kernel.js';

interface RefCountedBackend {
  incRef(dataId: DataId): void;
}

function isRefCounted(backend: unknown): backend is RefCountedBackend {
  return (
    typeof backend === 'object' &&
    backend !== null &&
    typeof (backend as Record<string, unknown>).incRef === 'function'
  );
}

/**
 * Returns a tensor that shares `x`'s buffer, with one more reference on it, as the cpu backend's
 * Identity does. TF.js tensors are immutable, so kernels write only into the outputs they
 * allocate, and `Variable.assign` switches the variable to the new value's buffer. A shared
 * buffer therefore reads the same as a copy.
 */
function shareBuffer(backend: RefCountedBackend, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * Creates an Identity kernel that shares the input's buffer where the stock wasm kernel copies
 * it. Identity runs for `tf.clone` and for every tensor that the gradient tape saves for the
 * backward pass, so the copies cost a training step both time and peak memory. String tensors
 * and backends without reference counts use `stock`.
 */
export function createIdentityKernel(
  _addon: OpenBlasAddon,
  _backendName: SupportedBackend,
  stock: KernelFunc,
): KernelFunc {
  return (args: KernelArgs) => {
    const x: TensorInfo | undefined = args.inputs.x;
    if (x === undefined || x.dtype === 'string' || !isRefCounted(args.backend)) {
      return stock(args);
    }
    return shareBuffer(args.backend, x);
  };
}

/**
 * Creates a Cast kernel that shares the input's buffer when the dtype does not change, where the
 * stock wasm kernel copies it. TF.js's Multiply and RealDiv gradients cast both inputs to
 * float32, so each of their backward passes made two full copies. Casts that change the dtype
 * use `stock`.
 */
export function createCastKernel(
  _addon: OpenBlasAddon,
  _backendName: SupportedBackend,
  stock: KernelFunc,
): KernelFunc {
  return (args: KernelArgs) => {
    const x: TensorInfo | undefined = args.inputs.x;
    const dtype = args.attrs?.dtype;
    if (
      x === undefined ||
      x.dtype === 'string' ||
      x.dtype !== dtype ||
      !isRefCounted(args.backend)
    ) {
      return stock(args);
    }
    return shareBuffer(args.backend, x);
  };
}
