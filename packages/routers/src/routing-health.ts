import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/** Summary of how evenly one batch was routed. */
export interface RoutingHealth {
  /** Largest share of routed slots taken by one expert: in [1 / experts, 1], or 0 if none. */
  readonly maxExpertShare: number;
  /** Entropy of the routed-slot share in nats: ln(experts) when balanced, 0 when collapsed. */
  readonly entropy: number;
}

/**
 * Returns each expert's share of the routed (token, expert) slots `[experts]`, where a slot is
 * routed when its weight is non-zero. The shares sum to 1, or are all 0 when no slot is routed.
 */
export function routedSlotShare(weights: Tensor2D): Tensor1D {
  return tf.tidy(() => {
    const counts = tf.sum(tf.cast(tf.notEqual(weights, 0), 'float32'), 0);
    return tf.divNoNan(counts, tf.sum(counts)) as Tensor1D;
  });
}

/** Computes the maximum share and the entropy (nats) of a per-expert share vector. */
export function summarizeExpertShare(share: ArrayLike<number>): RoutingHealth {
  let maxExpertShare = 0;
  let entropy = 0;
  for (let i = 0; i < share.length; i++) {
    const value = share[i] as number;
    maxExpertShare = Math.max(maxExpertShare, value);
    if (value > 0) {
      entropy -= value * Math.log(value);
    }
  }
  return { maxExpertShare, entropy };
}

/**
 * Measures the routing balance of one batch of weights `[tokens, experts]` from the routed-slot
 * share of {@link routedSlotShare}. Reads the share back synchronously.
 */
export function routingHealth(weights: Tensor2D): RoutingHealth {
  const share = routedSlotShare(weights);
  const values = share.dataSync();
  share.dispose();
  return summarizeExpertShare(values);
}
