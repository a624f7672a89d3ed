import type { AllocationContext } from '@guilomo/core';
import { ConfigError, formatValue, NumericError, ShapeError } from '@guilomo/core';

/** Learned GuidedSelection Vectors of one module, as stored in `AllocationContext.gsv`. */
export interface ModuleGsv {
  /** Expert GSV `[maxExperts]`. */
  readonly expert: Float32Array;
  /** One rank GSV `[maxRank]` per expert, `maxExperts` of them. */
  readonly ranks: readonly Float32Array[];
}

/**
 * Returns the index of the largest entry, the first one on ties. Throws a
 * {@link NumericError} naming `label` when an entry is NaN or infinite.
 */
export function argmaxFirst(values: ArrayLike<number>, label: string): number {
  let best = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!Number.isFinite(value)) {
      throw new NumericError(`${label}[${i}] is ${value}; GSV scores must be finite.`);
    }
    if (value > (values[best] as number)) {
      best = i;
    }
  }
  return best;
}

/** Expert count chosen by an expert GSV: `max(minExperts, argmax(g) + 1)`. */
export function expertCountFromGsv(
  expert: ArrayLike<number>,
  minExperts: number,
  label: string,
): number {
  return Math.max(minExperts, argmaxFirst(expert, label) + 1);
}

/** Rank chosen by a rank GSV: `argmax(h) + 1`. */
export function rankFromGsv(rank: ArrayLike<number>, label: string): number {
  return argmaxFirst(rank, label) + 1;
}

/**
 * Returns the GSVs of module `path` after checking their shapes against the context: the expert
 * GSV has `maxExperts` entries and each of the `maxExperts` rank GSVs has `maxRank` entries.
 * Throws naming the module when the context has no GSVs for it.
 */
export function moduleGsv(context: AllocationContext, path: string, policyId: string): ModuleGsv {
  if (context.gsv === undefined) {
    throw new ConfigError(
      `${policyId}: context.gsv`,
      'is missing. Pass the GSV scores learned in the search stage, keyed by module path.',
    );
  }
  const gsv = context.gsv.get(path);
  if (gsv === undefined) {
    throw new ConfigError(
      `${policyId}: context.gsv`,
      `has no GSVs for module ${formatValue(path)}. Every module of context.modules needs an expert GSV and rank GSVs.`,
    );
  }
  checkGsvShape(gsv, path, context.maxExperts, context.maxRank);
  return gsv;
}

/** Throws a {@link ShapeError} naming the module when a GSV length differs from the limits. */
export function checkGsvShape(
  gsv: ModuleGsv,
  path: string,
  maxExperts: number,
  maxRank: number,
): void {
  if (gsv.expert.length !== maxExperts) {
    throw new ShapeError(
      `Expert GSV of module ${formatValue(path)} has ${gsv.expert.length} entries; expected maxExperts = ${maxExperts}.`,
    );
  }
  if (gsv.ranks.length !== maxExperts) {
    throw new ShapeError(
      `Module ${formatValue(path)} has ${gsv.ranks.length} rank GSVs; expected one per expert, maxExperts = ${maxExperts}.`,
    );
  }
  gsv.ranks.forEach((rank, e) => {
    if (rank.length !== maxRank) {
      throw new ShapeError(
        `Rank GSV ${e} of module ${formatValue(path)} has ${rank.length} entries; expected maxRank = ${maxRank}.`,
      );
    }
  });
}
