import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Functions of the N-API addon built from native/openblas_addon.c. */
export interface OpenBlasAddon {
  /**
   * Computes `C_i = op(A_i) · op(B_i)` for `i < batch`, row-major, where `op(A_i)` is m×k and
   * `op(B_i)` is k×n. Offsets and strides count float32 elements; a stride of 0 reuses one
   * matrix for every batch entry. Throws a RangeError when a matrix extends past its array.
   */
  sgemmBatch(
    transposeA: boolean,
    transposeB: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    aOffset: number,
    aStride: number,
    b: Float32Array,
    bOffset: number,
    bStride: number,
    c: Float32Array,
    cOffset: number,
    cStride: number,
    batch: number,
  ): void;
  /**
   * Views `src` from `srcOffset` as [outer, rows, cols, inner] and writes `dst` from `dstOffset`
   * as [outer, cols, rows, inner]. Throws a RangeError when a tensor extends past its array.
   */
  transposeBlocks(
    outer: number,
    rows: number,
    cols: number,
    inner: number,
    src: Float32Array,
    srcOffset: number,
    dst: Float32Array,
    dstOffset: number,
  ): void;
  /** Sets the OpenBLAS thread count. Returns false when the BLAS library has no such control. */
  setNumThreads(threads: number): boolean;
  /** Returns the OpenBLAS thread count, or -1 when the BLAS library does not report it. */
  getNumThreads(): number;
  /** Returns OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH Haswell", or null. */
  getConfig(): string | null;
}

/** Outcome of loading the addon: the addon, or the reason it is unavailable. */
export type AddonLoadResult =
  | { readonly available: true; readonly addon: OpenBlasAddon; readonly path: string }
  | { readonly available: false; readonly reason: string; readonly path: string };

// The same relative path works from src/ (tests) and from dist/ (the published build).
const ADDON_URL = new URL('../build/Release/openblas_addon.node', import.meta.url);

let cached: AddonLoadResult | undefined;

/**
 * Loads the addon once and caches the outcome. Never throws: a missing build or a shared library
 * that fails to load is reported as `available: false` with the reason.
 */
export function loadOpenBlasAddon(): AddonLoadResult {
  if (cached === undefined) {
    cached = loadUncached();
  }
  return cached;
}

function loadUncached(): AddonLoadResult {
  const path = fileURLToPath(ADDON_URL);
  if (!existsSync(path)) {
    return {
      available: false,
      path,
      reason: `the addon is not built (${path} is missing). Install libopenblas-dev, then run "node scripts/build-addon.mjs" in the @guilomo/kernels-openblas folder`,
    };
  }
  try {
    const require = createRequire(import.meta.url);
    const loaded: unknown = require(path);
    if (!isOpenBlasAddon(loaded)) {
      return { available: false, path, reason: `${path} does not export the expected functions` };
    }
    return { available: true, addon: loaded, path };
  } catch (error) {
    // Typically ERR_DLOPEN_FAILED: the addon was built where libopenblas exists but it is not
    // installed here.
    const message = error instanceof Error ? error.message : String(error);
    return { available: false, path, reason: `loading ${path} failed: ${message}` };
  }
}

function isOpenBlasAddon(value: unknown): value is OpenBlasAddon {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const record = value as Record<string, unknown>;
  return ['sgemmBatch', 'transposeBlocks', 'setNumThreads', 'getNumThreads', 'getConfig'].every(
    (name) => typeof record[name] === 'function',
  );
}

/** Returns whether the OpenBLAS addon is built and loads in this process. */
export function isOpenBlasAvailable(): boolean {
  return loadOpenBlasAddon().available;
}

/** State of the OpenBLAS addon, for logs. */
export interface OpenBlasStatus {
  readonly available: boolean;
  /** Reason the addon is unavailable. */
  readonly reason?: string;
  /** OpenBLAS build description, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64". */
  readonly config?: string;
  /** Current OpenBLAS thread count. */
  readonly threads?: number;
}

/** Returns whether the addon loads and, if so, the OpenBLAS build and thread count. */
export function describeOpenBlas(): OpenBlasStatus {
  const loaded = loadOpenBlasAddon();
  if (!loaded.available) {
    return { available: false, reason: loaded.reason };
  }
  const config = loaded.addon.getConfig();
  const threads = loaded.addon.getNumThreads();
  return {
    available: true,
    ...(config === null ? {} : { config }),
    ...(threads < 0 ? {} : { threads }),
  };
}
