import type { Logger } from '@guilomo/core';
import { ConfigError, formatValue, GuiLoMoError, silentLogger } from '@guilomo/core';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo } from './describe-backend.js';
import { describeBackend, recordNativePackage, recordWasmThreads } from './describe-backend.js';
import { registerAllGradients } from './gradients.js';
import type { ModuleImporter, NativeLoadResult } from './native.js';
import {
  defaultImporter,
  importNativePackage,
  NATIVE_BACKEND_NAME,
  NATIVE_PACKAGES,
  nativeInstallHint,
} from './native.js';

/** Backend choices of {@link initBackend}. */
export const BACKEND_REQUESTS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendRequest = (typeof BACKEND_REQUESTS)[number];

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /**
   * Backend to activate. `auto` tries tfjs-node-gpu, tfjs-node, wasm, then cpu, and takes the
   * first that loads. `tensorflow` is the native backend of tfjs-node or tfjs-node-gpu.
   * Default `auto`.
   */
  backend?: BackendRequest;
  /**
   * Thread-pool size requested from the wasm backend, a positive integer. Default: the wasm
   * backend's own choice. tfjs-backend-wasm 4.22 runs one thread in Node whatever is requested,
   * and initBackend then logs a warning. Only takes effect when wasm initialises during this call.
   */
  wasmThreads?: number;
  /** Receives an info line naming the active backend and debug lines for skipped ones. */
  logger?: Logger;
}

/** A requested backend that could not be loaded. The message gives the cause and how to install it. */
export class BackendUnavailableError extends GuiLoMoError {
  constructor(
    readonly backend: string,
    message: string,
  ) {
    super(message);
  }
}

/** Modules that initBackend loads; tests replace the importer. */
export interface InitBackendDependencies {
  readonly importModule: ModuleImporter;
}

function validateOptions(options: InitBackendOptions): BackendRequest {
  const backend = options.backend ?? 'auto';
  if (!(BACKEND_REQUESTS as readonly unknown[]).includes(backend)) {
    throw new ConfigError(
      'backend',
      `unknown backend ${formatValue(backend)}; expected one of ${BACKEND_REQUESTS.join(', ')}.`,
    );
  }
  const threads = options.wasmThreads;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new ConfigError(
      'wasmThreads',
      `expected a positive integer, got ${formatValue(threads)}. Omit it to let the wasm backend choose.`,
    );
  }
  return backend;
}

