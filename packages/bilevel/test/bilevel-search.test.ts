import type { LogRecord } from '@guilomo/core';
import { createLogger, FormatError, NumericError } from '@guilomo/core';
import { expectClose, expectNoLeaks, useBackend } from '@guilomo/core/testing';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { BilevelMode, BilevelSearchOptions, LinearScheduleOptions } from '../src/index.js';
import {
  BilevelSearch,
  dartsOuterGradient,
  disposeAdamWState,
  disposeOuterGradient,
} from '../src/index.js';
import type { ToyBatch } from './toy-problem.js';
import {
  createScalarProblem,
  createToyBatches,
  createToyProblem,
  readValues,
} from './toy-problem.js';

const MODES: readonly BilevelMode[] = ['first-order', 'darts', 'reference'];
const linear = { type: 'linear', warmupSteps: 2, maxSteps: 10 } as const;

/** Returns the outer AdamW first moment divided by (1 − β1), which is dα after one step. */
function firstOuterGradient(search: BilevelSearch<ToyBatch>): number[][] {
  const state = search.outerOptimizer.getState();
  const [beta1] = search.config.outer.betas;
  const result = state.m.map((m) => Array.from(m.dataSync(), (value) => value / (1 - beta1)));
  disposeAdamWState(state);
  return result;
}

describe.each(['cpu', 'wasm'] as const)('BilevelSearch on %s', (backend) => {
  it('first-order uses the validation gradient', async () => {
    await useBackend(backend);
    const problem = createToyProblem(21);
    const [train, val] = createToyBatches(31, 2);
    if (train === undefined || val === undefined) {
      throw new Error('fixture has no batch');
    }
    await expectNoLeaks(() => {
      const expected = tf.variableGrads(() => problem.loss(val), [...problem.outerVariables]);
      const expectedGrads = problem.outerVariables.map(
        (variable) => expected.grads[variable.name] as Tensor,
      );
      const search = new BilevelSearch(problem, {
        mode: 'first-order',
        inner: { schedule: linear },
      });
      const metrics = search.step(train, val);
      firstOuterGradient(search).forEach((grad, i) => {
        expectClose(grad, expectedGrads[i] as Tensor, 'exact');
      });
      expect(metrics.valLoss).toBeCloseTo(expected.value.dataSync()[0] as number, 6);
      expect(metrics.vNorm).toBeUndefined();
      tf.dispose([expected.value, ...expectedGrads]);
      search.dispose();
    });
    problem.dispose();
  });

  it('darts uses the DARTS hypergradient', async () => {
    await useBackend(backend);
    const problem = createToyProblem(22);
    const [train, val] = createToyBatches(32, 2);
    if (train === undefined || val === undefined) {
      throw new Error('fixture has no batch');
    }
    await expectNoLeaks(() => {
      const search = new BilevelSearch(problem, {
        mode: 'darts',
        inner: { lr: 0.2, schedule: { type: 'constant' } },
      });
      const expected = dartsOuterGradient(problem, train, val, { eta: 0.2 });
      const metrics = search.step(train, val);
      firstOuterGradient(search).forEach((grad, i) => {
        expectClose(grad, expected.grads[i] as Tensor, 'exact');
      });
      expect(metrics.vNorm).toBeCloseTo((expected.vNorm as Scalar).dataSync()[0] as number, 5);
      expect(metrics.lr).toBe(0.2);
      disposeOuterGradient(expected);
      search.dispose();
    });
    problem.dispose();
  });

  it('darts keeps the inner optimiser state', async () => {
    await useBackend(backend);
    const problem = createToyProblem(23);
    const batches = createToyBatches(33, 4);
    await expectNoLeaks(() => {
      const search = new BilevelSearch(problem, {
        mode: 'darts',
        unrolled: 'adamw',
        inner: { lr: 0.05, schedule: { type: 'constant' } },
        gradientAccumulationSteps: 2,
      });
      const pristine = search.innerOptimizer.exportState();
      const first = search.step(batches[0] as ToyBatch, batches[1] as ToyBatch);
      expect(first.innerStepTaken).toBe(false);
      expect(search.innerOptimizer.exportState()).toEqual(pristine);

      const second = search.step(batches[2] as ToyBatch, batches[3] as ToyBatch);
      expect(second.innerStepTaken).toBe(true);
      expect(search.innerOptimizer.stepCount).toBe(1);
      search.dispose();
    });
    problem.dispose();
  });

  it.each(MODES)('%s resumes bit for bit', async (mode) => {
    await useBackend(backend);
    const batches = createToyBatches(34, 12);
    const options: BilevelSearchOptions = {
      mode,
      inner: { lr: 0.05, schedule: linear },
      gradientAccumulationSteps: 2,
    };
    const runPairs = (search: BilevelSearch<ToyBatch>, from: number, to: number) => {
      for (let pair = from; pair < to; pair++) {
        search.step(batches[2 * pair] as ToyBatch, batches[2 * pair + 1] as ToyBatch);
      }
    };
    await expectNoLeaks(() => {
      const straightProblem = createToyProblem(24);
      const straight = new BilevelSearch(straightProblem, options);
      runPairs(straight, 0, 6);

      // Three pairs leave one pair's inner gradient pending, which the state must carry.
      const firstProblem = createToyProblem(24);
      const first = new BilevelSearch(firstProblem, options);
      runPairs(first, 0, 3);
      const saved = first.exportState();
      expect(saved.meta.pendingPairs).toBe(1);
      first.dispose();
      firstProblem.dispose();

      const resumedProblem = createToyProblem(999);
      const resumed = new BilevelSearch(resumedProblem, options);
      resumed.importState(saved);
      runPairs(resumed, 3, 6);

      expect(readValues(resumedProblem.innerVariables)).toEqual(
        readValues(straightProblem.innerVariables),
      );
      expect(readValues(resumedProblem.outerVariables)).toEqual(
        readValues(straightProblem.outerVariables),
      );
      expect(resumed.exportState()).toEqual(straight.exportState());
      straight.dispose();
      resumed.dispose();
      straightProblem.dispose();
      resumedProblem.dispose();
    });
  });

  it.each(MODES)('%s keeps the tensor count flat', async (mode) => {
    await useBackend(backend);
    const problem = createToyProblem(25);
    const batches = createToyBatches(35, 2);
    await expectNoLeaks(() => {
      const search = new BilevelSearch(problem, {
        mode,
        inner: { schedule: linear },
        gradientAccumulationSteps: 3,
      });
      const baseline = tf.memory().numTensors;
      for (let pair = 0; pair < 20; pair++) {
        search.step(batches[0] as ToyBatch, batches[1] as ToyBatch);
        expect(tf.memory().numTensors).toBe(baseline);
      }
      search.exportState();
      expect(tf.memory().numTensors).toBe(baseline);
      search.dispose();
    });
    problem.dispose();
  });
});

