import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fillDropoutMultipliers } from '../src/dropout-mask.js';
import { recycleDropoutMask, takePrefetchedDropoutMask } from '../src/dropout-prefetch.js';
import {
  isDropoutPrefetchActive,
  pendingDropoutMaskCount,
  prefetchDropoutMasks,
  Rng,
  seededDropout,
  setDropoutPrefetch,
} from '../src/index.js';
import { expectNoLeaks, useBackend } from '../src/testing/index.js';

function inlineMask(size: number, rate: number, seed: number): Float32Array {
  const values = new Float32Array(size);
  fillDropoutMultipliers(values, rate, seed);
  return values;
}

describe('dropout prefetch', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  beforeEach(() => {
    setDropoutPrefetch(true);
  });

  afterEach(() => {
    setDropoutPrefetch(false);
  });

  it('is active only while turned on', () => {
    expect(isDropoutPrefetchActive()).toBe(true);
    setDropoutPrefetch(false);
    expect(isDropoutPrefetchActive()).toBe(false);
  });

  it.each([
    [1000, 0.05, 0],
    [4096, 0.1, 4294967295],
    [7, 0.5, 12345],
  ])('draws the inline mask of size %i, rate %f, seed %i', (size, rate, seed) => {
    prefetchDropoutMasks([{ seed, size, rate }]);
    const prefetched = takePrefetchedDropoutMask(seed, size, rate);
    expect(prefetched).toBeDefined();
    expect(prefetched).toEqual(inlineMask(size, rate, seed));
  });

  it('serves the masks of several requests in order', () => {
    const requests = [
      { seed: 1, size: 300, rate: 0.05 },
      { seed: 2, size: 500, rate: 0.05 },
      { seed: 3, size: 300, rate: 0.2 },
    ];
    prefetchDropoutMasks(requests);
    expect(pendingDropoutMaskCount()).toBe(3);
    for (const { seed, size, rate } of requests) {
      expect(takePrefetchedDropoutMask(seed, size, rate)).toEqual(inlineMask(size, rate, seed));
    }
    expect(pendingDropoutMaskCount()).toBe(0);
  });

  it('drops masks that an earlier pass did not take', () => {
    prefetchDropoutMasks([{ seed: 1, size: 64, rate: 0.05 }]);
    prefetchDropoutMasks([{ seed: 2, size: 64, rate: 0.05 }]);
    expect(takePrefetchedDropoutMask(1, 64, 0.05)).toBeUndefined();
    expect(takePrefetchedDropoutMask(2, 64, 0.05)).toEqual(inlineMask(64, 0.05, 2));
  });

  it('skips requests with an invalid rate or size', () => {
    prefetchDropoutMasks([
      { seed: 1, size: 64, rate: 0 },
      { seed: 1, size: 0, rate: 0.05 },
      { seed: 1, size: 2.5, rate: 0.05 },
    ]);
    expect(pendingDropoutMaskCount()).toBe(0);
  });

  it('reuses a recycled buffer for a request of its size', () => {
    prefetchDropoutMasks([{ seed: 5, size: 256, rate: 0.05 }]);
    const first = takePrefetchedDropoutMask(5, 256, 0.05) as Float32Array;
    recycleDropoutMask(first);
    prefetchDropoutMasks([{ seed: 6, size: 256, rate: 0.05 }]);
    const second = takePrefetchedDropoutMask(6, 256, 0.05) as Float32Array;
    expect(second.buffer).toBe(first.buffer);
    expect(second).toEqual(inlineMask(256, 0.05, 6));
  });

  it('gives seededDropout the same result as tf.dropout', async () => {
    await expectNoLeaks(() => {
      const x = tf.tensor2d(new Rng(4).normalArray(64 * 48), [64, 48]);
      prefetchDropoutMasks([{ seed: 9, size: x.size, rate: 0.05 }]);
      const ours = seededDropout(x, 0.05, 9);
      expect(pendingDropoutMaskCount()).toBe(0);
      const stock = tf.dropout(x, 0.05, undefined, 9);
      expect(ours.dataSync()).toEqual(stock.dataSync());
      tf.dispose([x, ours, stock]);
    });
  });

  it('does nothing while turned off', () => {
    setDropoutPrefetch(false);
    prefetchDropoutMasks([{ seed: 1, size: 64, rate: 0.05 }]);
    expect(pendingDropoutMaskCount()).toBe(0);
    expect(takePrefetchedDropoutMask(1, 64, 0.05)).toBeUndefined();
  });
});
