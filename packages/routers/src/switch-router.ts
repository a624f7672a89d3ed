import type { Router, RouterOptions, RouterPlugin, RoutingResult } from '@guilomo/core';
import { ConfigError, formatValue, PLUGIN_API_VERSION } from '@guilomo/core';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { switchBalanceLoss } from './balance-loss.js';
import { capacityOf } from './capacity.js';
import { checkLogits } from './check-logits.js';
import { withoutGradient } from './no-gradient.js';
import type { BalanceScale } from './options.js';
import { balanceFactor, readBalanceScale, readNumberParam, readRouterParams } from './options.js';
import { routedSlotShare } from './routing-health.js';
import { topKSelectionMask } from './top-k-router.js';

/** `params` of `router:switch`. */
export interface SwitchRouterParams {
  /** Capacity per expert as a multiple of `tokens / experts`. Default 1.25. */
  readonly capacityFactor?: number;
  /** Weight of the router z-loss returned as `auxLoss`. 0 turns it off. Default 1e-3. */
  readonly zLossCoef?: number;
  /** Multiplier of the balance loss. Default `n`. */
  readonly balanceScale?: BalanceScale;
}

interface SwitchConfig {
  readonly numExperts: number;
  readonly capacityFactor: number;
  readonly zLossCoef: number;
  readonly balanceScale: BalanceScale;
}

const ID = 'router:switch';

function resolveSwitchConfig(options: RouterOptions): SwitchConfig {
  const params = readRouterParams(options, ID, ['capacityFactor', 'zLossCoef', 'balanceScale']);
  if (options.topK !== 1) {
    throw new ConfigError(
      'topK',
      `must be 1 for router \`${ID}\`, which routes each token to one expert, received ${formatValue(options.topK)}. Set topK to 1 or pick router:top-k.`,
    );
  }
  return Object.freeze({
    numExperts: options.numExperts,
    capacityFactor: readNumberParam(params, 'capacityFactor', 1.25, { min: 0, minExclusive: true }),
    zLossCoef: readNumberParam(params, 'zLossCoef', 1e-3, { min: 0 }),
    balanceScale: readBalanceScale(params, options.balanceScale),
  });
}

/**
 * Returns the 0/1 mask `[tokens, experts]` of Switch routing: each token's most probable expert
 * (ties: lower index), except that an expert accepts at most `capacity` tokens, taken in token
 * order. The later tokens are dropped and get no expert. The mask carries no gradient.
 */
export function switchCapacityMask(probs: Tensor2D, capacity: number): Tensor2D {
  return withoutGradient(probs, (x) => {
    const numExperts = x.shape[1] as number;
    const chosen = tf.cast(tf.oneHot(tf.argMax(x, 1), numExperts), 'float32');
    // 1-based position of each token in its expert's queue.
    const position = tf.cumsum(chosen, 0);
    return tf.mul(chosen, tf.cast(tf.lessEqual(position, capacity), 'float32')) as Tensor2D;
  });
}

/** Computes the router z-loss: the mean over tokens of `logsumexp(z_t)²`. */
export function routerZLoss(logits: Tensor2D): Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.logSumExp(logits, 1))) as Scalar);
}

function createSwitchRouter(config: SwitchConfig): Router {
  const { numExperts, capacityFactor, zLossCoef } = config;
  const factor = balanceFactor(config.balanceScale, numExperts);
  return {
    id: ID,
    numExperts,
    route(logits: Tensor2D): RoutingResult {
      checkLogits(logits, numExperts, ID);
      const tokens = logits.shape[0];
      const capacity = capacityOf(capacityFactor * tokens, numExperts);
      return tf.tidy(() => {
        const probs = tf.softmax(logits) as Tensor2D;
        const weights = tf.mul(probs, switchCapacityMask(probs, capacity)) as Tensor2D;
        if (zLossCoef === 0) {
          return { weights };
        }
        return { weights, auxLoss: tf.mul(routerZLoss(logits), zLossCoef) as Scalar };
      });
    },
    balanceLoss(logits: Tensor2D): Scalar {
      checkLogits(logits, numExperts, ID);
      // f counts every token's top-1 choice before capacity drops, as Switch Transformer does.
      return tf.tidy(() => {
        const probs = tf.softmax(logits) as Tensor2D;
        return switchBalanceLoss(probs, topKSelectionMask(probs, 1), factor);
      });
    },
    expertShare: routedSlotShare,
  };
}

/**
 * `router:switch`: Switch Transformer routing. Each token goes to its most probable expert,
 * with that probability as weight and no renormalisation. An expert takes at most
 * `ceil(capacityFactor · tokens / experts)` tokens in token order, and later tokens get weight 0
 * on every expert. `route` also returns the router z-loss `zLossCoef · mean_t logsumexp(z_t)²`
 * as `auxLoss`. `topK` must be 1.
 *
 * @example
 * const router = switchRouterPlugin.create({ numExperts: 8, topK: 1, params: { capacityFactor: 1.25 } });
 */
export const switchRouterPlugin: RouterPlugin = {
  kind: 'router',
  name: 'switch',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Top-1 routing with an expert capacity and the router z-loss.',
  create: (options) => createSwitchRouter(resolveSwitchConfig(options)),
};
