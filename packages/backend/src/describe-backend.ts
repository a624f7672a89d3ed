import * as tf from '@tensorflow/tfjs-core';
import type { NativePackage } from './native.js';
import { NATIVE_BACKEND_NAME } from './native.js';

/** Description of the active TF.js backend, for logs and run metadata. */
export interface BackendInfo {
  /** TF.js backend name: `tensorflow`, `wasm`, `cpu`, or another registered backend. */
  readonly name: string;
  /** True for the native libtensorflow backend of tfjs-node or tfjs-node-gpu. */
  readonly isNative: boolean;
  /** One line for humans, e.g. `wasm (XNNPACK, SIMD, 1 thread)`. */
  readonly description: string;
  /** Whether the wasm binary uses SIMD instructions. Only set for wasm once it is initialised. */
  readonly simd?: boolean;
  /** Threads of the wasm backend's thread pool. Only set for wasm once it is initialised. */
  readonly threads?: number;
  /** The npm package that registered the native backend, when initBackend loaded it. */
  readonly nativePackage?: NativePackage;
}

/** Facts that initBackend learns while loading and that TF.js does not expose later. */
interface LoadedState {
  nativePackage?: NativePackage;
  wasmThreads?: () => number;
}

const loaded: LoadedState = {};

/** Records the native package that registered the `tensorflow` backend. */
export function recordNativePackage(packageName: NativePackage): void {
  loaded.nativePackage = packageName;
}

/** Records how to read the wasm thread count (tfjs-backend-wasm's getThreadsCount). */
export function recordWasmThreads(getThreadsCount: () => number): void {
  loaded.wasmThreads = getThreadsCount;
}

function wasmThreadCount(): number | undefined {
  try {
    return loaded.wasmThreads?.();
  } catch {
    // getThreadsCount throws until the wasm backend has been initialised.
    return undefined;
  }
}

/**
 * Describes the active backend without initialising one. Returns name `none` when no backend
 * has been set yet.
 */
export function describeBackend(): BackendInfo {
  const name: string | null | undefined = tf.engine().backendName;
  if (name === null || name === undefined) {
    return { name: 'none', isNative: false, description: 'no TF.js backend is active yet' };
  }
  if (name === NATIVE_BACKEND_NAME) {
    const source = loaded.nativePackage ?? '@tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu';
    return {
      name,
      isNative: true,
      description: `tensorflow (native libtensorflow through ${source})`,
      ...(loaded.nativePackage === undefined ? {} : { nativePackage: loaded.nativePackage }),
    };
  }
  if (name === 'wasm') {
    // Flags evaluated during wasm initialisation are cached; reading them evaluates nothing.
    const simdFlag = tf.env().getFlags().WASM_HAS_SIMD_SUPPORT;
    const simd = typeof simdFlag === 'boolean' ? simdFlag : undefined;
    const threads = wasmThreadCount();
    const details = ['XNNPACK'];
    if (simd !== undefined) {
      details.push(simd ? 'SIMD' : 'no SIMD');
    }
    if (threads !== undefined) {
      details.push(threads === 1 ? '1 thread' : `${threads} threads`);
    }
    return {
      name,
      isNative: false,
      description: `wasm (${details.join(', ')})`,
      ...(simd === undefined ? {} : { simd }),
      ...(threads === undefined ? {} : { threads }),
    };
  }
  if (name === 'cpu') {
    return { name, isNative: false, description: 'cpu (pure JavaScript kernels)' };
  }
  return { name, isNative: false, description: name };
}
