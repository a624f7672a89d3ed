import type { ProjectionName } from '@guilomo/core';
import { matMulConst } from '@guilomo/core';
import type { Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { addSameShape } from './add-same-shape.js';
import type { RopeBatchTables, RotaryEmbedding } from './rope.js';

/**
 * Additive score bias of masked positions. Large and finite, so that a row whose keys are all
 * masked (a padding query) still gives a finite softmax instead of NaN.
 */
const MASKED_SCORE = -1e9;

/** Constants of one attention call, shared by every layer of a forward pass. */
export interface AttentionSetup {
  readonly batch: number;
  readonly length: number;
  readonly numHeads: number;
  readonly headSize: number;
  readonly queryRope: RotaryEmbedding;
  readonly keyRope: RotaryEmbedding;
  /** `queryRope`'s cos and sin tables for this batch and length. */
  readonly queryTables: RopeBatchTables;
  /** `keyRope`'s cos and sin tables for this batch and length. */
  readonly keyTables: RopeBatchTables;
  /**
   * Constant `[kvDim, dim]` 0/1 matrix that copies each key/value head to the query heads of
   * its group. Undefined when every query head has its own key/value head.
   */
  readonly kvRepeat: Tensor2D | undefined;
  /** Additive causal and padding bias `[batch · numHeads, length, length]`. */
  readonly scoreBias: Tensor3D;
}

/** Applies a projection, adapter included, to a `[tokens, dIn]` input. */
export type ProjectFn = (projection: ProjectionName, input: Tensor2D) => Tensor2D;

/**
 * Builds the `[kvDim, dim]` matrix that repeats key/value heads for grouped-query attention:
 * query head h reads key/value head ⌊h / groupSize⌋, as llama2.c does.
 */
export function kvRepeatMatrix(numKvHeads: number, groupSize: number, headSize: number): Tensor2D {
  const kvDim = numKvHeads * headSize;
  const dim = kvDim * groupSize;
  const values = new Float32Array(kvDim * dim);
  for (let head = 0; head < numKvHeads * groupSize; head++) {
    const kvHead = Math.floor(head / groupSize);
    for (let j = 0; j < headSize; j++) {
      values[(kvHead * headSize + j) * dim + head * headSize + j] = 1;
    }
  }
  return tf.tensor2d(values, [kvDim, dim]);
}

/**
 * Builds the additive attention bias `[batch · numHeads, length, length]`: 0 where query t may
 * attend key s (s ≤ t and key s is not padding), {@link MASKED_SCORE} elsewhere.
 *
 * @param keyMask row-major `[batch, length]`, 1 for real tokens and 0 for padding. Undefined
 *   means no padding.
 */
export function attentionScoreBias(
  batch: number,
  numHeads: number,
  length: number,
  keyMask: ArrayLike<number> | undefined,
): Tensor3D {
  const block = length * length;
  const values = new Float32Array(batch * numHeads * block);
  // One [length, length] block per batch row, copied to each of its heads.
  for (let b = 0; b < batch; b++) {
    const base = b * numHeads * block;
    if (b === 0 || keyMask !== undefined) {
      for (let t = 0; t < length; t++) {
        for (let s = 0; s < length; s++) {
          const masked = s > t || (keyMask !== undefined && keyMask[b * length + s] === 0);
          values[base + t * length + s] = masked ? MASKED_SCORE : 0;
        }
      }
    } else {
      values.copyWithin(base, 0, block);
    }
    for (let head = 1; head < numHeads; head++) {
      values.copyWithin(base + head * block, base, base + block);
    }
  }
  return tf.tensor3d(values, [batch * numHeads, length, length]);
}

/** `[batch · length, heads · headSize]` to `[batch · heads, length, headSize]`. */
function splitHeads(x: Tensor2D, setup: AttentionSetup): Tensor3D {
  const { batch, length, numHeads, headSize } = setup;
  const grouped = tf.reshape(x, [batch, length, numHeads, headSize]);
  const headsFirst = tf.transpose(grouped, [0, 2, 1, 3]);
  return tf.reshape(headsFirst, [batch * numHeads, length, headSize]);
}

/** `[batch · heads, length, headSize]` to `[batch · length, heads · headSize]`. */
function mergeHeads(x: Tensor3D, setup: AttentionSetup): Tensor2D {
  const { batch, length, numHeads, headSize } = setup;
  const grouped = tf.reshape(x, [batch, numHeads, length, headSize]);
  const positionsFirst = tf.transpose(grouped, [0, 2, 1, 3]);
  return tf.reshape(positionsFirst, [batch * length, numHeads * headSize]);
}

/**
 * Causal multi-head self-attention with RoPE and grouped-query key/value heads, on a normed
 * input `[batch · length, dim]`.
 *
 * The score and context products are batched `[batch · heads, length, length]` matMuls. Their
 * gradients use TF.js's BatchMatMul gradient, which runs on wasm but off its fast path.
 *
 * Call it inside a `tf.tidy` scope. It opens none itself, because the adapters' router
 * outputs created by `project` must outlive this call.
 */
export function selfAttention(x: Tensor2D, project: ProjectFn, setup: AttentionSetup): Tensor2D {
  const { batch, length, headSize } = setup;
  const query = setup.queryRope.apply(project('q', x), batch, length, setup.queryTables);
  let key = setup.keyRope.apply(project('k', x), batch, length, setup.keyTables);
  let value = project('v', x);
  if (setup.kvRepeat !== undefined) {
    key = matMulConst(key, setup.kvRepeat);
    value = matMulConst(value, setup.kvRepeat);
  }

  const queryHeads = tf.mul(splitHeads(query, setup), 1 / Math.sqrt(headSize)) as Tensor3D;
  const keyHeads = splitHeads(key, setup);
  const valueHeads = splitHeads(value, setup);
  const scores = addSameShape(
    tf.matMul(queryHeads, keyHeads, false, true) as Tensor3D,
    setup.scoreBias,
  );
  const probabilities = tf.softmax(scores) as Tensor3D;
  const context = tf.matMul(probabilities, valueHeads) as Tensor3D;

  return project('o', mergeHeads(context, setup));
}
