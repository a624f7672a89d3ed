import { Rng } from '@guilomo/core';
import type { Scalar, Variable } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import type { BilevelProblem } from '../src/index.js';

/** Inputs `[n, 3]` and targets `[n, 2]` of the toy regression. */
export interface ToyBatch {
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly rows: number;
}

/** A toy problem with its own variables, and a dispose for them. */
export interface ToyProblem extends BilevelProblem<ToyBatch> {
  readonly inner: { readonly weight: Variable; readonly bias: Variable };
  readonly outer: { readonly gate: Variable; readonly rowScale: Variable };
  dispose(): void;
}

/**
 * Builds a small nonlinear bilevel problem in which α and w interact:
 *
 *     L(x, y; W, b, a, s) = mean((tanh(x·W + b) ⊙ softplus(a) − y)²) + 0.2·Σ (sigmoid(s) ⊙ W²)
 *
 * with inner w = (W [3,2], b [2]) and outer α = (a [2], s [3], broadcast over W's rows).
 * The same seed always gives the same initial values.
 */
export function createToyProblem(seed: number): ToyProblem {
  const rng = new Rng(seed);
  const weight = tf.tidy(() => tf.variable(tf.tensor2d(rng.normalArray(6, 0, 0.8), [3, 2]), true));
  const bias = tf.tidy(() => tf.variable(tf.tensor1d(rng.normalArray(2, 0, 0.3)), true));
  const gate = tf.tidy(() => tf.variable(tf.tensor1d(rng.normalArray(2, 0.5, 0.3)), true));
  const rowScale = tf.tidy(() => tf.variable(tf.tensor1d(rng.normalArray(3, 0, 0.5)), true));
  const loss = (batch: ToyBatch): Scalar =>
    tf.tidy(() => {
      const x = tf.tensor2d(batch.x, [batch.rows, 3]);
      const y = tf.tensor2d(batch.y, [batch.rows, 2]);
      const hidden = tf.tanh(tf.add(tf.matMul(x, weight), bias));
      const prediction = tf.mul(hidden, tf.softplus(gate));
      const dataLoss = tf.mean(tf.square(tf.sub(prediction, y)));
      const rowWeights = tf.reshape(tf.sigmoid(rowScale), [3, 1]);
      const penalty = tf.mul(tf.sum(tf.mul(rowWeights, tf.square(weight))), 0.2);
      return tf.add(dataLoss, penalty) as Scalar;
    });
  return {
    innerVariables: [weight, bias],
    outerVariables: [gate, rowScale],
    inner: { weight, bias },
    outer: { gate, rowScale },
    loss,
    dispose: () => tf.dispose([weight, bias, gate, rowScale]),
  };
}

/** Makes `count` batches of `rows` examples from a fixed seed. */
export function createToyBatches(seed: number, count: number, rows = 4): ToyBatch[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => ({
    x: rng.normalArray(rows * 3),
    y: rng.normalArray(rows * 2, 0, 0.7),
    rows,
  }));
}

/** Target of the scalar problem `L = ½·(α·w − y)²`. */
export interface ScalarBatch {
  readonly y: number;
}

/** The scalar problem `L = ½·(α·w − y)²` with scalar variables `w` (inner) and `α` (outer). */
export interface ScalarProblem extends BilevelProblem<ScalarBatch> {
  readonly w: Variable;
  readonly alpha: Variable;
  dispose(): void;
}

export function createScalarProblem(w0: number, alpha0: number): ScalarProblem {
  const w = tf.tidy(() => tf.variable(tf.scalar(w0), true));
  const alpha = tf.tidy(() => tf.variable(tf.scalar(alpha0), true));
  return {
    w,
    alpha,
    innerVariables: [w],
    outerVariables: [alpha],
    loss: (batch) =>
      tf.tidy(() => tf.mul(tf.square(tf.sub(tf.mul(alpha, w), batch.y)), 0.5) as Scalar),
    dispose: () => tf.dispose([w, alpha]),
  };
}

/** Reads the values of `variables` as plain arrays (copies). */
export function readValues(variables: readonly tf.Tensor[]): number[][] {
  return variables.map((variable) => Array.from(variable.dataSync()));
}
