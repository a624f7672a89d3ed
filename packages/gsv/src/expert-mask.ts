import { ShapeError } from '@guilomo/core';
import type { Tensor, Tensor1D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/** Mask value added to the router logits of active experts. It cancels inside the softmax. */
export const ACTIVE_EXPERT_BIAS = 0.5;
/** Mask value added to the router logits of masked experts: their softmax probability is 0. */
export const MASKED_EXPERT_BIAS = -1e4;

/**
 * Expert mask from the sigmoid scores `s`, with the custom backward of GuiLoMo's search. The
 * forward picks `k = argmax(s)` (first index on ties), raised to 1 when it is 0 so that at
 * least two experts stay active, and returns `+0.5` for `i ≤ k` and `-1e4` after. The backward
 * sends `Σ_{i≤k} G_i · s_i` to index k only, where G is the incoming gradient.
 */
const expertMaskOp = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
  const [scores, save] = args as [Tensor1D, tf.GradSaveFunc];
  const size = scores.shape[0];
  const selected = tf.maximum(tf.argMax(scores), tf.scalar(1, 'int32'));
  const positions = tf.range(0, size, 1, 'int32');
  save([scores, selected]);
  return {
    value: tf.where(
      tf.lessEqual(positions, selected),
      tf.fill([size], ACTIVE_EXPERT_BIAS),
      tf.fill([size], MASKED_EXPERT_BIAS),
    ),
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [savedScores, savedSelected] = saved as [Tensor1D, Tensor];
      const atSelected = tf.cast(tf.oneHot(savedSelected, size), 'float32');
      return tf.mul(atSelected, tf.cumsum(tf.mul(dy, savedScores)));
    },
  };
}) as (scores: Tensor1D) => Tensor1D;

/**
 * Computes the additive expert mask `μ [experts]` from sigmoid scores `s = sigmoid(g)`. This is
 * the custom-gradient part of {@link expertMask}, exposed so that `∂L/∂s` can be tested.
 */
export function expertMaskFromScores(scores: Tensor1D): Tensor1D {
  checkVector(scores, 2, 'expert GSV scores');
  return expertMaskOp(scores);
}

/**
 * Computes the additive router-logit mask of an expert GSV `g [experts]`: `+0.5` on the prefix
 * of active experts `0..k` and `-1e4` on the rest, with `k = max(1, argmax(sigmoid(g)))`.
 * Gradient: only `g_k` receives one, `(Σ_{i≤k} G_i · s_i) · s_k · (1 − s_k)`. Reads no tensor
 * back to JavaScript, in the forward or the backward pass.
 *
 * @example
 * const mu = expertMask(gsv.expert); // [8], add to router logits [tokens, 8]
 */
export function expertMask(g: Tensor1D): Tensor1D {
  checkVector(g, 2, 'expert GSV');
  return tf.tidy(() => expertMaskOp(tf.sigmoid(g) as Tensor1D));
}

/** Throws unless `vector` is a float32 rank-1 tensor with at least `minLength` entries. */
export function checkVector(vector: Tensor, minLength: number, vectorName: string): void {
  if (vector.rank !== 1 || (vector.shape[0] as number) < minLength) {
    throw new ShapeError(
      `The ${vectorName} must be a vector of length >= ${minLength}, received shape [${vector.shape.join(', ')}].`,
    );
  }
  if (vector.dtype !== 'float32') {
    throw new ShapeError(`The ${vectorName} must be float32, received ${vector.dtype}.`);
  }
}
