import { ShapeError } from '@guilomo/core';
import type { Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

const addOp = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
  const [a, b] = args as [Tensor, Tensor];
  const shape = a.shape;
  return {
    value: tf.add(a, b),
    // Reshape gives each input its own tensor object over dy's buffer, without a copy.
    gradFunc: (dy: Tensor) => [tf.reshape(dy, shape), tf.reshape(dy, shape)],
  };
}) as (a: Tensor, b: Tensor) => Tensor;

/**
 * Computes `a + b` for two tensors of the same shape. The result equals tf.add, and so does the
 * gradient: `dy` for both inputs. Unlike tf.add, it keeps neither input alive for the backward
 * pass. TF.js's Add gradient saves both inputs only to read their shapes, which held every
 * projection output and attention score tensor of a forward pass until the backward pass ended.
 *
 * @throws ShapeError when the shapes differ; use tf.add to broadcast.
 */
export function addSameShape<T extends Tensor>(a: T, b: Tensor): T {
  if (a.rank !== b.rank || a.shape.some((dim, axis) => dim !== b.shape[axis])) {
    throw new ShapeError(
      `addSameShape expects equal shapes, received [${a.shape.join(', ')}] and [${b.shape.join(', ')}].`,
    );
  }
  return addOp(a, b) as T;
}
