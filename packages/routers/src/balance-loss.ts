import type { Scalar, Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Computes Switch Transformer's load-balance loss `factor · Σ_i f_i · P̄_i` for one group of
 * rows. `f_i` is expert i's share of the selected slots in `selection [rows, experts]` (a 0/1
 * mask that carries no gradient) and `P̄_i` is the mean of `probs [rows, experts]` over rows,
 * so the gradient flows through `P̄` only.
 */
export function switchBalanceLoss(probs: Tensor2D, selection: Tensor2D, factor: number): Scalar {
  return tf.tidy(() => {
    const counts = tf.sum(selection, 0);
    const slotShare = tf.div(counts, tf.sum(counts));
    const meanProbs = tf.mean(probs, 0);
    return tf.mul(tf.sum(tf.mul(slotShare, meanProbs)), factor) as Scalar;
  });
}
