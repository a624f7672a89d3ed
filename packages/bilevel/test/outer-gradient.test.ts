import { expectClose, expectNoLeaks, useBackend } from '@guilomo/core/testing';
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { BilevelProblem } from '../src/index.js';
import {
  AdamW,
  dartsOuterGradient,
  disposeOuterGradient,
  firstOrderOuterGradient,
} from '../src/index.js';
import {
  createScalarProblem,
  createToyBatches,
  createToyProblem,
  readValues,
} from './toy-problem.js';

/** Returns the validation loss after one SGD step of size `eta` on the training loss: the one-step objective. */
function oneStepValLoss<B>(problem: BilevelProblem<B>, train: B, val: B, eta: number): number {
  const inner = problem.innerVariables;
  return tf.tidy(() => {
    const saved = inner.map((variable) => tf.clone(variable));
    const { grads } = tf.variableGrads(() => problem.loss(train), [...inner]);
    inner.forEach((variable) => {
      variable.assign(tf.sub(variable, tf.mul(grads[variable.name] as Tensor, eta)));
    });
    const value = problem.loss(val).dataSync()[0] as number;
    inner.forEach((variable, i) => {
      variable.assign(saved[i] as Tensor);
    });
    return value;
  });
}

/** Computes central differences of the one-step objective over every element of every outer variable. */
function finiteDifferenceHypergradient<B>(
  problem: BilevelProblem<B>,
  train: B,
  val: B,
  eta: number,
): number[][] {
  const step = 1e-2;
  return problem.outerVariables.map((variable: Variable) => {
    const base = Array.from(variable.dataSync());
    const evaluateAt = (values: number[]): number => {
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
      return oneStepValLoss(problem, train, val, eta);
    };
    const result = base.map((_, i) => {
      const plus = [...base];
      const minus = [...base];
      plus[i] = (plus[i] as number) + step;
      minus[i] = (minus[i] as number) - step;
      return (evaluateAt(plus) - evaluateAt(minus)) / (2 * step);
    });
    tf.tidy(() => variable.assign(tf.tensor(base, variable.shape)));
    return result;
  });
}

