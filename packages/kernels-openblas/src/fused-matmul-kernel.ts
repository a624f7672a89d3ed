import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { Add, Elu, getKernel, LeakyRelu, Prelu, Relu, Relu6, Sigmoid } from '@tensorflow/tfjs-core';
import type { OpenBlasAddon } from './addon.js';
import type { BackendMemory, SupportedBackend } from './backend-access.js';
import type { KernelArgs } from './batch-matmul-kernel.js';
import { booleanAttr, memoryCache, openBlasMatMul } from './batch-matmul-kernel.js';

// Kernel that applies each activation of tf.fused.matMul, as named by the `activation` attribute.
const ACTIVATION_KERNELS: Readonly<Record<string, string | null>> = {
  linear: null,
  relu: Relu,
  relu6: Relu6,
  elu: Elu,
  sigmoid: Sigmoid,
  leakyrelu: LeakyRelu,
  prelu: Prelu,
};

function kernelOf(name: string, backendName: SupportedBackend): KernelFunc | undefined {
  return getKernel(name, backendName)?.kernelFunc;
}

function asSingle(result: TensorInfo | TensorInfo[]): TensorInfo {
  return Array.isArray(result) ? (result[0] as TensorInfo) : result;
}

/**
 * Applies bias and activation to the product with the backend's own kernels, disposing each
 * intermediate tensor. Returns the final tensor.
 */
function applyEpilogue(
  args: KernelArgs,
  memory: BackendMemory,
  backendName: SupportedBackend,
  product: TensorInfo,
  activationKernel: string | null,
): TensorInfo {
  const { bias, preluActivationWeights } = args.inputs;
  let current = product;
  const step = (kernel: string, inputs: KernelArgs['inputs'], attrs: KernelArgs['attrs']) => {
    const func = kernelOf(kernel, backendName);
    if (func === undefined) {
      throw new Error(`Internal error: kernel ${kernel} disappeared from backend ${backendName}.`);
    }
    let next: TensorInfo;
    try {
      next = asSingle(func({ inputs, backend: args.backend, attrs }));
    } finally {
      // On failure this releases the last intermediate; on success, the one just consumed.
      memory.dispose(current);
    }
    current = next;
  };
  if (bias !== undefined) {
    step(Add, { a: current, b: bias }, {});
  }
  if (activationKernel === LeakyRelu) {
    step(LeakyRelu, { x: current }, { alpha: args.attrs?.leakyreluAlpha ?? 0.2 });
  } else if (activationKernel === Prelu) {
    step(Prelu, { x: current, alpha: preluActivationWeights }, {});
  } else if (activationKernel !== null) {
    step(activationKernel, { x: current }, {});
  }
  return current;
}

/**
 * Creates a _FusedMatMul kernel function (matMul, then optional bias and activation) whose
 * product runs on OpenBLAS. Bias and activation use the backend's Add and activation kernels.
 * Inputs it does not handle go to `stock`.
 */
export function createFusedMatMulKernel(
  addon: OpenBlasAddon,
  backendName: SupportedBackend,
  stock: KernelFunc,
): KernelFunc {
  const memoryOf = memoryCache(backendName);
  return (args: KernelArgs) => {
    const { a, b, bias, preluActivationWeights } = args.inputs;
    const memory = memoryOf(args.backend);
    const activation = String(args.attrs?.activation ?? 'linear');
    const activationKernel = Object.hasOwn(ACTIVATION_KERNELS, activation)
      ? ACTIVATION_KERNELS[activation]
      : undefined;
    const usable =
      a !== undefined &&
      b !== undefined &&
      memory !== undefined &&
      activationKernel !== undefined &&
      (activationKernel !== Prelu || preluActivationWeights !== undefined) &&
      (bias === undefined || kernelOf(Add, backendName) !== undefined) &&
      (activationKernel === null || kernelOf(activationKernel, backendName) !== undefined);
    if (!usable) {
      return stock(args);
    }
    const transposeA = booleanAttr(args.attrs, 'transposeA');
    const transposeB = booleanAttr(args.attrs, 'transposeB');
    const product = openBlasMatMul(addon, memory, a, b, transposeA, transposeB);
    if (product === undefined) {
      return stock(args);
    }
    return applyEpilogue(args, memory, backendName, product, activationKernel);
  };
}
