import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';

/** Backends whose tensor memory the OpenBLAS kernels can read and write in place. */
export const SUPPORTED_BACKENDS = ['wasm', 'cpu'] as const;
export type SupportedBackend = (typeof SUPPORTED_BACKENDS)[number];

/** A float32 matrix buffer: `array` from element `offset` on. */
export interface Float32Region {
  readonly array: Float32Array;
  readonly offset: number;
}

/** Output tensor allocated by the backend, with the region that the kernel fills. */
export interface OutputRegion extends Float32Region {
  readonly info: TensorInfo;
}

/**
 * Reads and allocates float32 tensor memory on one backend instance without copying. The kernel
 * must allocate the output before it reads inputs, because allocating on wasm may grow the heap
 * and detach earlier views of it.
 */
export interface BackendMemory {
  /** Allocates an uninitialised float32 output tensor. */
  allocate(shape: number[]): OutputRegion;
  /** Returns the memory of a float32 input, or undefined when it is not reachable in place. */
  read(info: TensorInfo): Float32Region | undefined;
  /** Releases a tensor that a kernel created and does not return. */
  dispose(info: TensorInfo): void;
}

// Structural views of the fields of MathBackendCPU and BackendWasm (tfjs 4.22) that the kernels
// use. Both classes keep these fields public, but neither package exports them as a stable API.
interface CpuBackendFields {
  data: { get(dataId: DataId): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
  disposeData(dataId: DataId): boolean;
}

interface WasmBackendFields {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: DataId): { memoryOffset?: number | null } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  disposeData(dataId: DataId): boolean;
}

function hasMethods(value: unknown, names: readonly string[]): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const record = value as Record<string, unknown>;
  return names.every((name) => typeof record[name] === 'function');
}

function isCpuBackend(backend: unknown): backend is CpuBackendFields {
  return (
    hasMethods(backend, ['makeTensorInfo', 'disposeData']) && hasMethods(backend.data, ['get'])
  );
}

function isWasmBackend(backend: unknown): backend is WasmBackendFields {
  if (
    !hasMethods(backend, ['makeOutput', 'disposeData']) ||
    !hasMethods(backend.dataIdMap, ['get'])
  ) {
    return false;
  }
  const wasm = backend.wasm as { HEAPU8?: unknown } | undefined;
  return wasm?.HEAPU8 instanceof Uint8Array;
}

function cpuMemory(backend: CpuBackendFields): BackendMemory {
  return {
    allocate(shape) {
      const size = shape.reduce((total, dim) => total * dim, 1);
      const array = new Float32Array(size);
      return { array, offset: 0, info: backend.makeTensorInfo(shape, 'float32', array) };
    },
    read(info) {
      const values = backend.data.get(info.dataId)?.values;
      return values instanceof Float32Array ? { array: values, offset: 0 } : undefined;
    },
    dispose(info) {
      backend.disposeData(info.dataId);
    },
  };
}

// NOTE: tested with the single-threaded wasm build only, which is what tfjs-backend-wasm 4.22
// loads in Node. The threaded build's heap is a SharedArrayBuffer, which this code has not met.
function wasmMemory(backend: WasmBackendFields): BackendMemory {
  // A fresh view each time: growing the wasm memory replaces HEAPU8 and its buffer.
  const heap = () => {
    const bytes = backend.wasm.HEAPU8;
    return new Float32Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 2);
  };
  const offsetOf = (info: TensorInfo): number | undefined => {
    const memoryOffset = backend.dataIdMap.get(info.dataId)?.memoryOffset;
    // The heap allocator aligns tensors to at least 4 bytes; anything else is not a float32 view.
    return typeof memoryOffset === 'number' && memoryOffset % 4 === 0
      ? memoryOffset / 4
      : undefined;
  };
  return {
    allocate(shape) {
      const info = backend.makeOutput(shape, 'float32');
      const offset = offsetOf(info);
      if (offset === undefined) {
        backend.disposeData(info.dataId);
        throw new Error('Internal error: wasm backend returned an output without heap memory.');
      }
      return { array: heap(), offset, info };
    },
    read(info) {
      const offset = offsetOf(info);
      return offset === undefined ? undefined : { array: heap(), offset };
    },
    dispose(info) {
      backend.disposeData(info.dataId);
    },
  };
}

/**
 * Returns in-place memory access for a backend instance, or undefined when the instance does not
 * have the fields of the named tfjs 4.x backend.
 */
export function backendMemory(name: SupportedBackend, backend: unknown): BackendMemory | undefined {
  if (name === 'cpu') {
    return isCpuBackend(backend) ? cpuMemory(backend) : undefined;
  }
  return isWasmBackend(backend) ? wasmMemory(backend) : undefined;
}
