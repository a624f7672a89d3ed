import { expectClose, expectNoLeaks, useBackend } from '@guilomo/core/testing';
import type * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { LrScheduleOptions } from '../src/index.js';
import { BilevelSearch, disposeAdamWState } from '../src/index.js';
import type { ScalarBatch } from './toy-problem.js';
import { createScalarProblem } from './toy-problem.js';

interface ScalarAdam {
  t: number;
  m: number;
  v: number;
}

/** Applies one torch.optim.AdamW step with weight decay 0 to a float64 number and returns it. */
function adamStep(state: ScalarAdam, p: number, g: number, lr: number, beta1: number): number {
  const beta2 = 0.999;
  state.t += 1;
  state.m = beta1 * state.m + (1 - beta1) * g;
  state.v = beta2 * state.v + (1 - beta2) * g * g;
  const denom = Math.sqrt(state.v) / Math.sqrt(1 - beta2 ** state.t) + 1e-8;
  return p - (lr / (1 - beta1 ** state.t)) * (state.m / denom);
}

/**
 * Runs the authors' per-pair update on L = ½(αw − y)², written out on float64 numbers with
 * analytic gradients: ∂L/∂w = α(αw − y) and ∂L/∂α = w(αw − y).
 */
function referenceOracle(
  pairs: readonly [number, number][],
  start: { w: number; alpha: number },
  settings: { lrAt: (step: number) => number; outerLr: number; accumulation: number },
) {
  const gw = (w: number, a: number, y: number) => a * (a * w - y);
  const ga = (w: number, a: number, y: number) => w * (a * w - y);
  let { w, alpha } = start;
  let inner: ScalarAdam = { t: 0, m: 0, v: 0 };
  const outer: ScalarAdam = { t: 0, m: 0, v: 0 };
  let innerSteps = 0;
  let accumulated = 0;
  let pending = 0;
  for (const [yt, yv] of pairs) {
    const eta = settings.lrAt(innerSteps);
    const wasFresh = inner.t === 0;
    const w0 = w;
    const gw1 = gw(w0, alpha, yt);
    let acc = ga(w0, alpha, yt);
    const unrolled = adamStep(inner, w0, gw1, eta, 0.9);
    const v = gw1 + gw(unrolled, alpha, yv);
    acc += ga(unrolled, alpha, yv);
    let dAlpha = acc;
    const radius = v === 0 ? 0.01 : 0.01 / Math.abs(v);
    acc += ga(w0 + radius * v, alpha, yt);
    const plus = acc;
    acc += ga(w0 - radius * v, alpha, yt);
    const minus = acc;
    dAlpha -= (eta * (plus - minus)) / (2 * radius);
    if (wasFresh) {
      inner = { t: 0, m: 0, v: 0 };
    }
    alpha = adamStep(outer, alpha, dAlpha, settings.outerLr, 0.5);
    w = w0;
    accumulated += gw(w, alpha, yt) / settings.accumulation;
    pending += 1;
    if (pending === settings.accumulation) {
      const factor = Math.min(1, 1 / (Math.abs(accumulated) + 1e-6));
      w = adamStep(inner, w, accumulated * factor, eta, 0.9);
      innerSteps += 1;
      accumulated = 0;
      pending = 0;
    }
  }
  return { w, alpha, innerT: inner.t, outerT: outer.t, innerSteps };
}

