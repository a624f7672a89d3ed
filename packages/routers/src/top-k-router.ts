import type { Router, RouterOptions, RouterPlugin, RoutingResult } from '@guilomo/core';
import { PLUGIN_API_VERSION } from '@guilomo/core';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { switchBalanceLoss } from './balance-loss.js';
import { checkLogits } from './check-logits.js';
import { withoutGradient } from './no-gradient.js';
import type { BalanceScale } from './options.js';
import { balanceFactor, readBalanceScale, readRouterParams, readTopK } from './options.js';
import { routedSlotShare } from './routing-health.js';
import { normalizeRows } from './row-ops.js';

/** `params` of `router:top-k`. */
export interface TopKRouterParams {
  /** Multiplier of the balance loss. Default `n`. */
  readonly balanceScale?: BalanceScale;
}

interface TopKConfig {
  readonly numExperts: number;
  readonly topK: number;
  readonly balanceScale: BalanceScale;
}

const ID = 'router:top-k';

function resolveTopKConfig(options: RouterOptions): TopKConfig {
  const params = readRouterParams(options, ID, ['balanceScale']);
  return Object.freeze({
    numExperts: options.numExperts,
    topK: readTopK(options),
    balanceScale: readBalanceScale(params, options.balanceScale),
  });
}

/**
 * Returns a 0/1 mask `[rows, experts]` with a 1 on the `k` largest entries of each row of
 * `probs`. On equal values tf.topk puts the lower index first, so among tied experts the
 * lower indices are selected. The mask carries no gradient.
 */
export function topKSelectionMask(probs: Tensor2D, k: number): Tensor2D {
  return withoutGradient(probs, (x) => {
    const { indices } = tf.topk(x, k);
    const numExperts = x.shape[1] as number;
    return tf.cast(tf.sum(tf.oneHot(indices, numExperts), 1), 'float32') as Tensor2D;
  });
}

function createTopKRouter(config: TopKConfig): Router {
  const { numExperts, topK } = config;
  const factor = balanceFactor(config.balanceScale, numExperts);
  return {
    id: ID,
    numExperts,
    route(logits: Tensor2D): RoutingResult {
      checkLogits(logits, numExperts, ID);
      const weights = tf.tidy(() => {
        const probs = tf.softmax(logits) as Tensor2D;
        const mask = topKSelectionMask(probs, topK);
        return normalizeRows(tf.mul(probs, mask) as Tensor2D);
      });
      return { weights };
    },
    balanceLoss(logits: Tensor2D): Scalar {
      checkLogits(logits, numExperts, ID);
      return tf.tidy(() => {
        const probs = tf.softmax(logits) as Tensor2D;
        return switchBalanceLoss(probs, topKSelectionMask(probs, topK), factor);
      });
    },
    expertShare: routedSlotShare,
  };
}

/**
 * `router:top-k`: softmax over all experts in float32, the `topK` largest probabilities kept
 * and renormalised to sum to 1, all other weights exactly 0. Gradients reach the logits
 * through the selected probabilities only. Balance loss: Switch Transformer's
 * `factor · Σ f_i · P̄_i` over the top-k selections.
 *
 * @example
 * const router = topKRouterPlugin.create({ numExperts: 8, topK: 2 });
 * const { weights } = router.route(logits, { training: true });
 */
export const topKRouterPlugin: RouterPlugin = {
  kind: 'router',
  name: 'top-k',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Softmax, top-k selection and renormalised weights, with the Switch balance loss.',
  create: (options) => createTopKRouter(resolveTopKConfig(options)),
};
