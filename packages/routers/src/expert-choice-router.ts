import type { Router, RouterOptions, RouterPlugin, RoutingResult } from '@guilomo/core';
import { PLUGIN_API_VERSION } from '@guilomo/core';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { capacityOf } from './capacity.js';
import { checkLogits } from './check-logits.js';
import { withoutGradient } from './no-gradient.js';
import { readNumberParam, readRouterParams, readTopK } from './options.js';
import { routedSlotShare } from './routing-health.js';
import { scatterRows } from './row-ops.js';

/** `params` of `router:expert-choice`. */
export interface ExpertChoiceRouterParams {
  /** Tokens per expert as a multiple of `tokens · topK / experts`. Default 1. */
  readonly capacityFactor?: number;
}

interface ExpertChoiceConfig {
  readonly numExperts: number;
  readonly topK: number;
  readonly capacityFactor: number;
}

const ID = 'router:expert-choice';

function resolveExpertChoiceConfig(options: RouterOptions): ExpertChoiceConfig {
  const params = readRouterParams(options, ID, ['capacityFactor']);
  return Object.freeze({
    numExperts: options.numExperts,
    topK: readTopK(options),
    capacityFactor: readNumberParam(params, 'capacityFactor', 1, { min: 0, minExclusive: true }),
  });
}

/**
 * Returns the number of tokens each expert picks: `ceil(capacityFactor · tokens · topK /
 * experts)`, at most `tokens`.
 */
export function expertChoiceCapacity(
  tokens: number,
  numExperts: number,
  topK: number,
  capacityFactor: number,
): number {
  return Math.min(tokens, capacityOf(capacityFactor * tokens * topK, numExperts));
}

/**
 * Returns the 0/1 mask `[tokens, experts]` where column e marks the `capacity` tokens with the
 * largest probability for expert e (ties: lower token index first). One batched tf.topk over
 * the transposed probabilities serves all experts. The mask carries no gradient.
 */
export function expertChoiceMask(probs: Tensor2D, capacity: number): Tensor2D {
  return withoutGradient(probs, (x) => {
    const tokens = x.shape[0] as number;
    const numExperts = x.shape[1] as number;
    const { indices } = tf.topk(tf.transpose(x), capacity);
    const picked = scatterRows(indices as Tensor2D, tf.ones([numExperts, capacity]), tokens);
    return tf.transpose(picked) as Tensor2D;
  });
}

function createExpertChoiceRouter(config: ExpertChoiceConfig): Router {
  const { numExperts, topK, capacityFactor } = config;
  return {
    id: ID,
    numExperts,
    route(logits: Tensor2D): RoutingResult {
      checkLogits(logits, numExperts, ID);
      const capacity = expertChoiceCapacity(logits.shape[0], numExperts, topK, capacityFactor);
      const weights = tf.tidy(() => {
        const probs = tf.softmax(logits) as Tensor2D;
        return tf.mul(probs, expertChoiceMask(probs, capacity)) as Tensor2D;
      });
      return { weights };
    },
    // Every expert takes exactly `capacity` tokens, so the load is balanced by construction.
    balanceLoss(logits: Tensor2D): Scalar {
      checkLogits(logits, numExperts, ID);
      return tf.scalar(0);
    },
    expertShare: routedSlotShare,
  };
}

/**
 * `router:expert-choice`: each expert picks the `ceil(capacityFactor · tokens · topK / experts)`
 * tokens with the largest softmax probability for it, with that probability as weight. A token
 * can get any number of experts, including none, so its weights do not sum to 1. The balance
 * loss is the constant 0 because the load is equal by construction. Which experts a token gets
 * depends on the other tokens of the batch, so this router is not causal.
 *
 * @example
 * const router = expertChoiceRouterPlugin.create({ numExperts: 8, topK: 2 });
 */
export const expertChoiceRouterPlugin: RouterPlugin = {
  kind: 'router',
  name: 'expert-choice',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Each expert picks its top tokens by probability; balanced by construction.',
  create: (options) => createExpertChoiceRouter(resolveExpertChoiceConfig(options)),
};