describe.each(['cpu', 'wasm'] as const)('reference mode on %s', (backend) => {
  it('matches the hand derivation of one pair', async () => {
    await useBackend(backend);
    const problem = createScalarProblem(1, 2);
    await expectNoLeaks(() => {
      const search = new BilevelSearch<ScalarBatch>(problem, {
        mode: 'reference',
        inner: { lr: 0.1, schedule: { type: 'constant' } },
      });
      // L(w, α; y) = ½(αw − y)²; w = 1, α = 2, train y = 1, validation y = 3, η = 0.1.
      // Train pass at w = 1: αw − 1 = 1, gw1 = α·1 = 2, gα1 = w·1 = 1.
      // Virtual step, a first AdamW step: w' = 1 − 0.1·2/(2 + 1e-8) = 0.9.
      // Validation pass at w' = 0.9: αw' − 3 = −1.2, gw2 = −2.4, gα2 = 0.9·(−1.2) = −1.08.
      //   v = gw1 + gw2 = −0.4 (‖v‖ = 0.4), α-grads = 1 − 1.08 = −0.08, valLoss = ½·1.44 = 0.72.
      // R = 0.01/0.4 = 0.025, w+ = 0.99, w− = 1.01:
      //   gα+ = 0.99·(1.98 − 1) = 0.9702, cumulative P = −0.08 + 0.9702 = 0.8902
      //   gα− = 1.01·(2.02 − 1) = 1.0302, cumulative N = 0.8902 + 1.0302 = 1.9204
      //   (P − N)/(2R) = −1.0302/0.05 = −20.604
      // dα = −0.08 − 0.1·(−20.604) = 1.9804, and the outer first moment is (1 − 0.5)·dα = 0.9902.
      // Outer AdamW's first step moves α by lr·dα/(|dα| + eps): α = 2 − 0.003 = 1.997.
      // The inner optimiser had not stepped, so the virtual step is undone (step count 0).
      // Inner pass at w = 1, α = 1.997: αw − 1 = 0.997, trainLoss = ½·0.997² = 0.4970045,
      //   gradient 1.997·0.997 = 1.991009, clipped to norm 1, then a first AdamW step: w = 0.9.
      const metrics = search.step({ y: 1 }, { y: 3 });
      expect(metrics.vNorm).toBeCloseTo(0.4, 5);
      expect(metrics.valLoss).toBeCloseTo(0.72, 5);
      expect(metrics.outerGradNorm).toBeCloseTo(1.9804, 4);
      expect(metrics.trainLoss).toBeCloseTo(0.4970045, 6);
      expect(metrics.innerGradNorm).toBeCloseTo(1.991009, 5);
      expect(metrics.innerStepTaken).toBe(true);

      const outerState = search.outerOptimizer.getState();
      expectClose(outerState.m[0] as tf.Tensor, [0.9902], 'testVector');
      expectClose(problem.alpha, [1.997], 'testVector');
      expectClose(problem.w, [0.9], 'testVector');
      expect(search.innerOptimizer.stepCount).toBe(1);

      // From the second pair on, the virtual step stays in the live state: one virtual and one
      // real step, so the inner AdamW count goes from 1 to 3.
      search.step({ y: 1 }, { y: 3 });
      expect(search.innerOptimizer.stepCount).toBe(3);
      expect(search.innerSteps).toBe(2);

      disposeAdamWState(outerState);
      search.dispose();
    });
    problem.dispose();
  });

  const schedules: { name: string; schedule: LrScheduleOptions; accumulation: number }[] = [
    { name: 'constant lr, no accumulation', schedule: { type: 'constant' }, accumulation: 1 },
    {
      name: 'linear warm-up, 2 pairs per step',
      schedule: { type: 'linear', warmupSteps: 2, maxSteps: 6 },
      accumulation: 2,
    },
    {
      name: 'linear warm-up, 3 pairs per step',
      schedule: { type: 'linear', warmupSteps: 1, maxSteps: 4 },
      accumulation: 3,
    },
  ];

  it.each(schedules)(
    'matches a float64 re-derivation: $name',
    async ({ schedule, accumulation }) => {
      await useBackend(backend);
      const pairs: [number, number][] = [
        [1, 3],
        [0.5, 1.5],
        [2, -1],
        [1.2, 0.8],
        [-0.5, 2],
        [0.3, 0.4],
        [1, 1],
      ];
      const problem = createScalarProblem(0.7, 1.3);
      await expectNoLeaks(() => {
        const search = new BilevelSearch<ScalarBatch>(problem, {
          mode: 'reference',
          inner: { lr: 0.05, schedule },
          gradientAccumulationSteps: accumulation,
        });
        for (const [yt, yv] of pairs) {
          search.step({ y: yt }, { y: yv });
        }
        const lrSchedule = (step: number): number => {
          if (schedule.type === 'constant') {
            return 0.05;
          }
          const warmup = schedule.warmupSteps ?? 100;
          return step < warmup
            ? (0.05 * step) / Math.max(1, warmup)
            : 0.05 *
                Math.max(0, (schedule.maxSteps - step) / Math.max(1, schedule.maxSteps - warmup));
        };
        const expected = referenceOracle(
          pairs,
          { w: 0.7, alpha: 1.3 },
          { lrAt: lrSchedule, outerLr: 3e-3, accumulation },
        );
        expectClose(problem.w, [expected.w], 'testVector');
        expectClose(problem.alpha, [expected.alpha], 'testVector');
        expect(search.innerOptimizer.stepCount).toBe(expected.innerT);
        expect(search.outerOptimizer.stepCount).toBe(expected.outerT);
        expect(search.innerSteps).toBe(expected.innerSteps);
        search.dispose();
      });
      problem.dispose();
    },
  );
});
