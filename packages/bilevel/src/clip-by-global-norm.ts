import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/** Returns the L2 norm of all `tensors` taken together, as a scalar tensor. */
export function globalNorm(tensors: readonly Tensor[]): Scalar {
  return tf.tidy(() => {
    const squares = tensors.map((tensor) => tf.sum(tf.square(tensor)));
    return tf.sqrt(tf.addN(squares)) as Scalar;
  });
}

/** Gradients after {@link clipByGlobalNorm}, with the norm measured before clipping. */
export interface ClippedGradients {
  readonly grads: Tensor[];
  readonly norm: Scalar;
}

/**
 * Scales `grads` so that their global L2 norm is at most `maxNorm`, as
 * `torch.nn.utils.clip_grad_norm_` does: the factor is `min(1, maxNorm / (norm + 1e-6))`.
 * The factor stays a tensor, so clipping reads no data back from the backend. The caller owns
 * the returned tensors and keeps ownership of the inputs.
 */
export function clipByGlobalNorm(grads: readonly Tensor[], maxNorm: number): ClippedGradients {
  const result = tf.tidy(() => {
    const norm = globalNorm(grads);
    const factor = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    return [norm, ...grads.map((grad) => tf.mul(grad, factor))];
  });
  const [norm, ...clipped] = result;
  return { grads: clipped, norm: norm as Scalar };
}