describe('BilevelSearch', () => {
  it('reports metrics per mode', async () => {
    await useBackend('cpu');
    const problem = createToyProblem(26);
    const [train, val] = createToyBatches(36, 2);
    if (train === undefined || val === undefined) {
      throw new Error('fixture has no batch');
    }
    for (const mode of MODES) {
      const search = new BilevelSearch(problem, {
        mode,
        inner: { schedule: { type: 'linear', warmupSteps: 1, maxSteps: 3 } },
        gradientAccumulationSteps: 2,
      });
      const first = search.step(train, val);
      const second = search.step(train, val);
      expect(first).toMatchObject({
        pair: 1,
        innerStep: 0,
        innerStepTaken: false,
        lr: 0,
        outerLr: 3e-3,
      });
      expect(first.innerGradNorm).toBeUndefined();
      expect(second).toMatchObject({ pair: 2, innerStep: 1, innerStepTaken: true, lr: 0 });
      expect(second.innerGradNorm).toBeGreaterThan(0);
      expect(search.innerLr).toBeCloseTo(3e-4, 12);
      expect(first.vNorm === undefined).toBe(mode === 'first-order');
      search.dispose();
    }
    problem.dispose();
  });

  it('raises on a non-finite loss', async () => {
    await useBackend('cpu');
    const problem = createScalarProblem(1, 2);
    const search = new BilevelSearch(problem, {
      mode: 'first-order',
      inner: { schedule: { type: 'constant' } },
    });
    expect(() => search.step({ y: Number.NaN }, { y: 1 })).toThrow(NumericError);
    expect(() => search.step({ y: Number.NaN }, { y: 1 })).toThrow(/trainLoss is NaN/);
    search.dispose();
    problem.dispose();
  });

  it('rejects a mismatched state', async () => {
    await useBackend('cpu');
    const problem = createToyProblem(27);
    const darts = new BilevelSearch(problem, { mode: 'darts', inner: { schedule: linear } });
    const reference = new BilevelSearch(problem, {
      mode: 'reference',
      inner: { schedule: linear },
    });
    const saved = darts.exportState();
    expect(() => reference.importState(saved)).toThrow(FormatError);
    expect(() => reference.importState(saved)).toThrow(/mode "darts" \(this search: "reference"\)/);

    const { 'outer.v.1': _dropped, ...tensors } = saved.tensors;
    const broken = { ...saved, tensors };
    expect(() => darts.importState(broken)).toThrow(
      /Tensor "outer\.v\.1" is missing from the saved state/,
    );
    expect(darts.pairs).toBe(0);
    darts.dispose();
    reference.dispose();
    problem.dispose();
  });

  it('warns about an ignored option', async () => {
    await useBackend('cpu');
    const problem = createScalarProblem(1, 2);
    const records: LogRecord[] = [];
    const logger = createLogger({ level: 'warn', sink: (record) => records.push(record) });
    const search = new BilevelSearch(problem, {
      mode: 'reference',
      unrolled: 'adamw',
      inner: { schedule: { type: 'constant' } },
      logger,
    });
    expect(records.map((record) => record.message)).toEqual([
      'Option `unrolled` = "adamw" is ignored in mode "reference" because it applies to mode "darts" only.',
    ]);
    search.dispose();
    problem.dispose();
  });

  it('fills in the stage-1 defaults', async () => {
    await useBackend('cpu');
    const problem = createScalarProblem(1, 2);
    const search = new BilevelSearch(problem, {
      inner: { schedule: { type: 'linear', maxSteps: 500 } },
    });
    expect(search.config).toEqual({
      mode: 'darts',
      unrolled: 'sgd',
      inner: {
        lr: 3e-4,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weightDecay: 0,
        schedule: { type: 'linear', warmupSteps: 100, maxSteps: 500 },
        maxGradNorm: 1,
      },
      outer: {
        lr: 3e-3,
        betas: [0.5, 0.999],
        eps: 1e-8,
        weightDecay: 0,
        schedule: { type: 'constant' },
      },
      gradientAccumulationSteps: 1,
      perturbationNorm: 0.01,
    });
    search.dispose();
    problem.dispose();
  });

  const constant = { type: 'constant' } as const;
  it.each<[string, BilevelSearchOptions, RegExp]>([
    [
      'unknown mode',
      { mode: 'darts2' as BilevelMode, inner: { schedule: constant } },
      /`mode`: must be one of "first-order", "darts", "reference", received "darts2"/,
    ],
    [
      'missing schedule',
      {},
      /`inner\.schedule`: is missing\. Pass \{ type: "linear", maxSteps: N \}/,
    ],
    [
      'missing maxSteps',
      { inner: { schedule: { type: 'linear' } as LinearScheduleOptions } },
      /`inner\.schedule\.maxSteps`: is missing/,
    ],
    [
      'negative inner lr',
      { inner: { lr: -1, schedule: constant } },
      /`inner\.lr`: must be >= 0, received -1/,
    ],
    [
      'outer beta of 1',
      { inner: { schedule: constant }, outer: { betas: [1, 0.999] } },
      /`outer\.betas\[0\]`: must be >= 0, < 1, received 1/,
    ],
    [
      'zero clip norm',
      { inner: { schedule: constant, maxGradNorm: 0 } },
      /`inner\.maxGradNorm`: must be > 0, received 0/,
    ],
    [
      'zero accumulation',
      { inner: { schedule: constant }, gradientAccumulationSteps: 0 },
      /`gradientAccumulationSteps`: must be an integer, >= 1, received 0/,
    ],
    [
      'zero perturbation',
      { inner: { schedule: constant }, perturbationNorm: 0 },
      /`perturbationNorm`: must be > 0, received 0/,
    ],
  ])('rejects %s', async (_name, options, message) => {
    await useBackend('cpu');
    const problem = createScalarProblem(1, 2);
    await expectNoLeaks(() => {
      expect(() => new BilevelSearch(problem, options)).toThrow(message);
    });
    problem.dispose();
  });

  it('rejects an invalid problem', async () => {
    await useBackend('cpu');
    const problem = createScalarProblem(1, 2);
    const frozen = tf.tidy(() => tf.variable(tf.scalar(0), false));
    const options = { inner: { schedule: { type: 'constant' } } } as const;
    expect(() => new BilevelSearch({ ...problem, outerVariables: [] }, options)).toThrow(
      /`problem\.outerVariables`: is empty/,
    );
    expect(() => new BilevelSearch({ ...problem, outerVariables: [problem.w] }, options)).toThrow(
      /is already listed in `problem\.innerVariables`/,
    );
    expect(
      () => new BilevelSearch({ ...problem, innerVariables: [problem.w, frozen] }, options),
    ).toThrow(/is not trainable/);
    frozen.dispose();
    problem.dispose();
  });
});
