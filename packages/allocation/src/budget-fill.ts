import { ConfigError } from '@guilomo/core';
import { compareModulePaths } from './module-path.js';
import { moduleParameterCount } from './parameter-count.js';

/** Target experts and ranks of one module for {@link fillBudget}. */
export interface BudgetTarget {
  readonly path: string;
  readonly dIn: number;
  readonly dOut: number;
  /** Experts with an index below this are first-tier; the others are filled only afterwards. */
  readonly preferredExperts: number;
  /** Target rank of each first-tier expert, the weight of its rank components. */
  readonly targetRanks: readonly number[];
}

/** Bounds that hold for every module of a budget fill. */
export interface BudgetLimits {
  readonly minExperts: number;
  readonly minRank: number;
  readonly maxExperts: number;
  readonly maxRank: number;
}

/** Result of {@link fillBudget}: the ranks of each module, aligned with the targets. */
export interface BudgetFill {
  readonly ranks: readonly (readonly number[])[];
  readonly parameters: number;
}

interface Unit {
  readonly module: number;
  readonly expert: number;
  readonly tier: number;
  /** Priority numerator: the target rank of the expert (1 for second-tier experts). */
  readonly weight: number;
  /** Priority denominator: the expert's rank after the unit is added. */
  readonly rankAfter: number;
  readonly cost: number;
}

/** Parameters of the smallest allocation the limits allow: `minExperts` experts of `minRank`. */
export function minimumParameters(targets: readonly BudgetTarget[], limits: BudgetLimits): number {
  const ranks = new Array<number>(limits.minExperts).fill(limits.minRank);
  return targets.reduce((sum, t) => sum + moduleParameterCount(ranks, t.dIn, t.dOut), 0);
}

/** Parameters of the largest allocation the limits allow: `maxExperts` experts of `maxRank`. */
export function maximumParameters(targets: readonly BudgetTarget[], limits: BudgetLimits): number {
  const ranks = new Array<number>(limits.maxExperts).fill(limits.maxRank);
  return targets.reduce((sum, t) => sum + moduleParameterCount(ranks, t.dIn, t.dOut), 0);
}

/**
 * Fills a parameter budget greedily. Every module starts with `minExperts` experts of rank
 * `minRank`. Then, while some unit still fits in the remaining budget, the best fitting unit is
 * added. A unit is one rank component for an existing expert (cost `dIn + dOut`), or a new
 * expert at index E (the next one, so experts stay a prefix) with rank `minRank` (cost
 * `dIn + minRank·(dIn + dOut)`, router row included). Units are ranked by:
 *
 * 1. tier: units of experts below `preferredExperts` come before all others.
 * 2. priority `w_e / r'`, where `w_e` is the expert's target rank (1 in the second tier) and r' its
 *    rank after the unit. This is highest-averages (D'Hondt) apportionment with the target ranks
 *    as votes, so the final ranks are close to one common multiple of the targets.
 * 3. ties: the lowest module path in {@link compareModulePaths} order, then the lowest expert
 *    index.
 *
 * Priorities are compared by integer cross-multiplication, so ties are exact. When no unit fits,
 * the unused budget is smaller than the cheapest remaining unit, and so smaller than the largest
 * new-expert cost `max_m (dIn + minRank·(dIn + dOut))`.
 *
 * Throws a {@link ConfigError} on `field` when the budget cannot hold the minimum allocation
 * or exceeds the maximum one.
 */
export function fillBudget(
  targets: readonly BudgetTarget[],
  budget: number,
  limits: BudgetLimits,
  field = 'budget',
): BudgetFill {
  const minimum = minimumParameters(targets, limits);
  if (minimum > budget) {
    throw new ConfigError(
      field,
      `is too small: ${budget} parameters, but the minimum allocation (${limits.minExperts} experts of rank ${limits.minRank} on each of ${targets.length} modules) needs ${minimum}.`,
    );
  }
  const maximum = maximumParameters(targets, limits);
  if (budget > maximum) {
    throw new ConfigError(
      field,
      `is ${budget} parameters, more than the largest allocation allows (${limits.maxExperts} experts of rank ${limits.maxRank} on each of ${targets.length} modules = ${maximum}). Raise maxExperts or maxRank, or lower the budget.`,
    );
  }
  const order = targets
    .map((_, index) => index)
    .sort((a, b) =>
      compareModulePaths((targets[a] as BudgetTarget).path, (targets[b] as BudgetTarget).path),
    );
  const ranks = targets.map(() => new Array<number>(limits.minExperts).fill(limits.minRank));
  let used = minimum;
  for (;;) {
    const unit = bestUnit(targets, ranks, order, budget - used, limits);
    if (unit === undefined) {
      break;
    }
    const moduleRanks = ranks[unit.module] as number[];
    if (unit.expert === moduleRanks.length) {
      moduleRanks.push(limits.minRank);
    } else {
      moduleRanks[unit.expert] = (moduleRanks[unit.expert] as number) + 1;
    }
    used += unit.cost;
  }
  return { ranks, parameters: used };
}

function bestUnit(
  targets: readonly BudgetTarget[],
  ranks: readonly number[][],
  order: readonly number[],
  remaining: number,
  limits: BudgetLimits,
): Unit | undefined {
  let best: Unit | undefined;
  const consider = (unit: Unit): void => {
    if (unit.cost <= remaining && (best === undefined || isBetter(unit, best))) {
      best = unit;
    }
  };
  for (const m of order) {
    const target = targets[m] as BudgetTarget;
    const moduleRanks = ranks[m] as number[];
    const width = target.dIn + target.dOut;
    moduleRanks.forEach((rank, e) => {
      if (rank < limits.maxRank) {
        consider(unitFor(target, m, e, rank + 1, width));
      }
    });
    if (moduleRanks.length < limits.maxExperts) {
      const e = moduleRanks.length;
      consider(unitFor(target, m, e, limits.minRank, target.dIn + limits.minRank * width));
    }
  }
  return best;
}

function unitFor(
  target: BudgetTarget,
  module: number,
  expert: number,
  rankAfter: number,
  cost: number,
): Unit {
  const firstTier = expert < target.preferredExperts;
  return {
    module,
    expert,
    tier: firstTier ? 1 : 2,
    weight: firstTier ? (target.targetRanks[expert] ?? 1) : 1,
    rankAfter,
    cost,
  };
}

/**
 * Returns whether `a` strictly beats `b`. Candidates arrive in tie-break order, so ties keep `b`.
 */
function isBetter(a: Unit, b: Unit): boolean {
  if (a.tier !== b.tier) {
    return a.tier < b.tier;
  }
  return a.weight * b.rankAfter > b.weight * a.rankAfter;
}