describe.each(['cpu', 'wasm'] as const)('outer gradients on %s', (backend) => {
  it('first-order equals the validation gradient', async () => {
    await useBackend(backend);
    const problem = createToyProblem(3);
    const [, val] = createToyBatches(11, 2);
    if (val === undefined) {
      throw new Error('fixture has no batch');
    }
    await expectNoLeaks(() => {
      const before = readValues(problem.innerVariables);
      const gradient = firstOrderOuterGradient(problem, val);
      const expected = tf.variableGrads(() => problem.loss(val), [...problem.outerVariables]);
      problem.outerVariables.forEach((variable, i) => {
        expectClose(gradient.grads[i] as Tensor, expected.grads[variable.name] as Tensor, 'exact');
      });
      expectClose(gradient.valLoss, expected.value, 'exact');
      expect(gradient.vNorm).toBeUndefined();
      expect(readValues(problem.innerVariables)).toEqual(before);
      disposeOuterGradient(gradient);
      tf.dispose([expected.value, ...Object.values(expected.grads)]);
    });
    problem.dispose();
  });

  it('darts matches one-step finite differences', async () => {
    await useBackend(backend);
    const problem = createToyProblem(5);
    const [train, val] = createToyBatches(13, 2);
    if (train === undefined || val === undefined) {
      throw new Error('fixture has no batch');
    }
    const eta = 1;
    await expectNoLeaks(() => {
      const reference = finiteDifferenceHypergradient(problem, train, val, eta);
      const gradient = dartsOuterGradient(problem, train, val, { eta });
      problem.outerVariables.forEach((_, i) => {
        expectClose(gradient.grads[i] as Tensor, reference[i] as number[], 'finiteDifference');
      });

      // The second-order term must matter here, or this test could not tell darts from
      // first-order: ∇_α L_val at w' alone has to miss the reference by more than the tolerance.
      const firstOrderOnly = tf.tidy(() => {
        const inner = problem.innerVariables;
        const saved = inner.map((variable) => tf.clone(variable));
        const { grads } = tf.variableGrads(() => problem.loss(train), [...inner]);
        for (const variable of inner) {
          variable.assign(tf.sub(variable, tf.mul(grads[variable.name] as Tensor, eta)));
        }
        const result = firstOrderOuterGradient(problem, val);
        inner.forEach((variable, i) => {
          variable.assign(saved[i] as Tensor);
        });
        return [result.valLoss, ...result.grads];
      });
      expect(() =>
        expectClose(firstOrderOnly[1] as Tensor, reference[0] as number[], 'finiteDifference'),
      ).toThrow(/Values differ/);
      expectClose(gradient.valLoss, firstOrderOnly[0] as Tensor, 'exact');

      disposeOuterGradient(gradient);
      tf.dispose(firstOrderOnly);
    });
    problem.dispose();
  });

  it('darts matches the hand derivation on a scalar', async () => {
    await useBackend(backend);
    // L(w, α; y) = ½(αw − y)², w = 1, α = 2, train y = 1, validation y = 3, η = 0.1.
    //   ∇_w L_train = α(αw − 1) = 2, so w' = 1 − 0.1·2 = 0.8
    //   at w': αw' − 3 = −1.4, v = ∇_w L_val = α·(−1.4) = −2.8, ∇_α L_val = w'·(−1.4) = −1.12
    //   ∇_α L_train = αw² − w is quadratic in w, so the central difference along v is exact:
    //   [∇_α L_train(w+) − ∇_α L_train(w−)] / (2R) = (2αw − 1)·v = 3·(−2.8) = −8.4
    //   dα = −1.12 − 0.1·(−8.4) = −0.28
    // Direct check: h(α) = ½(α·w'(α) − 3)² with w'(α) = 1 − 0.1·α(α − 1), so
    //   h'(α) = (αw' − 3)·(w' + α·w'') with w'' = −0.1(2α − 1) = −0.3: −1.4·(0.8 − 0.6) = −0.28.
    const problem = createScalarProblem(1, 2);
    await expectNoLeaks(() => {
      const gradient = dartsOuterGradient(problem, { y: 1 }, { y: 3 }, { eta: 0.1 });
      expectClose(gradient.grads[0] as Tensor, [-0.28], 'testVector');
      expectClose(gradient.vNorm as Scalar, [2.8], 'testVector');
      expectClose(gradient.valLoss, [0.98], 'testVector');
      expect(readValues([problem.w, problem.alpha])).toEqual([[1], [2]]);
      disposeOuterGradient(gradient);
    });
    problem.dispose();
  });

  it('darts restores weights and optimiser state', async () => {
    await useBackend(backend);
    const problem = createToyProblem(7);
    const [first, train, val] = createToyBatches(17, 3);
    if (first === undefined || train === undefined || val === undefined) {
      throw new Error('fixture has no batch');
    }
    await expectNoLeaks(() => {
      const optimizer = new AdamW(problem.innerVariables, { lr: 0.01, weightDecay: 0 });
      const warmUp = tf.variableGrads(() => problem.loss(first), [...problem.innerVariables]);
      optimizer.step(
        problem.innerVariables.map((variable) => warmUp.grads[variable.name] as Tensor),
      );
      tf.dispose([warmUp.value, ...Object.values(warmUp.grads)]);

      const weightsBefore = readValues(problem.innerVariables);
      const stateBefore = optimizer.exportState();
      for (const unrolled of ['sgd', 'adamw'] as const) {
        const gradient = dartsOuterGradient(problem, train, val, {
          eta: 0.05,
          unrolled,
          innerOptimizer: optimizer,
        });
        disposeOuterGradient(gradient);
        expect(readValues(problem.innerVariables)).toEqual(weightsBefore);
        expect(optimizer.exportState()).toEqual(stateBefore);
      }
      optimizer.dispose();
    });
    problem.dispose();
  });

  it('darts adamw step evaluates at AdamW weights', async () => {
    await useBackend(backend);
    const problem = createToyProblem(9);
    const [train, val] = createToyBatches(19, 2);
    if (train === undefined || val === undefined) {
      throw new Error('fixture has no batch');
    }
    await expectNoLeaks(() => {
      const optimizer = new AdamW(problem.innerVariables, { lr: 0.05, weightDecay: 0.01 });
      const gradient = dartsOuterGradient(problem, train, val, {
        eta: 0.05,
        unrolled: 'adamw',
        innerOptimizer: optimizer,
      });

      // Same virtual step by hand: a fresh AdamW step of size 0.05, then the validation loss.
      const expected = tf.tidy(() => {
        const saved = problem.innerVariables.map((variable) => tf.clone(variable));
        const shadow = new AdamW(problem.innerVariables, { lr: 0.05, weightDecay: 0.01 });
        const { grads } = tf.variableGrads(() => problem.loss(train), [...problem.innerVariables]);
        shadow.step(problem.innerVariables.map((variable) => grads[variable.name] as Tensor));
        shadow.dispose();
        const loss = problem.loss(val);
        problem.innerVariables.forEach((variable, i) => {
          variable.assign(saved[i] as Tensor);
        });
        return loss;
      });
      expectClose(gradient.valLoss, expected, 'exact');
      expect(optimizer.stepCount).toBe(0);
      disposeOuterGradient(gradient);
      expected.dispose();
      optimizer.dispose();
    });
    problem.dispose();
  });

  it('darts adamw step requires an optimiser', async () => {
    await useBackend(backend);
    const problem = createScalarProblem(1, 2);
    expect(() =>
      dartsOuterGradient(problem, { y: 1 }, { y: 3 }, { eta: 0.1, unrolled: 'adamw' }),
    ).toThrow(/`innerOptimizer`: is required when `unrolled` is "adamw"/);
    problem.dispose();
  });
});
