import type { Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';

/**
 * Applies inverted dropout to `x` with the same result as `tf.dropout(x, rate, undefined, seed)`
 * in TF.js 4.22, bit for bit.
 *
 * tf.dropout draws a uniform tensor from seedrandom's Alea generator seeded with
 * `String(seed)`, then runs add, floor, div and mul kernels. This draws the same numbers from
 * the same generator (seedrandom 3.0.5, the version TF.js 4.22 bundles) and turns each into
 * its multiplier in the same loop, so only the final mul runs as a kernel. Each float32 step
 * matches: JavaScript rounds `u + keep` and `1 / keep` from double precision, which gives the
 * correctly rounded float32 result for one addition or division of float32 values. Without a
 * seed, with `rate` 0, or for a dtype other than float32, it calls tf.dropout.
 */
export function seededDropout<T extends Tensor>(x: T, rate: number, seed: number | undefined): T {
  if (seed === undefined || rate === 0 || x.dtype !== 'float32') {
    return tf.dropout(x, rate, undefined, seed) as T;
  }
  if (!(rate > 0 && rate < 1)) {
    throw new RangeError(`Dropout rate must be in [0, 1), received ${rate}.`);
  }
  const keep = Math.fround(1 - rate);
  const scale = Math.fround(1 / keep);
  const random = seedrandom.alea(String(seed));
  const multiplier = new Float32Array(x.size);
  for (let i = 0; i < multiplier.length; i++) {
    // tf.dropout's mask is floor(u + keep) with u and the sum rounded to float32; the sum is
    // below 2, so the floor is 1 exactly when the rounded sum reaches 1.
    multiplier[i] = Math.fround(Math.fround(random()) + keep) >= 1 ? scale : 0;
  }
  return tf.tidy(() => tf.mul(x, tf.tensor(multiplier, x.shape, 'float32'))) as T;
}
