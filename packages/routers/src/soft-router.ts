import type { Router, RouterOptions, RouterPlugin, RoutingResult } from '@guilomo/core';
import { PLUGIN_API_VERSION } from '@guilomo/core';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { checkLogits } from './check-logits.js';
import type { BalanceScale } from './options.js';
import { balanceFactor, readBalanceScale, readRouterParams } from './options.js';
import { routedSlotShare } from './routing-health.js';

/** `params` of `router:soft`. */
export interface SoftRouterParams {
  /** Multiplier of the balance loss. Default `n`. */
  readonly balanceScale?: BalanceScale;
}

interface SoftConfig {
  readonly numExperts: number;
  readonly balanceScale: BalanceScale;
}

const ID = 'router:soft';

function resolveSoftConfig(options: RouterOptions): SoftConfig {
  const params = readRouterParams(options, ID, ['balanceScale']);
  return Object.freeze({
    numExperts: options.numExperts,
    balanceScale: readBalanceScale(params, options.balanceScale),
  });
}

/**
 * Computes the dense balance loss `factor · Σ_i P̄_i²`, where `P̄` is the mean softmax
 * probability per expert. This is Switch's `Σ f_i · P̄_i` with the slot share `f` replaced by
 * `P̄`, because a dense router has no discrete selection to count. Both factors are
 * differentiable. The minimum, `factor / experts`, is reached when the mean routing is uniform.
 */
export function softBalanceLoss(probs: Tensor2D, factor: number): Scalar {
  return tf.tidy(() => {
    const meanProbs = tf.mean(probs, 0);
    return tf.mul(tf.sum(tf.square(meanProbs)), factor) as Scalar;
  });
}

function createSoftRouter(config: SoftConfig): Router {
  const { numExperts } = config;
  const factor = balanceFactor(config.balanceScale, numExperts);
  return {
    id: ID,
    numExperts,
    route(logits: Tensor2D): RoutingResult {
      checkLogits(logits, numExperts, ID);
      return { weights: tf.softmax(logits) as Tensor2D };
    },
    balanceLoss(logits: Tensor2D): Scalar {
      checkLogits(logits, numExperts, ID);
      return tf.tidy(() => softBalanceLoss(tf.softmax(logits) as Tensor2D, factor));
    },
    expertShare: routedSlotShare,
  };
}

/**
 * `router:soft`: dense routing in the style of LoRAMoE. Every expert gets its softmax
 * probability as weight, so the weights of a token sum to 1. The `topK` option is not used.
 * Balance loss: `factor · Σ_i P̄_i²` (see {@link softBalanceLoss}).
 *
 * @example
 * const router = softRouterPlugin.create({ numExperts: 4, topK: 4 });
 */
export const softRouterPlugin: RouterPlugin = {
  kind: 'router',
  name: 'soft',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Dense softmax weights over all experts, with a mean-probability balance loss.',
  create: (options) => createSoftRouter(resolveSoftConfig(options)),
};
