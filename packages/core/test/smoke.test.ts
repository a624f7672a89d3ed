import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { LoraMoe, Rng } from '../src/index.js';
import type { Router } from '../src/index.js';
import { useBackend } from '../src/testing/index.js';

const denseRouter = (n: number): Router => ({
  id: 'dense', numExperts: n,
  route: (logits) => ({ weights: tf.softmax(logits) as tf.Tensor2D }),
  balanceLoss: () => tf.scalar(0),
});

describe.each(['cpu', 'wasm'] as const)('smoke on %s', (backend) => {
  it('runs a LoRA-MoE forward and gradient', async () => {
    await useBackend(backend);
    const layer = new LoraMoe({ dIn: 6, dOut: 5, ranks: [2, 3], router: denseRouter(2), rng: new Rng(1), init: 'search' });
    const x = tf.randomNormal([4, 6]) as tf.Tensor2D;
    const { value, grads } = tf.variableGrads(() => tf.sum(layer.forward(x, { training: false }).delta) as tf.Scalar);
    expect(Object.keys(grads).length).toBe(3);
    expect(value.dataSync()[0]).not.toBeNaN();
  });
});