/** Activates a registered backend. Returns the failure reason, or undefined on success. */
async function activate(name: string): Promise<string | undefined> {
  try {
    const ok = await tf.setBackend(name);
    if (!ok) {
      return `tf.setBackend('${name}') returned false; TF.js printed the cause as a warning`;
    }
    await tf.ready();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Loads tfjs-node-gpu, then tfjs-node. Returns the failures when neither becomes active. */
async function tryNative(
  deps: InitBackendDependencies,
  logger: Logger,
): Promise<{ active: boolean; failures: NativeLoadResult[] }> {
  const failures: NativeLoadResult[] = [];
  for (const packageName of NATIVE_PACKAGES) {
    const result = await importNativePackage(packageName, deps.importModule);
    if (!result.loaded) {
      failures.push(result);
      logger.debug(`Skipping ${packageName} (${result.failure}): ${result.reason}`);
      continue;
    }
    const reason = await activate(NATIVE_BACKEND_NAME);
    if (reason === undefined) {
      recordNativePackage(packageName);
      return { active: true, failures };
    }
    failures.push({ loaded: false, packageName, failure: 'failed', reason });
    logger.debug(`Skipping ${packageName}: the tensorflow backend did not initialise: ${reason}`);
  }
  return { active: false, failures };
}

async function tryWasm(deps: InitBackendDependencies, options: InitBackendOptions, logger: Logger) {
  let wasm: { setThreadsCount(count: number): void; getThreadsCount(): number };
  try {
    wasm = (await deps.importModule('@tensorflow/tfjs-backend-wasm')) as typeof wasm;
  } catch (error) {
    return `importing @tensorflow/tfjs-backend-wasm failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  recordWasmThreads(() => wasm.getThreadsCount());
  if (options.wasmThreads !== undefined) {
    // Must precede the backend's initialisation, which sizes the thread pool once.
    wasm.setThreadsCount(options.wasmThreads);
  }
  const reason = await activate('wasm');
  if (reason === undefined && options.wasmThreads !== undefined) {
    const actual = wasm.getThreadsCount();
    if (actual !== options.wasmThreads) {
      logger.warn(
        `The wasm backend runs ${actual} thread(s), not the ${options.wasmThreads} requested: ` +
          'tfjs-backend-wasm has no thread support in Node, and the pool is sized only at its first initialisation.',
      );
    }
  }
  return reason;
}

async function tryCpu(deps: InitBackendDependencies): Promise<string | undefined> {
  try {
    await deps.importModule('@tensorflow/tfjs-backend-cpu');
  } catch (error) {
    return `importing @tensorflow/tfjs-backend-cpu failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  const reason = await activate('cpu');
  if (reason === undefined) {
    // The cpu backend prints a banner that recommends tfjs-node on its first tensor write.
    // Library code must not print, so mark the banner as shown.
    const backend = tf.backend() as { firstUse?: unknown };
    if (typeof backend.firstUse === 'boolean') {
      backend.firstUse = false;
    }
  }
  return reason;
}

/**
 * Chooses, loads and activates a TF.js backend, registers all gradients, and logs the choice at
 * info level. Throws a ConfigError for invalid options and a BackendUnavailableError when the
 * requested backend (or, for `auto`, every backend) fails to load.
 */
export async function initBackendWith(
  options: InitBackendOptions,
  deps: InitBackendDependencies,
): Promise<BackendInfo> {
  const request = validateOptions(options);
  const logger = options.logger ?? silentLogger;

  const failures: string[] = [];
  let active = false;
  if (request === 'auto' || request === 'tensorflow') {
    const native = await tryNative(deps, logger);
    active = native.active;
    for (const failure of native.failures) {
      if (!failure.loaded) {
        failures.push(`${failure.packageName}: ${failure.reason}`);
      }
    }
    if (!active && request === 'tensorflow') {
      throw new BackendUnavailableError(
        'tensorflow',
        `The tensorflow backend is unavailable (${failures.join('; ')}). ${nativeInstallHint()} ` +
          "Use backend: 'wasm' or 'auto' to run without it.",
      );
    }
  }
  if (!active && (request === 'auto' || request === 'wasm')) {
    const reason = await tryWasm(deps, options, logger);
    active = reason === undefined;
    if (reason !== undefined) {
      failures.push(`wasm: ${reason}`);
      if (request === 'wasm') {
        throw new BackendUnavailableError(
          'wasm',
          `The wasm backend failed to load: ${reason}. Reinstall @tensorflow/tfjs-backend-wasm ` +
            "(it ships the .wasm binaries in its dist folder), or use backend: 'cpu'.",
        );
      }
      logger.warn(`The wasm backend failed to load, trying cpu: ${reason}`);
    }
  }
  if (!active && (request === 'auto' || request === 'cpu')) {
    const reason = await tryCpu(deps);
    active = reason === undefined;
    if (reason !== undefined) {
      failures.push(`cpu: ${reason}`);
      throw new BackendUnavailableError(
        request,
        `No TF.js backend could be loaded (${failures.join('; ')}). Reinstall @tensorflow/tfjs-backend-cpu.`,
      );
    }
  }
  // After the backend: tfjs-node registers the gradients itself, which makes this a no-op.
  await registerAllGradients();
  const info = describeBackend();
  logger.info(`TF.js backend: ${info.description}`, { backend: info.name });
  return info;
}

/**
 * Chooses, loads and activates a TF.js backend. See {@link InitBackendOptions} for the choices.
 * Registers all gradients and logs the active backend at info level.
 *
 * @example
 * const info = await initBackend({ backend: 'auto', logger });
 * // info.name === 'wasm' where tfjs-node is not installed
 */
export function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  return initBackendWith(options, { importModule: defaultImporter });
}
