import type { Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { fillDropoutMultipliers } from './dropout-mask.js';
import { recycleDropoutMask, takePrefetchedDropoutMask } from './dropout-prefetch.js';

/**
 * Applies inverted dropout to `x` with the same result as `tf.dropout(x, rate, undefined, seed)`
 * in TF.js 4.22, bit for bit.
 *
 * tf.dropout draws a uniform tensor from seedrandom's Alea generator, then runs add, floor, div
 * and mul kernels. This draws the same numbers from the same generator (seedrandom 3.0.5, the
 * version TF.js 4.22 bundles) and turns each into its multiplier in one loop, so only the final
 * mul runs as a kernel. When a prefetch worker has already drawn this mask (see
 * `prefetchDropoutMasks`), it takes that one instead. Without a seed, with `rate` 0, or for a
 * dtype other than float32, it calls tf.dropout.
 */
export function seededDropout<T extends Tensor>(x: T, rate: number, seed: number | undefined): T {
  if (seed === undefined || rate === 0 || x.dtype !== 'float32') {
    return tf.dropout(x, rate, undefined, seed) as T;
  }
  if (!(rate > 0 && rate < 1)) {
    throw new RangeError(`Dropout rate must be in [0, 1), received ${rate}.`);
  }
  const prefetched = takePrefetchedDropoutMask(seed, x.size, rate);
  const multiplier = prefetched ?? new Float32Array(x.size);
  if (prefetched === undefined) {
    fillDropoutMultipliers(multiplier, rate, seed);
  }
  const maskTensor = tf.tensor(multiplier, x.shape, 'float32');
  if (prefetched !== undefined && tf.getBackend() === 'wasm') {
    // The wasm backend copied the values into its heap, so the shared buffer is free again.
    // NOTE: other backends may keep a reference to the array, so their buffers are not reused.
    recycleDropoutMask(prefetched);
  }
  return tf.tidy(() => {
    const out = tf.mul(x, maskTensor);
    maskTensor.dispose();
    return out;
  }) as T;
}
