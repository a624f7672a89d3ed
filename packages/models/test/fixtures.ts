import { fileURLToPath } from 'node:url';
import type { LinearAdapter, LoraInit, ModuleInfo, Router } from '@guilomo/core';
import { LoraMoe, Rng } from '@guilomo/core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/** Reference files shared by the repository's tests, outside this repository's root. */
const sharedModels = new URL('../../../../shared/models/', import.meta.url);

export const BABYLLAMA_CHECKPOINT = fileURLToPath(
  new URL('babyllama-tok105/model5000.bin', sharedModels),
);
export const BABYLLAMA_TOKENIZER = fileURLToPath(
  new URL('babyllama-tok105/tok105.bin', sharedModels),
);
export const TINYSTORIES_TOK512 = fileURLToPath(
  new URL('tokenizer-tinystories-tok512/tok512.bin', sharedModels),
);
export const AIDREAMS_CHECKPOINT = fileURLToPath(
  new URL('aidreams260K/aidreams260K.bin', sharedModels),
);
export const AIDREAMS_TOKENIZER = fileURLToPath(new URL('aidreams260K/tok512.bin', sharedModels));

/** The opening of BabyLlama's greedy continuation of BOS. */
export const BABYLLAMA_GREEDY_TEXT =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.';

/** Dense softmax router: every expert gets its softmax weight. */
export function softmaxRouter(numExperts: number): Router {
  return {
    id: 'test:softmax',
    numExperts,
    route: (logits) => ({ weights: tf.softmax(logits) as Tensor2D }),
    balanceLoss: () => tf.scalar(0),
  };
}

/** Creates a two-expert LoRA-MoE (ranks 2 and 3) on every module, keyed by path. */
export function loraMoeAdapters(
  modules: readonly ModuleInfo[],
  init: LoraInit,
  seed = 7,
): Map<string, LinearAdapter> {
  const rng = new Rng(seed);
  const adapters = new Map<string, LinearAdapter>();
  for (const module of modules) {
    adapters.set(
      module.path,
      new LoraMoe({
        dIn: module.dIn,
        dOut: module.dOut,
        ranks: [2, 3],
        router: softmaxRouter(2),
        init,
        dropout: 0,
        rng: rng.fork(),
      }),
    );
  }
  return adapters;
}

/** Disposes every adapter of a map. */
export function disposeAdapters(adapters: ReadonlyMap<string, LinearAdapter>): void {
  for (const adapter of adapters.values()) {
    adapter.dispose();
  }
}
