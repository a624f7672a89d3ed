import type { Logger, LogRecord } from '@guilomo/core';
import { ConfigError, createLogger } from '@guilomo/core';
import { expectNoLeaks } from '@guilomo/core/testing';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError, describeBackend, initBackend } from '../src/index.js';
import { initBackendWith } from '../src/init-backend.js';
import type { ModuleImporter } from '../src/native.js';

function recordingLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  return {
    logger: createLogger({ level: 'debug', sink: (record) => records.push(record) }),
    records,
  };
}

/** Trains nothing: computes the gradient of a tiny loss to check that gradients are registered. */
async function expectGradientsWork(): Promise<void> {
  await expectNoLeaks(() => {
    const initial = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const w = tf.variable(initial);
    initial.dispose();
    const x = tf.tensor2d([[1, -1]]);
    // loss = sum(relu(x·w)²); x·w = [-2, -2] so relu gives 0 and the gradient is 0 ...
    // ... so use tanh instead, whose gradient is nonzero everywhere.
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.square(tf.tanh(tf.matMul(x, w)))) as tf.Scalar,
    );
    const gradient = grads[w.name];
    expect(gradient?.shape).toEqual([2, 2]);
    expect(Math.abs(gradient?.dataSync()[0] ?? 0)).toBeGreaterThan(0);
    tf.dispose([value, x, w, ...Object.values(grads)]);
  });
}

