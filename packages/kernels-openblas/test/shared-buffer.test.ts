import { expectNoLeaks, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOpenBlasAddon } from '../src/addon.js';
import { registerOpenBlasKernels, unregisterOpenBlasKernels } from '../src/index.js';

const addon = loadOpenBlasAddon();
const suiteName = addon.available
  ? 'shared-buffer Identity and Cast on wasm'
  : `shared-buffer Identity and Cast on wasm (skipped: ${addon.reason})`;

/** Computes gradients of a loss whose tape saves tensors through Identity and Cast. */
function gradients(): Float32Array[] {
  return tf.tidy(() => {
    const a = tf.tensor2d([0.5, -1.25, 2, 3.5, -0.75, 1], [2, 3]);
    const b = tf.tensor2d([1.5, 2, -0.5, 0.25, 4, -3], [2, 3]);
    const grad = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.div(tf.mul(x, tf.clone(y)), tf.add(tf.square(y), 1))),
    );
    return grad([a, b]).map((g) => g.dataSync() as Float32Array);
  });
}

describe.skipIf(!addon.available)(suiteName, () => {
  beforeEach(async () => {
    await useBackend('wasm');
    unregisterOpenBlasKernels();
    registerOpenBlasKernels({ backends: ['wasm'] });
  });
  afterEach(() => {
    unregisterOpenBlasKernels();
  });

  it('clone outlives its source', async () => {
    await expectNoLeaks(() => {
      const x = tf.tensor1d([1, 2, 3]);
      const copy = tf.clone(x);
      x.dispose();
      expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
      copy.dispose();
    });
  });

  it('clone keeps a variable value across assign', async () => {
    await expectNoLeaks(() => {
      const initial = tf.tensor1d([1, 2, 3]);
      const variable = tf.variable(initial);
      initial.dispose();
      const snapshot = tf.clone(variable);
      tf.tidy(() => variable.assign(tf.tensor1d([7, 8, 9])));
      expect(Array.from(snapshot.dataSync())).toEqual([1, 2, 3]);
      expect(Array.from(variable.dataSync())).toEqual([7, 8, 9]);
      variable.assign(snapshot);
      snapshot.dispose();
      expect(Array.from(variable.dataSync())).toEqual([1, 2, 3]);
      variable.dispose();
    });
  });

  it.each([
    ['float32', [1.5, -2.25], [1.5, -2.25]],
    ['int32', [1.7, -1.7], [1, -1]],
  ] as const)('cast float32 to %s keeps its values', async (dtype, input, expected) => {
    await expectNoLeaks(() => {
      const x = tf.tensor1d([...input]);
      const cast = tf.cast(x, dtype);
      x.dispose();
      expect(cast.dtype).toBe(dtype);
      expect(Array.from(cast.dataSync())).toEqual(expected);
      cast.dispose();
    });
  });

  it('gradients match the stock kernels bit for bit', async () => {
    const shared = gradients();
    unregisterOpenBlasKernels();
    const stock = gradients();
    expect(shared).toEqual(stock);
    await expectNoLeaks(() => {
      gradients();
    });
  });
});
