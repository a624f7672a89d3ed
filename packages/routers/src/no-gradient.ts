import type { Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Computes `compute(input)` as a constant of the gradient tape: the result sends a zero
 * gradient back to `input`. TF.js 4.22 has no stop-gradient op, and TopK, ArgMax and the
 * comparison ops have no registered gradient, so every selection mask is built through this
 * wrapper. Ops inside a custom-gradient forward are not recorded on the tape.
 */
export function withoutGradient<T extends Tensor>(input: Tensor, compute: (input: Tensor) => T): T {
  const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as Tensor;
    return { value: compute(x), gradFunc: () => tf.zerosLike(x) };
  });
  return op(input) as T;
}
