import type { Rng } from '@guilomo/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../data.js';

/**
 * Draws a batch of `batch × length` token ids uniformly from `[0, vocabSize)`, with every token
 * counted as real (mask all ones), as the PyTorch reference benchmark draws its inputs. The
 * caller disposes the tensors with `disposeBatch`.
 */
export function randomTokenBatch(
  rng: Rng,
  batch: number,
  length: number,
  vocabSize: number,
): Batch {
  const ids = new Int32Array(batch * length);
  for (let i = 0; i < ids.length; i++) {
    ids[i] = rng.nextInt(vocabSize);
  }
  return {
    ids: tf.tensor2d(ids, [batch, length], 'int32'),
    mask: tf.ones([batch, length]),
    tokens: batch * length,
  };
}
