import { ShapeError } from '@guilomo/core';
import type { Scalar, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Computes the mean shifted next-token cross-entropy in nats: position t's logits predict
 * token t+1, averaged over the predictions whose target is not padding.
 *
 * The loss is `−Σ onehot(target) ⊙ logSoftmax(logits)` rather than a gather of the target's
 * log-probability, because tf.gather has no gradient on the wasm backend.
 *
 * @param logits `[batch, length, vocab]`.
 * @param ids `[batch, length]` int32, the same tokens the logits were computed from.
 * @param mask `[batch, length]`, 1 for real tokens and 0 for padding. A prediction counts when
 *   its target's mask is 1. Default: every token counts.
 * @returns a scalar, which is 0 when no target counts.
 * @throws ShapeError when the shapes disagree or `length` < 2.
 */
export function nextTokenLoss(logits: Tensor3D, ids: Tensor2D, mask?: Tensor2D): Scalar {
  const [batch, length, vocab] = logits.shape;
  if (logits.rank !== 3 || ids.rank !== 2 || ids.shape[0] !== batch || ids.shape[1] !== length) {
    throw new ShapeError(
      `nextTokenLoss expects logits [batch, length, vocab] and ids [batch, length], received ` +
        `logits [${logits.shape.join(', ')}] and ids [${ids.shape.join(', ')}].`,
    );
  }
  if (mask !== undefined && (mask.shape[0] !== batch || mask.shape[1] !== length)) {
    throw new ShapeError(
      `mask must be [${batch}, ${length}] like ids, received [${mask.shape.join(', ')}].`,
    );
  }
  if (length < 2) {
    throw new ShapeError(`nextTokenLoss needs at least 2 tokens per row, received ${length}.`);
  }
  const predictions = batch * (length - 1);
  return tf.tidy(() => {
    const predictionLogits = tf.reshape(tf.slice(logits, [0, 0, 0], [batch, length - 1, vocab]), [
      predictions,
      vocab,
    ]);
    const targets = tf.reshape(tf.slice(ids, [0, 1], [batch, length - 1]), [predictions]);
    // tfjs-backend-wasm 4.22 writes int32 bit patterns into a float32 oneHot (1 reads as
    // 1.4e-45), so the one-hot is built as int32 and cast.
    const targetOneHot = tf.cast(tf.oneHot(tf.cast(targets, 'int32'), vocab), 'float32');
    const logProbabilities = tf.logSoftmax(predictionLogits);
    const negativeLogLikelihood = tf.neg(tf.sum(tf.mul(targetOneHot, logProbabilities), -1));

    const weights =
      mask === undefined
        ? tf.ones([predictions])
        : tf.reshape(tf.cast(tf.slice(mask, [0, 1], [batch, length - 1]), 'float32'), [
            predictions,
          ]);
    const count = tf.maximum(tf.sum(weights), 1);
    return tf.div(tf.sum(tf.mul(negativeLogLikelihood, weights)), count) as Scalar;
  });
}
