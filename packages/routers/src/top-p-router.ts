import type { Router, RouterOptions, RouterPlugin, RoutingResult } from '@guilomo/core';
import { PLUGIN_API_VERSION } from '@guilomo/core';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { switchBalanceLoss } from './balance-loss.js';
import { checkLogits } from './check-logits.js';
import { withoutGradient } from './no-gradient.js';
import type { BalanceScale } from './options.js';
import { balanceFactor, readBalanceScale, readNumberParam, readRouterParams } from './options.js';
import { routedSlotShare } from './routing-health.js';
import { normalizeRows, scatterRows } from './row-ops.js';

/** `params` of `router:top-p`. */
export interface TopPRouterParams {
  /** Cumulative-probability threshold in (0, 1]. Default 0.75. */
  readonly p?: number;
  /** Upper bound on the experts kept per token. Default: all experts. */
  readonly maxExperts?: number;
  /** Multiplier of the balance loss. Default `n`. */
  readonly balanceScale?: BalanceScale;
}

interface TopPConfig {
  readonly numExperts: number;
  readonly p: number;
  readonly maxExperts: number;
  readonly balanceScale: BalanceScale;
}

const ID = 'router:top-p';

function resolveTopPConfig(options: RouterOptions): TopPConfig {
  const params = readRouterParams(options, ID, ['p', 'maxExperts', 'balanceScale']);
  const { numExperts } = options;
  return Object.freeze({
    numExperts,
    p: readNumberParam(params, 'p', 0.75, { min: 0, minExclusive: true, max: 1 }),
    maxExperts: readNumberParam(params, 'maxExperts', numExperts, {
      min: 1,
      max: numExperts,
      integer: true,
    }),
    balanceScale: readBalanceScale(params, options.balanceScale),
  });
}

/**
 * Returns a 0/1 mask `[rows, experts]` of the experts that top-p routing keeps. Each row is
 * sorted by descending probability (ties: lower index first) and keeps the experts up to and
 * including the first one whose cumulative probability is strictly greater than `p`, at most
 * `maxExperts` of them. An expert whose cumulative probability equals `p` exactly does not stop
 * the selection. The mask carries no gradient.
 */
export function topPSelectionMask(probs: Tensor2D, p: number, maxExperts: number): Tensor2D {
  return withoutGradient(probs, (x) => {
    const numExperts = x.shape[1] as number;
    const { values, indices } = tf.topk(x, numExperts);
    // Expert j is kept when the probability mass sorted before it is still <= p.
    const massBefore = tf.cumsum(values, 1, true);
    let keep: tf.Tensor = tf.cast(tf.lessEqual(massBefore, p), 'float32');
    if (maxExperts < numExperts) {
      const positionLimit = tf.cast(
        tf.less(tf.range(0, numExperts, 1, 'int32'), maxExperts),
        'float32',
      );
      keep = tf.mul(keep, positionLimit);
    }
    return scatterRows(indices as Tensor2D, keep as Tensor2D, numExperts);
  });
}

function createTopPRouter(config: TopPConfig): Router {
  const { numExperts, p, maxExperts } = config;
  const factor = balanceFactor(config.balanceScale, numExperts);
  return {
    id: ID,
    numExperts,
    route(logits: Tensor2D): RoutingResult {
      checkLogits(logits, numExperts, ID);
      const weights = tf.tidy(() => {
        const probs = tf.softmax(logits) as Tensor2D;
        const mask = topPSelectionMask(probs, p, maxExperts);
        return normalizeRows(tf.mul(probs, mask) as Tensor2D);
      });
      return { weights };
    },
    balanceLoss(logits: Tensor2D): Scalar {
      checkLogits(logits, numExperts, ID);
      return tf.tidy(() => {
        const probs = tf.softmax(logits) as Tensor2D;
        return switchBalanceLoss(probs, topPSelectionMask(probs, p, maxExperts), factor);
      });
    },
    expertShare: routedSlotShare,
  };
}

/**
 * `router:top-p`: the dynamic rule of MoE-PEFT. Softmax over all experts, keep the most
 * probable experts until their cumulative probability exceeds `p`, and renormalise over the
 * kept ones. The number of experts per token varies from 1 to `maxExperts`. The `topK` option
 * is not used. Balance loss: Switch's `factor · Σ f_i · P̄_i` with `f` counted over the kept
 * experts.
 *
 * @example
 * const router = topPRouterPlugin.create({ numExperts: 8, topK: 2, params: { p: 0.75 } });
 */
export const topPRouterPlugin: RouterPlugin = {
  kind: 'router',
  name: 'top-p',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Experts kept until their cumulative probability exceeds p, then renormalised.',
  create: (options) => createTopPRouter(resolveTopPConfig(options)),
};
