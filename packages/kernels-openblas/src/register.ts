import type { Logger } from '@guilomo/core';
import { ConfigError, formatValue, setTransposedMatMulFast, silentLogger } from '@guilomo/core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import {
  _FusedMatMul,
  BatchMatMul,
  Cast,
  getKernel,
  Identity,
  Mean,
  registerKernel,
  Slice,
  SplitV,
  Sum,
  Transpose,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import type { OpenBlasAddon } from './addon.js';
import { loadOpenBlasAddon } from './addon.js';
import type { SupportedBackend } from './backend-access.js';
import { SUPPORTED_BACKENDS } from './backend-access.js';
import { createBatchMatMulKernel } from './batch-matmul-kernel.js';
import { createFusedMatMulKernel } from './fused-matmul-kernel.js';
import { createReduceKernel } from './reduce-kernels.js';
import { createCastKernel, createIdentityKernel } from './shared-buffer-kernels.js';
import { createSliceKernel, createSplitVKernel } from './slice-kernels.js';
import { createTransposeKernel } from './transpose-kernel.js';

/** Options of {@link registerOpenBlasKernels}. */
export interface OpenBlasKernelOptions {
  /** Backends whose kernels are replaced. Default `['wasm', 'cpu']`. */
  backends?: readonly SupportedBackend[];
  /**
   * OpenBLAS thread count, a positive integer, applied process-wide. Default: unchanged, which
   * is OpenBLAS's own default (the OPENBLAS_NUM_THREADS variable, else one thread per core).
   */
  threads?: number;
  /** Receives one info line per outcome. Default: records are dropped. */
  logger?: Logger;
}

/** A backend that kept its stock kernels, with the reason. */
export interface SkippedBackend {
  readonly backend: string;
  readonly reason: string;
}

/** Outcome of {@link registerOpenBlasKernels}. */
export interface OpenBlasRegistration {
  /** Kernels now served by the addon, as `backend/KernelName`, e.g. `wasm/BatchMatMul`. */
  readonly registered: string[];
  /** Backends left on their stock kernels: addon missing, or backend package not imported. */
  readonly skipped: SkippedBackend[];
}

type KernelFactory = (
  addon: OpenBlasAddon,
  backend: SupportedBackend,
  stock: KernelFunc,
) => KernelFunc;

/**
 * Kernels that this package replaces, with the backends they apply to. tf.matMul runs
 * BatchMatMul, tf.fused.matMul runs _FusedMatMul, and tf.transpose runs Transpose (a tiled copy
 * in the addon, not a BLAS call). On wasm, Identity and same-dtype Cast share the input's buffer
 * instead of copying it, as the cpu backend's stock kernels already do. Sum and Mean over axes
 * that are not innermost transpose with the addon before the stock reduction. Slice and SplitV
 * copy float32 boxes directly between tensor buffers.
 */
const KERNEL_FACTORIES: ReadonlyArray<
  readonly [string, KernelFactory, readonly SupportedBackend[]]
> = [
  [BatchMatMul, createBatchMatMulKernel, SUPPORTED_BACKENDS],
  [_FusedMatMul, createFusedMatMulKernel, SUPPORTED_BACKENDS],
  [Transpose, createTransposeKernel, SUPPORTED_BACKENDS],
  [Identity, createIdentityKernel, ['wasm']],
  [Cast, createCastKernel, ['wasm']],
  [Sum, createReduceKernel, ['wasm']],
  [Mean, createReduceKernel, ['wasm']],
  [Slice, createSliceKernel, ['wasm']],
  [SplitV, createSplitVKernel, ['wasm']],
];

interface Replacement {
  readonly stock: KernelConfig;
  readonly replacement: KernelConfig;
}

// Replaced kernels by `backend/KernelName`, holding the stock config that unregister restores.
const replacements = new Map<string, Replacement>();

function validateOptions(options: OpenBlasKernelOptions): readonly SupportedBackend[] {
  const backends = options.backends ?? SUPPORTED_BACKENDS;
  if (!Array.isArray(backends) || backends.length === 0) {
    throw new ConfigError(
      'backends',
      `expected a non-empty array of ${SUPPORTED_BACKENDS.join(' or ')}, got ${formatValue(backends)}.`,
    );
  }
  for (const backend of backends) {
    if (!(SUPPORTED_BACKENDS as readonly unknown[]).includes(backend)) {
      throw new ConfigError(
        'backends',
        `unknown backend ${formatValue(backend)}; the OpenBLAS kernels support ${SUPPORTED_BACKENDS.join(' and ')}.`,
      );
    }
  }
  const { threads } = options;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new ConfigError(
      'threads',
      `expected a positive integer, got ${formatValue(threads)}. Omit it to keep OpenBLAS's default.`,
    );
  }
  return backends;
}

