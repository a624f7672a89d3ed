import type { LoraMoeModifiers } from '@guilomo/core';
import type { Tensor1D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { expertMask } from './expert-mask.js';
import type { GsvSet } from './gsv-set.js';
import { rankMaskRows } from './rank-mask.js';

/** Ablation switches of {@link createGsvModifiers}. */
export interface GsvModifierOptions {
  /** Adds the expert mask to the router logits. Default true. */
  readonly useExpertMask?: boolean;
  /** Scales the rank components by the rank masks. Default true. */
  readonly useRankMask?: boolean;
}

/**
 * Connects a GSV set to a LoRA-MoE layer. `routerLogitBias()` returns `expertMask(g)` and
 * `componentScale()` returns the rank masks flattened to `[numExperts · maxRank]`, so expert
 * e's components are `e·r .. e·r + r − 1`, the order in which LoraMoe concatenates experts.
 * The layer must therefore have `numExperts` experts of rank `maxRank` each. A switch set to
 * false leaves its method out.
 *
 * @example
 * const layer = new LoraMoe({ dIn, dOut, ranks: new Array(8).fill(8), router, rng,
 *   modifiers: createGsvModifiers(gsv) });
 */
export function createGsvModifiers(
  gsv: GsvSet,
  options: GsvModifierOptions = {},
): LoraMoeModifiers {
  const modifiers: LoraMoeModifiers = {};
  if (options.useExpertMask ?? true) {
    modifiers.routerLogitBias = () => expertMask(gsv.expert);
  }
  if (options.useRankMask ?? true) {
    const totalRank = gsv.numExperts * gsv.maxRank;
    modifiers.componentScale = () =>
      tf.tidy(() => tf.reshape(rankMaskRows(gsv.ranks), [totalRank]) as Tensor1D);
  }
  return modifiers;
}
