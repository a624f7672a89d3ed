import type { Rng } from '@guilomo/core';
import { ConfigError, formatValue } from '@guilomo/core';
import type { Variable } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import type { GsvInit } from './gsv-init.js';
import { gsvInitialValues, resolveGsvInit } from './gsv-init.js';

/** Options of {@link createGsvSet}. */
export interface GsvSetOptions {
  /** Maximum expert count of the module, at least 2. */
  readonly numExperts: number;
  /** Maximum rank of every expert, at least 1. */
  readonly maxRank: number;
  /** Initialisation. Default `softmax-normal`. */
  readonly init?: GsvInit;
  /** Seeded generator, required by `softmax-normal`. */
  readonly rng?: Rng;
}

/** The GuidedSelection Vectors of one adapted module. */
export interface GsvSet {
  readonly numExperts: number;
  readonly maxRank: number;
  /** Expert GSV `g [numExperts]`. */
  readonly expert: Variable<tf.Rank.R1>;
  /** Rank GSVs `H [numExperts, maxRank]`. Row e is expert e's `h_e`. */
  readonly ranks: Variable<tf.Rank.R2>;
  /** Both variables in a stable order, keyed `gsv_expert` and `gsv_ranks`. */
  variables(): ReadonlyMap<string, Variable>;
  dispose(): void;
}

/**
 * Creates the trainable GSVs of one module: the expert GSV and one rank GSV per expert, stored
 * as a single `[numExperts, maxRank]` variable so that the rank masks of all experts are one
 * batched op. With `softmax-normal`, the expert GSV is drawn first, then the rank rows in order.
 *
 * @example
 * const gsv = createGsvSet({ numExperts: 8, maxRank: 8, rng: new Rng(0) });
 */
export function createGsvSet(options: GsvSetOptions): GsvSet {
  const { numExperts, maxRank, rng } = options;
  if (!Number.isInteger(numExperts) || numExperts < 2) {
    throw new ConfigError(
      'numExperts',
      `must be an integer >= 2, because the expert mask keeps at least 2 experts, received ${formatValue(numExperts)}.`,
    );
  }
  if (!Number.isInteger(maxRank) || maxRank < 1) {
    throw new ConfigError('maxRank', `must be an integer >= 1, received ${formatValue(maxRank)}.`);
  }
  const init = resolveGsvInit(options.init ?? 'softmax-normal');

  const expertValues = gsvInitialValues(init, numExperts, rng);
  const rankValues = new Float32Array(numExperts * maxRank);
  for (let e = 0; e < numExperts; e++) {
    rankValues.set(gsvInitialValues(init, maxRank, rng), e * maxRank);
  }
  // tidy disposes the initial tensors, and the variables keep their own copy of the data.
  const expert = tf.tidy(() => tf.variable(tf.tensor1d(expertValues)));
  const ranks = tf.tidy(() => tf.variable(tf.tensor2d(rankValues, [numExperts, maxRank])));

  return {
    numExperts,
    maxRank,
    expert,
    ranks,
    variables: () =>
      new Map<string, Variable>([
        ['gsv_expert', expert],
        ['gsv_ranks', ranks],
      ]),
    dispose: () => {
      expert.dispose();
      ranks.dispose();
    },
  };
}
