import { leanVariableGrads } from '@guilomo/core';
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/** Loss value and one gradient per requested variable, in the order of the request. */
export interface LossGradients {
  readonly value: Scalar;
  readonly grads: Tensor[];
}

/**
 * Computes `loss()` and its gradients with respect to `variables` with `leanVariableGrads`
 * (the result of `tf.variableGrads` with a lower memory peak), which does not accumulate into
 * earlier results. A variable that the loss does not reach gets a zero gradient. The caller
 * owns the returned tensors.
 */
export function gradientsOf(loss: () => Scalar, variables: readonly Variable[]): LossGradients {
  const { value, grads } = leanVariableGrads(loss, variables);
  const ordered = variables.map((variable) => grads[variable.name] ?? tf.zerosLike(variable));
  return { value, grads: ordered };
}

/**
 * Returns by-value copies of the variables' current values. Tensors in TF.js are immutable and
 * `assign` swaps a variable's buffer, so a clone keeps the old values. The caller owns them.
 */
export function snapshotVariables(variables: readonly Variable[]): Tensor[] {
  return variables.map((variable) => tf.clone(variable));
}

/** Assigns `values[i]` to `variables[i]`. The values are not disposed. */
export function assignVariables(variables: readonly Variable[], values: readonly Tensor[]): void {
  variables.forEach((variable, i) => {
    variable.assign(values[i] as Tensor);
  });
}

/** Assigns `base[i] + scale·direction[i]` to `variables[i]`. `scale` may be a scalar tensor. */
export function assignShifted(
  variables: readonly Variable[],
  base: readonly Tensor[],
  direction: readonly Tensor[],
  scale: Scalar | number,
): void {
  tf.tidy(() => {
    variables.forEach((variable, i) => {
      variable.assign(tf.add(base[i] as Tensor, tf.mul(direction[i] as Tensor, scale)));
    });
  });
}

/** Returns `a[i] + b[i]` for each pair. */
export function addLists(a: readonly Tensor[], b: readonly Tensor[]): Tensor[] {
  return a.map((tensor, i) => tf.add(tensor, b[i] as Tensor));
}

/**
 * Returns the radius `R = perturbationNorm / ‖v‖₂` of the finite-difference perturbation
 * `w ± R·v`, or `perturbationNorm` itself when `‖v‖₂ = 0`, as a scalar tensor.
 */
export function perturbationRadius(vNorm: Scalar, perturbationNorm: number): Scalar {
  return tf.tidy(() => {
    const isZero = tf.equal(vNorm, 0);
    const safeNorm = tf.where(isZero, tf.onesLike(vNorm), vNorm);
    return tf.where(
      isZero,
      tf.scalar(perturbationNorm),
      tf.div(perturbationNorm, safeNorm),
    ) as Scalar;
  });
}
