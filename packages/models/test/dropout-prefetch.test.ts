import type { LinearAdapter } from '@guilomo/core';
import { LoraMoe, pendingDropoutMaskCount, Rng, setDropoutPrefetch } from '@guilomo/core';
import { expectNoLeaks, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlamaModel } from '../src/index.js';
import { createRandomLlamaModel } from '../src/index.js';
import { softmaxRouter } from './fixtures.js';

describe('training forward with dropout prefetch', () => {
  let model: LlamaModel;
  let adapters: Map<string, LinearAdapter>;

  beforeAll(async () => {
    await useBackend('wasm');
    model = createRandomLlamaModel(
      {
        dim: 32,
        hiddenDim: 48,
        numLayers: 2,
        numHeads: 4,
        numKvHeads: 2,
        vocabSize: 40,
        seqLen: 16,
      },
      3,
    );
    const rng = new Rng(5);
    adapters = new Map();
    for (const module of model.listModules()) {
      adapters.set(
        module.path,
        new LoraMoe({
          dIn: module.dIn,
          dOut: module.dOut,
          ranks: [2, 3],
          router: softmaxRouter(2),
          init: 'search',
          dropout: 0.1,
          rng: rng.fork(),
        }),
      );
    }
  });

  afterAll(() => {
    setDropoutPrefetch(false);
    for (const adapter of adapters.values()) {
      adapter.dispose();
    }
    model.dispose();
  });

  it('gives the logits of inline dropout and takes every mask', async () => {
    await expectNoLeaks(() => {
      const ids = tf.tensor2d(
        [
          [1, 5, 9, 3, 7, 2],
          [4, 4, 8, 1, 0, 6],
        ],
        undefined,
        'int32',
      );
      const run = () => {
        const output = model.forward(ids, { adapters, training: true, dropoutSeed: 17 });
        const logits = output.logits.dataSync().slice();
        tf.dispose([
          output.logits,
          ...output.routerLogits.values(),
          ...output.routingWeights.values(),
        ]);
        return logits;
      };
      setDropoutPrefetch(false);
      const inline = run();
      setDropoutPrefetch(true);
      const prefetched = run();
      expect(pendingDropoutMaskCount()).toBe(0);
      expect(prefetched).toEqual(inline);
      ids.dispose();
    });
  });
});
