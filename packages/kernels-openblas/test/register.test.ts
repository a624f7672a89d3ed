import type { LogRecord } from '@guilomo/core';
import { ConfigError, createLogger, isTransposedMatMulFast } from '@guilomo/core';
import { expectNoLeaks, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOpenBlasAddon } from '../src/addon.js';
import {
  describeOpenBlas,
  isOpenBlasAvailable,
  registerOpenBlasKernels,
  unregisterOpenBlasKernels,
} from '../src/index.js';

const addon = loadOpenBlasAddon();
const suffix = addon.available ? '' : ` (skipped: ${addon.reason})`;

afterEach(() => {
  unregisterOpenBlasKernels();
});

describe('registerOpenBlasKernels options', () => {
  it.each([
    [{ backends: ['webgl'] }, 'backends', 'unknown backend "webgl"'],
    [{ backends: [] }, 'backends', 'non-empty array'],
    [{ threads: 0 }, 'threads', 'got 0'],
    [{ threads: 1.5 }, 'threads', 'got 1.5'],
  ])('rejects %j', (options, field, message) => {
    const call = () =>
      registerOpenBlasKernels(options as Parameters<typeof registerOpenBlasKernels>[0]);
    expect(call).toThrow(ConfigError);
    expect(call).toThrow(`\`${field}\``);
    expect(call).toThrow(message);
  });

  it('reports availability consistently', () => {
    const status = describeOpenBlas();
    expect(status.available).toBe(isOpenBlasAvailable());
    expect(status.available).toBe(addon.available);
  });
});

describe.skipIf(addon.available)('registerOpenBlasKernels without the addon', () => {
  it('logs one info line and registers nothing', () => {
    const records: LogRecord[] = [];
    const logger = createLogger({ level: 'debug', sink: (record) => records.push(record) });
    const result = registerOpenBlasKernels({ logger });
    expect(result.registered).toEqual([]);
    expect(records).toHaveLength(1);
    expect(records[0]?.level).toBe('info');
  });
});

describe.skipIf(!addon.available)(`registerOpenBlasKernels with the addon${suffix}`, () => {
  it('replaces both kernels on both backends', async () => {
    await useBackend('cpu');
    await useBackend('wasm');
    const result = registerOpenBlasKernels();
    expect(result.registered).toEqual([
      'wasm/BatchMatMul',
      'wasm/_FusedMatMul',
      'wasm/Transpose',
      'wasm/Identity',
      'wasm/Cast',
      'wasm/Sum',
      'wasm/Mean',
      'wasm/Slice',
      'wasm/SplitV',
      'cpu/BatchMatMul',
      'cpu/_FusedMatMul',
      'cpu/Transpose',
    ]);
    expect(result.skipped).toEqual([]);
  });

  it('is safe to register twice', async () => {
    await useBackend('wasm');
    registerOpenBlasKernels();
    const first = tf.getKernel('BatchMatMul', 'wasm');
    const second = registerOpenBlasKernels();
    expect(second.registered).toContain('wasm/BatchMatMul');
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(first);
    await expectNoLeaks(() => {
      const product = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([2, 3]), false, true));
      expect(Array.from(product.dataSync())).toEqual([3, 3, 3, 3]);
      product.dispose();
    });
  });

  it.each(['cpu', 'wasm'] as const)(
    'unregister restores the stock kernels on %s',
    async (backend) => {
      await useBackend(backend);
      const stockMatMul = tf.getKernel('BatchMatMul', backend);
      const stockFused = tf.getKernel('_FusedMatMul', backend);
      const stockTranspose = tf.getKernel('Transpose', backend);
      const stockIdentity = tf.getKernel('Identity', backend);
      const stockCast = tf.getKernel('Cast', backend);
      registerOpenBlasKernels({ backends: [backend] });
      expect(tf.getKernel('BatchMatMul', backend)).not.toBe(stockMatMul);
      expect(isTransposedMatMulFast(backend)).toBe(true);
      const restored = unregisterOpenBlasKernels();
      expect(isTransposedMatMulFast(backend)).toBe(false);
      const wasmOnly = ['Identity', 'Cast', 'Sum', 'Mean', 'Slice', 'SplitV'].map(
        (name) => `${backend}/${name}`,
      );
      const wasmKernels = backend === 'wasm' ? wasmOnly : [];
      expect(restored).toEqual([
        `${backend}/BatchMatMul`,
        `${backend}/_FusedMatMul`,
        `${backend}/Transpose`,
        ...wasmKernels,
      ]);
      expect(tf.getKernel('BatchMatMul', backend)).toBe(stockMatMul);
      expect(tf.getKernel('_FusedMatMul', backend)).toBe(stockFused);
      expect(tf.getKernel('Transpose', backend)).toBe(stockTranspose);
      expect(tf.getKernel('Identity', backend)).toBe(stockIdentity);
      expect(tf.getKernel('Cast', backend)).toBe(stockCast);
    },
  );

  it('sets the OpenBLAS thread count', () => {
    registerOpenBlasKernels({ threads: 1 });
    expect(describeOpenBlas().threads).toBe(1);
  });

  it('logs the registered kernels at info level', () => {
    const records: LogRecord[] = [];
    const logger = createLogger({ level: 'debug', sink: (record) => records.push(record) });
    registerOpenBlasKernels({ backends: ['cpu'], logger });
    const info = records.filter((record) => record.level === 'info');
    expect(info).toHaveLength(1);
    expect(info[0]?.message).toContain('cpu/BatchMatMul');
  });

  it('rejects an out-of-range region in the addon', () => {
    if (!addon.available) {
      return;
    }
    const a = new Float32Array(6);
    const b = new Float32Array(6);
    const c = new Float32Array(4);
    const call = (cOffset: number) =>
      addon.addon.sgemmBatch(false, false, 2, 2, 3, a, 0, 0, b, 0, 0, c, cOffset, 0, 1);
    expect(() => call(0)).not.toThrow();
    expect(() => call(1)).toThrow(RangeError);
    expect(() => call(-1)).toThrow(RangeError);
  });
});
