import { expectClose, expectNoLeaks, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { LrScheduleOptions } from '../src/index.js';
import { clipByGlobalNorm, createLrSchedule, globalNorm } from '../src/index.js';

describe.each(['cpu', 'wasm'] as const)('clipByGlobalNorm on %s', (backend) => {
  it('scales gradients above the limit', async () => {
    await useBackend(backend);
    await expectNoLeaks(() => {
      // Global norm of {[3], [4]} is 5, so the factor is 1 / (5 + 1e-6).
      const grads = [tf.tensor1d([3]), tf.tensor2d([[4]])];
      const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
      expectClose(norm, [5], 'exact');
      expectClose(clipped[0] as tf.Tensor, [3 / (5 + 1e-6)], 'exact');
      expectClose(clipped[1] as tf.Tensor, [4 / (5 + 1e-6)], 'exact');
      expect((clipped[1] as tf.Tensor).shape).toEqual([1, 1]);
      tf.dispose([...grads, ...clipped, norm]);
    });
  });

  it('keeps gradients below the limit', async () => {
    await useBackend(backend);
    await expectNoLeaks(() => {
      const grads = [tf.tensor1d([0.3, -0.4])];
      const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
      expectClose(norm, [0.5], 'exact');
      expectClose(clipped[0] as tf.Tensor, [0.3, -0.4], 'exact');
      const total = globalNorm([...grads, ...clipped]);
      expectClose(total, [Math.sqrt(0.5)], 'exact');
      tf.dispose([...grads, ...clipped, norm, total]);
    });
  });
});

describe('createLrSchedule', () => {
  it.each([
    [0, 0],
    [1, 3e-6],
    [50, 1.5e-4],
    [100, 3e-4],
    [550, 1.5e-4],
    [999, 3e-4 / 900],
    [1000, 0],
    [1500, 0],
  ])('linear schedule at step %i is %f', (step, expected) => {
    const schedule = createLrSchedule(3e-4, { type: 'linear', warmupSteps: 100, maxSteps: 1000 });
    expect(schedule.lrAt(step)).toBeCloseTo(expected, 12);
  });

  it('defaults the warm-up to 100 steps', () => {
    const schedule = createLrSchedule(1, { type: 'linear', maxSteps: 200 });
    expect(schedule.options).toEqual({ type: 'linear', warmupSteps: 100, maxSteps: 200 });
    expect(schedule.lrAt(25)).toBe(0.25);
  });

  it('zero warm-up starts at full rate', () => {
    const schedule = createLrSchedule(2, { type: 'linear', warmupSteps: 0, maxSteps: 4 });
    expect([0, 1, 2, 3, 4].map((step) => schedule.lrAt(step))).toEqual([2, 1.5, 1, 0.5, 0]);
  });

  it('keeps a constant rate', () => {
    const schedule = createLrSchedule(3e-3, { type: 'constant' });
    expect([0, 10, 1e6].map((step) => schedule.lrAt(step))).toEqual([3e-3, 3e-3, 3e-3]);
  });

  it.each<[unknown, RegExp]>([
    [{ type: 'linear', maxSteps: 0 }, /`schedule\.maxSteps`: must be an integer, >= 1, received 0/],
    [
      { type: 'linear', maxSteps: 10, warmupSteps: -1 },
      /`schedule\.warmupSteps`: must be an integer, >= 0/,
    ],
    [{ type: 'linear', maxSteps: 2.5 }, /`schedule\.maxSteps`: must be an integer/],
    [{ type: 'linear' }, /`schedule\.maxSteps`: is missing/],
    [{ type: 'cosine' }, /`schedule\.type`: must be "linear" or "constant", received "cosine"/],
  ])('rejects %o', (options, message) => {
    expect(() => createLrSchedule(1, options as LrScheduleOptions)).toThrow(message);
  });
});
