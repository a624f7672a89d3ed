import { ShapeError } from '@guilomo/core';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { checkVector } from './expert-mask.js';

/** Rank-mask value of removed components: a soft floor, so they still leak slightly. */
export const RANK_FLOOR = 1e-4;

/**
 * Rank mask from the sigmoid scores `u`, with the custom backward of GuiLoMo's search. The
 * forward picks `k = argmax(u)` (first index on ties, no forcing) and returns 1 for `i ≤ k` and
 * 1e-4 after. The backward sends `Σ_{i≤k} G_i · u_i` to index k and `1e-4 · G_j` to every
 * other index j.
 */
const rankMaskOp = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
  const [scores, save] = args as [Tensor1D, tf.GradSaveFunc];
  const size = scores.shape[0];
  const selected = tf.argMax(scores);
  const positions = tf.range(0, size, 1, 'int32');
  save([scores, selected]);
  return {
    value: tf.where(
      tf.lessEqual(positions, selected),
      tf.ones([size]),
      tf.fill([size], RANK_FLOOR),
    ),
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [savedScores, savedSelected] = saved as [Tensor1D, Tensor];
      const atSelected = tf.equal(tf.range(0, size, 1, 'int32'), savedSelected);
      return tf.where(atSelected, tf.cumsum(tf.mul(dy, savedScores)), tf.mul(dy, RANK_FLOOR));
    },
  };
}) as (scores: Tensor1D) => Tensor1D;

/**
 * Row-wise rank mask of scores `U [experts, rank]`: each row follows the rule of
 * {@link rankMaskOp} with its own argmax. The ops are batched over rows.
 */
const rankMaskRowsOp = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
  const [scores, save] = args as [Tensor2D, tf.GradSaveFunc];
  const [rows, size] = scores.shape;
  const selected = tf.reshape(tf.argMax(scores, 1), [rows, 1]);
  const positions = tf.reshape(tf.range(0, size, 1, 'int32'), [1, size]);
  save([scores, selected]);
  return {
    value: tf.where(
      tf.lessEqual(tf.tile(positions, [rows, 1]), selected),
      tf.ones([rows, size]),
      tf.fill([rows, size], RANK_FLOOR),
    ),
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [savedScores, savedSelected] = saved as [Tensor2D, Tensor];
      // The forward's tensors are disposed by now, so the positions are built again.
      const columns = tf.tile(tf.reshape(tf.range(0, size, 1, 'int32'), [1, size]), [rows, 1]);
      const atSelected = tf.equal(columns, savedSelected);
      return tf.where(atSelected, tf.cumsum(tf.mul(dy, savedScores), 1), tf.mul(dy, RANK_FLOOR));
    },
  };
}) as (scores: Tensor2D) => Tensor2D;

/**
 * Computes the multiplicative rank mask `ν [rank]` from sigmoid scores `u = sigmoid(h)`. This is
 * the custom-gradient part of {@link rankMask}, exposed so that `∂L/∂u` can be tested.
 */
export function rankMaskFromScores(scores: Tensor1D): Tensor1D {
  checkVector(scores, 1, 'rank GSV scores');
  return rankMaskOp(scores);
}

/**
 * Computes the multiplicative rank mask of one rank GSV `h [rank]`: 1 on the prefix of kept
 * components `0..k` and 1e-4 on the rest, with `k = argmax(sigmoid(h))`. Gradient:
 * `∂L/∂u_k = Σ_{i≤k} G_i · u_i`, `∂L/∂u_j = 1e-4 · G_j` for j ≠ k, then through the sigmoid.
 * Reads no tensor back to JavaScript.
 *
 * @example
 * const nu = rankMask(h); // [8], scales the rank components of one expert
 */
export function rankMask(h: Tensor1D): Tensor1D {
  checkVector(h, 1, 'rank GSV');
  return tf.tidy(() => rankMaskOp(tf.sigmoid(h) as Tensor1D));
}

/**
 * Computes the rank masks of all experts at once from the rank GSVs `H [experts, rank]`. Row e
 * equals `rankMask(H[e])` in value and gradient.
 *
 * @example
 * const masks = rankMaskRows(gsv.ranks); // [8, 8]
 */
export function rankMaskRows(h: Tensor2D): Tensor2D {
  if (h.rank !== 2 || h.shape[0] < 1 || h.shape[1] < 1) {
    throw new ShapeError(
      `The rank GSVs must be a non-empty matrix [experts, rank], received shape [${h.shape.join(', ')}].`,
    );
  }
  if (h.dtype !== 'float32') {
    throw new ShapeError(`The rank GSVs must be float32, received ${h.dtype}.`);
  }
  return tf.tidy(() => rankMaskRowsOp(tf.sigmoid(h) as Tensor2D));
}
