import type { Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Scatters `values [rows, c]` into a zero `[rows, depth]` tensor at columns
 * `indices [rows, c]` of the same row. scatterND sums duplicate (row, column) pairs, so callers
 * pass distinct columns per row, such as the indices of tf.topk.
 */
export function scatterRows(indices: Tensor2D, values: Tensor2D, depth: number): Tensor2D {
  return tf.tidy(() => {
    const [rows, width] = indices.shape;
    const rowIds = tf.tile(tf.reshape(tf.range(0, rows, 1, 'int32'), [rows, 1]), [1, width]);
    const coordinates = tf.reshape(tf.stack([rowIds, indices], 2), [rows * width, 2]);
    return tf.scatterND(coordinates, tf.reshape(values, [rows * width]), [rows, depth]);
  });
}

/**
 * Divides each row by its sum, so the selected weights of a token sum to 1. An all-zero row
 * would give NaN. Top-k and top-p masks always keep a row's largest softmax entry, which is at
 * least 1 / experts, so their rows are never all zero.
 */
export function normalizeRows(weights: Tensor2D): Tensor2D {
  return tf.tidy(() => tf.div(weights, tf.sum(weights, 1, true)) as Tensor2D);
}
