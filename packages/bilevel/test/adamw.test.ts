import { FormatError, ShapeError } from '@guilomo/core';
import { expectClose, expectNoLeaks, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { AdamW, disposeAdamWState } from '../src/index.js';

interface OracleOptions {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
}

/** Runs the torch.optim.AdamW update in float64 on plain numbers and returns the parameters. */
function adamwOracle(
  p0: number[],
  grads: number[][],
  lrs: number[],
  options: OracleOptions,
): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const [beta1, beta2] = options.betas;
  grads.forEach((g, step) => {
    const t = step + 1;
    const lr = lrs[step] as number;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] as number;
      m[i] = beta1 * (m[i] as number) + (1 - beta1) * gi;
      v[i] = beta2 * (v[i] as number) + (1 - beta2) * gi * gi;
      p[i] = (p[i] as number) * (1 - lr * options.weightDecay);
      const denom = Math.sqrt(v[i] as number) / Math.sqrt(1 - beta2 ** t) + options.eps;
      p[i] = (p[i] as number) - (lr / (1 - beta1 ** t)) * ((m[i] as number) / denom);
    }
  });
  return p;
}

describe.each(['cpu', 'wasm'] as const)('AdamW on %s', (backend) => {
  it('matches the hand derivation on a scalar', async () => {
    await useBackend(backend);
    await expectNoLeaks(() => {
      const p = tf.tidy(() => tf.variable(tf.scalar(1)));
      const optimizer = new AdamW([p], {
        lr: 0.1,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weightDecay: 0.01,
      });

      // Step 1, g = 0.5, t = 1:
      //   m = 0.1·0.5 = 0.05            v = 0.001·0.25 = 2.5e-4
      //   decay: p = 1·(1 − 0.1·0.01) = 0.999
      //   step size = 0.1 / (1 − 0.9) = 1
      //   denom = sqrt(2.5e-4) / sqrt(1 − 0.999) + 1e-8 = 0.5 + 1e-8
      //   p = 0.999 − 1·0.05 / 0.50000001 = 0.999 − 0.099999998 = 0.899000002
      const g1 = tf.scalar(0.5);
      optimizer.step([g1]);
      expectClose(p, [0.899000002], 'testVector');
      const state1 = optimizer.getState();
      expectClose(state1.m[0] as tf.Tensor, [0.05], 'testVector');
      expectClose(state1.v[0] as tf.Tensor, [2.5e-4], 'testVector');

      // Step 2, g = −0.2, t = 2:
      //   m = 0.9·0.05 + 0.1·(−0.2) = 0.025
      //   v = 0.999·2.5e-4 + 0.001·0.04 = 2.8975e-4
      //   decay: p = 0.899000002·(1 − 0.001) = 0.898101002
      //   step size = 0.1 / (1 − 0.81) = 0.526315789
      //   denom = sqrt(2.8975e-4) / sqrt(1 − 0.998001) + 1e-8 = 0.0170220 / 0.0447102 + 1e-8
      //         = 0.380719689
      //   p = 0.898101002 − 0.526315789·0.025 / 0.380719689 = 0.898101002 − 0.034560584
      //     = 0.863540418
      const g2 = tf.scalar(-0.2);
      optimizer.step([g2]);
      expectClose(p, [0.863540418], 'testVector');
      expect(optimizer.stepCount).toBe(2);
      const state2 = optimizer.getState();
      expectClose(state2.m[0] as tf.Tensor, [0.025], 'testVector');
      expectClose(state2.v[0] as tf.Tensor, [2.8975e-4], 'testVector');

      disposeAdamWState(state1);
      disposeAdamWState(state2);
      tf.dispose([g1, g2, p]);
      optimizer.dispose();
    });
  });

  const cases: { name: string; options: OracleOptions; lrs: number[] }[] = [
    {
      name: 'torch defaults',
      options: { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 },
      lrs: [1e-3, 1e-3, 1e-3, 1e-3, 1e-3],
    },
    {
      name: 'outer GSV settings',
      options: { betas: [0.5, 0.999], eps: 1e-8, weightDecay: 0 },
      lrs: [3e-3, 3e-3, 3e-3, 3e-3, 3e-3],
    },
    {
      name: 'scheduled lr, large eps',
      options: { betas: [0.9, 0.99], eps: 1e-3, weightDecay: 0.1 },
      lrs: [0, 0.05, 0.1, 0.075, 0.05],
    },
  ];

  it.each(cases)('matches the float64 formula: $name', async ({ options, lrs }) => {
    await useBackend(backend);
    const p0 = [0.3, -1.2, 2.5, 0];
    const grads = [
      [0.1, -0.4, 2.0, 0],
      [0.3, 0.2, -1.0, 1e-4],
      [-0.5, 0.1, 0.5, -2],
      [0.05, -0.05, 0.2, 0.3],
      [1.5, 0.7, -0.3, 0.01],
    ];
    await expectNoLeaks(() => {
      const p = tf.tidy(() => tf.variable(tf.tensor1d(p0)));
      const optimizer = new AdamW([p], { ...options, lr: 1 });
      grads.forEach((g, step) => {
        const grad = tf.tensor1d(g);
        optimizer.step([grad], lrs[step]);
        grad.dispose();
      });
      expectClose(p, adamwOracle(p0, grads, lrs, options), 'testVector');
      optimizer.dispose();
      p.dispose();
    });
  });

  it('snapshots state by value', async () => {
    await useBackend(backend);
    await expectNoLeaks(() => {
      const p = tf.tidy(() => tf.variable(tf.tensor1d([1, 2])));
      const optimizer = new AdamW([p], { lr: 0.01 });
      const g = tf.tensor1d([0.5, -1]);
      optimizer.step([g]);
      const saved = optimizer.getState();
      const savedM = Array.from((saved.m[0] as tf.Tensor).dataSync());
      const savedP = Array.from(p.dataSync());

      optimizer.step([g]);
      expect(Array.from((saved.m[0] as tf.Tensor).dataSync())).toEqual(savedM);
      const afterTwo = Array.from(p.dataSync());

      // Rewind to the snapshot and repeat the second step: same result bit for bit.
      optimizer.setState(saved);
      tf.tidy(() => p.assign(tf.tensor1d(savedP)));
      optimizer.step([g]);
      expect(optimizer.stepCount).toBe(2);
      expect(Array.from(p.dataSync())).toEqual(afterTwo);

      disposeAdamWState(saved);
      optimizer.dispose();
      tf.dispose([g, p]);
    });
  });

  it('clone leaves the original state', async () => {
    await useBackend(backend);
    await expectNoLeaks(() => {
      const p = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3])));
      const optimizer = new AdamW([p], { lr: 0.01 });
      const g = tf.tensor1d([0.5, -1, 0.25]);
      optimizer.step([g]);
      const before = optimizer.exportState();

      const copy = optimizer.clone();
      copy.step([g]);
      copy.step([g]);
      expect(copy.stepCount).toBe(3);
      expect(optimizer.exportState()).toEqual(before);

      copy.dispose();
      optimizer.dispose();
      tf.dispose([g, p]);
    });
  });

  it('round-trips exportState and importState', async () => {
    await useBackend(backend);
    await expectNoLeaks(() => {
      const p = tf.tidy(() => tf.variable(tf.tensor2d([1, 2, 3, 4], [2, 2])));
      const optimizer = new AdamW([p], { lr: 0.01 });
      const g = tf.tensor2d([0.1, -0.2, 0.3, -0.4], [2, 2]);
      optimizer.step([g]);
      const saved = optimizer.exportState();
      expect(saved.step).toBe(1);
      expect(Object.keys(saved.tensors).sort()).toEqual(['m.0', 'v.0']);
      expect(saved.shapes['m.0']).toEqual([2, 2]);

      const restored = new AdamW([p], { lr: 0.01 });
      restored.importState(saved);
      expect(restored.exportState()).toEqual(saved);
      // Changing the caller's arrays afterwards must not reach the optimiser.
      (saved.tensors['m.0'] as Float32Array).fill(42);
      expect(restored.exportState().tensors['m.0']?.[0]).not.toBe(42);

      restored.dispose();
      optimizer.dispose();
      tf.dispose([g, p]);
    });
  });

  it('rejects a state of another shape', async () => {
    await useBackend(backend);
    await expectNoLeaks(() => {
      const p = tf.tidy(() => tf.variable(tf.tensor1d([1, 2])));
      const optimizer = new AdamW([p]);
      const state = {
        step: 3,
        tensors: { 'm.0': new Float32Array(3), 'v.0': new Float32Array(3) },
        shapes: {},
      };
      expect(() => optimizer.importState(state)).toThrow(FormatError);
      expect(() => optimizer.importState(state)).toThrow(/"m\.0" has 3 values, expected 2/);
      expect(optimizer.stepCount).toBe(0);
      optimizer.dispose();
      p.dispose();
    });
  });

  it('rejects gradients that do not fit', async () => {
    await useBackend(backend);
    await expectNoLeaks(() => {
      const p = tf.tidy(() => tf.variable(tf.tensor1d([1, 2])));
      const optimizer = new AdamW([p]);
      const wrong = tf.tensor1d([1, 2, 3]);
      expect(() => optimizer.step([])).toThrow(ShapeError);
      expect(() => optimizer.step([wrong])).toThrow(/gradient 0 has shape \[3\]/);
      expect(() => optimizer.step([p], -1)).toThrow(/`lr`: must be >= 0, received -1/);
      expect(optimizer.stepCount).toBe(0);
      optimizer.dispose();
      tf.dispose([wrong, p]);
    });
  });
});

describe('AdamW options', () => {
  it.each([
    [{ lr: -1 }, /`lr`: must be >= 0, received -1/],
    [{ betas: [1, 0.999] as const }, /`betas\[0\]`: must be >= 0, < 1, received 1/],
    [{ betas: [0.9, Number.NaN] as const }, /`betas\[1\]`: must be a finite number/],
    [{ eps: -1e-8 }, /`eps`: must be >= 0/],
    [{ weightDecay: -0.1 }, /`weightDecay`: must be >= 0, received -0.1/],
  ])('rejects %o', async (options, message) => {
    await useBackend('cpu');
    await expectNoLeaks(() => {
      const p = tf.tidy(() => tf.variable(tf.scalar(1)));
      expect(() => new AdamW([p], options)).toThrow(message);
      p.dispose();
    });
  });
});
