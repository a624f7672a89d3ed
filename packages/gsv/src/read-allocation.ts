import { NumericError, ShapeError } from '@guilomo/core';
import type { GsvSet } from './gsv-set.js';

/** Expert count and per-expert ranks read from the GSVs of one module. */
export interface GsvAllocation {
  /** `max(2, argmax(g) + 1)`, in [2, numExperts]. */
  readonly experts: number;
  /**
   * `argmax(h_e) + 1` for every expert e, masked ones included. Only the first `experts`
   * entries are used, because the active experts are a prefix.
   */
  readonly ranks: readonly number[];
}

/**
 * Reads the allocation from raw GSV values: `expert [numExperts]` and `ranks` row-major
 * `[numExperts, maxRank]`. The argmax is taken on the raw values with the first index on ties.
 * NOTE: the masks take the argmax of sigmoid(·). The two differ only when float32 sigmoid rounds
 * two different entries to the same value (entries a few ulps apart, or both above about 17):
 * the mask then picks the lower index, and this function the larger raw value.
 */
export function allocationFromValues(
  expert: ArrayLike<number>,
  ranks: ArrayLike<number>,
  maxRank: number,
): GsvAllocation {
  const numExperts = expert.length;
  if (ranks.length !== numExperts * maxRank) {
    throw new ShapeError(
      `Rank GSV values have ${ranks.length} entries, expected numExperts · maxRank = ${numExperts} · ${maxRank} = ${numExperts * maxRank}.`,
    );
  }
  const experts = Math.max(2, firstArgMax(expert, 0, numExperts, 'expert GSV') + 1);
  const expertRanks = Array.from(
    { length: numExperts },
    (_, e) => firstArgMax(ranks, e * maxRank, maxRank, `rank GSV of expert ${e}`) + 1,
  );
  return { experts, ranks: expertRanks };
}

/** Reads the allocation of a GSV set from its variables. Reads both back synchronously. */
export function readAllocation(gsv: GsvSet): GsvAllocation {
  return allocationFromValues(gsv.expert.dataSync(), gsv.ranks.dataSync(), gsv.maxRank);
}

function firstArgMax(
  values: ArrayLike<number>,
  start: number,
  length: number,
  vectorName: string,
): number {
  let best = 0;
  for (let i = 0; i < length; i++) {
    const value = values[start + i] as number;
    if (!Number.isFinite(value)) {
      throw new NumericError(`The ${vectorName} has a non-finite value ${value} at index ${i}.`);
    }
    if (value > (values[start + best] as number)) {
      best = i;
    }
  }
  return best;
}