describe('initBackend', () => {
  it('auto selects wasm when no native package is installed', async () => {
    const { logger, records } = recordingLogger();
    const info = await initBackend({ logger });
    expect(info.name).toBe('wasm');
    expect(info.isNative).toBe(false);
    expect(tf.getBackend()).toBe('wasm');
    const debug = records
      .filter((record) => record.level === 'debug')
      .map((record) => record.message);
    expect(debug).toHaveLength(2);
    expect(debug[0]).toContain('@tensorflow/tfjs-node-gpu (not-installed)');
    expect(debug[1]).toContain('@tensorflow/tfjs-node (not-installed)');
    const info_ = records.filter((record) => record.level === 'info');
    expect(info_).toHaveLength(1);
    expect(info_[0]?.message).toBe(`TF.js backend: ${info.description}`);
  });

  it.each([
    ['cpu', 'cpu (pure JavaScript kernels)'],
    ['wasm', 'wasm (XNNPACK, SIMD, 1 thread)'],
  ] as const)('activates %s on request', async (backend, description) => {
    const info = await initBackend({ backend });
    expect(info.name).toBe(backend);
    expect(info.description).toBe(description);
    expect(tf.getBackend()).toBe(backend);
    await expectGradientsWork();
  });

  it('describes the wasm backend', async () => {
    await initBackend({ backend: 'wasm' });
    const info = describeBackend();
    expect(info.simd).toBe(true);
    expect(info.threads).toBe(1);
  });

  it('rejects tensorflow when tfjs-node is missing', async () => {
    await initBackend({ backend: 'cpu' });
    const attempt = initBackend({ backend: 'tensorflow' });
    await expect(attempt).rejects.toThrow(BackendUnavailableError);
    const error = await initBackend({ backend: 'tensorflow' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain('The tensorflow backend is unavailable');
    // The wording of the resolver error differs between Node and vitest; only its source is fixed.
    expect(message).toContain('@tensorflow/tfjs-node-gpu: ');
    expect(message).toContain('@tensorflow/tfjs-node: ');
    expect(message).toContain('Install @tensorflow/tfjs-node');
    expect((error as BackendUnavailableError).backend).toBe('tensorflow');
    expect(tf.getBackend()).toBe('cpu');
  });

  it.each([
    [
      { backend: 'webgpu' },
      'backend',
      'unknown backend "webgpu"; expected one of auto, tensorflow, wasm, cpu',
    ],
    [{ wasmThreads: 0 }, 'wasmThreads', 'expected a positive integer, got 0'],
    [{ wasmThreads: 2.5 }, 'wasmThreads', 'expected a positive integer, got 2.5'],
  ])('rejects %j', async (options, field, message) => {
    const call = () => initBackend(options as Parameters<typeof initBackend>[0]);
    await expect(call()).rejects.toThrow(ConfigError);
    await expect(call()).rejects.toThrow(`\`${field}\`: ${message}`);
  });

  it('warns when wasm cannot use the requested threads', async () => {
    const { logger, records } = recordingLogger();
    const info = await initBackend({ backend: 'wasm', wasmThreads: 2, logger });
    expect(info.threads).toBe(1);
    const warnings = records.filter((record) => record.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('runs 1 thread(s), not the 2 requested');
  });
});

describe('initBackend with a stand-in native package', () => {
  afterEach(async () => {
    if (tf.engine().registryFactory.tensorflow !== undefined) {
      await tf.setBackend('cpu');
      tf.removeBackend('tensorflow');
    }
    for (const kernel of tf.getKernelsForBackend('tensorflow')) {
      tf.unregisterKernel(kernel.kernelName, 'tensorflow');
    }
  });

  const missing = (specifier: string) =>
    Object.assign(new Error(`Cannot find package '${specifier}' imported from /app/index.js`), {
      code: 'ERR_MODULE_NOT_FOUND',
    });

  /** Imports like Node, except that the native packages are replaced as described. */
  function importer(native: (specifier: string) => Promise<unknown>): ModuleImporter {
    return (specifier) =>
      specifier.startsWith('@tensorflow/tfjs-node') ? native(specifier) : import(specifier);
  }

  it('auto prefers a native package that loads', async () => {
    // Plays tfjs-node: importing it registers a 'tensorflow' backend (here the cpu kernels).
    const fakeNode = importer(async (specifier) => {
      if (specifier === '@tensorflow/tfjs-node-gpu') {
        throw missing(specifier);
      }
      tf.registerBackend('tensorflow', () => new MathBackendCPU(), 3);
      tf.copyRegisteredKernels('cpu', 'tensorflow');
      return {};
    });
    const { logger, records } = recordingLogger();
    const info = await initBackendWith({ logger }, { importModule: fakeNode });
    expect(info.name).toBe('tensorflow');
    expect(info.isNative).toBe(true);
    expect(info.nativePackage).toBe('@tensorflow/tfjs-node');
    expect(info.description).toBe(
      'tensorflow (native libtensorflow through @tensorflow/tfjs-node)',
    );
    expect(records.filter((record) => record.level === 'debug')).toHaveLength(1);
    await expectGradientsWork();
  });

  it('auto falls back to wasm when the binding is missing', async () => {
    const brokenNode = importer(async (specifier) => {
      throw new Error(
        `The Node.js native addon module (tfjs_binding.node) can not be found at path: /app/node_modules/${specifier}/lib/napi-v8/tfjs_binding.node.`,
      );
    });
    const { logger, records } = recordingLogger();
    const info = await initBackendWith({ logger }, { importModule: brokenNode });
    expect(info.name).toBe('wasm');
    const debug = records
      .filter((record) => record.level === 'debug')
      .map((record) => record.message);
    expect(debug).toHaveLength(2);
    expect(debug[0]).toContain('(binding-missing)');
    expect(debug[1]).toContain('(binding-missing)');
  });

  it('names the binding failure when tensorflow is requested', async () => {
    const brokenNode = importer(async () => {
      throw Object.assign(new Error('libtensorflow.so.2: cannot open shared object file'), {
        code: 'ERR_DLOPEN_FAILED',
      });
    });
    const attempt = initBackendWith({ backend: 'tensorflow' }, { importModule: brokenNode });
    await expect(attempt).rejects.toThrow('@tensorflow/tfjs-node: libtensorflow.so.2: cannot open');
  });
});