/** Installs the OpenBLAS version of one kernel, or returns why it was not installed. */
function replaceKernel(
  addon: OpenBlasAddon,
  backend: SupportedBackend,
  kernelName: string,
  factory: KernelFactory,
): string | undefined {
  const key = `${backend}/${kernelName}`;
  const current = getKernel(kernelName, backend);
  if (current === undefined) {
    return `no ${kernelName} kernel is registered for ${backend}: import @tensorflow/tfjs-backend-${backend} first`;
  }
  if (replacements.get(key)?.replacement === current) {
    return undefined;
  }
  const replacement: KernelConfig = {
    kernelName,
    backendName: backend,
    kernelFunc: factory(addon, backend, current.kernelFunc),
    // The stock setup must still run when the backend initialises after this call (wasm binds
    // its C functions there), because the stock kernel stays the fallback.
    ...(current.setupFunc === undefined ? {} : { setupFunc: current.setupFunc }),
    ...(current.disposeFunc === undefined ? {} : { disposeFunc: current.disposeFunc }),
  };
  unregisterKernel(kernelName, backend);
  registerKernel(replacement);
  replacements.set(key, { stock: current, replacement });
  if (kernelName === BatchMatMul) {
    // The sgemm kernel takes transpose flags at full speed, so matMul gradients can skip copies.
    setTransposedMatMulFast(backend, true);
  }
  return undefined;
}

/**
 * Replaces the BatchMatMul and _FusedMatMul kernels of the wasm and cpu backends with versions
 * that call OpenBLAS sgemm on the tensors' memory in place, and their Transpose kernel with a
 * tiled copy for permutations that swap two adjacent axes. On wasm it also replaces Identity and
 * Cast with versions that share the input's buffer when no conversion is needed, which removes
 * the copies the gradient tape makes of saved tensors. It replaces Sum and Mean with versions
 * that use the addon's transpose when the reduced axes are not innermost, and Slice and SplitV
 * with direct copies. Inputs that the new kernels do not handle (non-float32, empty dimensions,
 * other permutations) still run the stock kernels.
 * Calling it again is safe.
 *
 * When the addon is not built or does not load, this logs one info line and registers nothing
 * instead of throwing. Throws a ConfigError for invalid options.
 */
export function registerOpenBlasKernels(options: OpenBlasKernelOptions = {}): OpenBlasRegistration {
  const backends = validateOptions(options);
  const logger = options.logger ?? silentLogger;
  const loaded = loadOpenBlasAddon();
  if (!loaded.available) {
    logger.info(
      `OpenBLAS kernels not registered, stock matMul kernels stay active: ${loaded.reason}.`,
    );
    return {
      registered: [],
      skipped: backends.map((backend) => ({ backend, reason: loaded.reason })),
    };
  }
  const { addon } = loaded;
  if (options.threads !== undefined && !addon.setNumThreads(options.threads)) {
    logger.warn('The linked BLAS library has no openblas_set_num_threads; `threads` is ignored.');
  }
  const registered: string[] = [];
  const skipped: SkippedBackend[] = [];
  for (const backend of backends) {
    for (const [kernelName, factory, kernelBackends] of KERNEL_FACTORIES) {
      if (!kernelBackends.includes(backend)) {
        continue;
      }
      const reason = replaceKernel(addon, backend, kernelName, factory);
      if (reason === undefined) {
        registered.push(`${backend}/${kernelName}`);
      } else if (!skipped.some((entry) => entry.backend === backend)) {
        skipped.push({ backend, reason });
        const message = `OpenBLAS kernels not registered for ${backend}: ${reason}.`;
        // A backend named in the options deserves a warning; a default one may simply be unused.
        if (options.backends === undefined) {
          logger.info(message);
        } else {
          logger.warn(message);
        }
      }
    }
  }
  if (registered.length > 0) {
    logger.info(`OpenBLAS kernels registered: ${registered.join(', ')}.`, {
      threads: addon.getNumThreads(),
      config: addon.getConfig(),
    });
  }
  return { registered, skipped };
}

/**
 * Restores the stock kernels that {@link registerOpenBlasKernels} replaced and returns their
 * `backend/KernelName` keys. A kernel that was replaced again by someone else is left alone.
 */
export function unregisterOpenBlasKernels(): string[] {
  const restored: string[] = [];
  for (const [key, { stock, replacement }] of replacements) {
    if (getKernel(stock.kernelName, stock.backendName) === replacement) {
      unregisterKernel(stock.kernelName, stock.backendName);
      registerKernel(stock);
      restored.push(key);
      if (stock.kernelName === BatchMatMul) {
        setTransposedMatMulFast(stock.backendName, false);
      }
    }
    replacements.delete(key);
  }
  return restored;
}
