import type {
  Allocation,
  AllocationContext,
  AllocationPolicy,
  AllocationPolicyPlugin,
  Logger,
  ModuleAllocation,
} from '@guilomo/core';
import { ConfigError, formatValue, PLUGIN_API_VERSION } from '@guilomo/core';
import type { BudgetLimits, BudgetTarget } from './budget-fill.js';
import { fillBudget } from './budget-fill.js';
import { checkContext, clampTopK } from './context.js';
import { expertCountFromGsv, moduleGsv, rankFromGsv } from './gsv.js';
import { countParameters } from './parameter-count.js';
import type { PolicyParams } from './params.js';
import {
  assertKnownParams,
  checkInteger,
  readInteger,
  readLogger,
  readOptionalInteger,
} from './params.js';
import type { AllocationPolicyRegistry, PolicySpec } from './policy-spec.js';
import { readPolicySpec, readRegistry, resolvePolicySpec } from './policy-spec.js';

const ID = 'allocation:budgeted';

/**
 * Typed parameters of `allocation:budgeted`. Exactly one of `budget` and `budgetOf` is set. A
 * type alias, not an interface, so that it can be passed to the plugin's `create`.
 */
export type BudgetedParams = {
  /** Trainable-parameter budget, router and expert factors included. */
  readonly budget?: number;
  /** Use the parameter count of this policy's allocation on the same context as the budget. */
  readonly budgetOf?: PolicySpec;
  /** Policy whose allocation gives the target experts and ranks. Default: `context.gsv`. */
  readonly base?: PolicySpec;
  /** Default `context.topK`. */
  readonly topK?: number;
  /** Default `topK`, so that top-k routing stays valid. */
  readonly minExperts?: number;
  /** Default 1. */
  readonly minRank?: number;
  /** Default `context.maxExperts`. */
  readonly maxExperts?: number;
  /** Default `context.maxRank`. */
  readonly maxRank?: number;
  readonly registry?: AllocationPolicyRegistry;
  /** Receives a debug record with the budget and the parameters spent. */
  readonly logger?: Logger;
};

interface Settings {
  readonly budget: number | undefined;
  readonly budgetOf: PolicySpec | undefined;
  readonly base: PolicySpec | undefined;
  readonly topK: number | undefined;
  readonly minExperts: number | undefined;
  readonly minRank: number;
  readonly maxExperts: number | undefined;
  readonly maxRank: number | undefined;
  readonly registry: AllocationPolicyRegistry | undefined;
}

function readSettings(params: PolicyParams): Settings {
  assertKnownParams(params, ID, [
    'budget',
    'budgetOf',
    'base',
    'topK',
    'minExperts',
    'minRank',
    'maxExperts',
    'maxRank',
    'registry',
    'logger',
  ]);
  const hasBudget = params.budget !== undefined;
  const hasBudgetOf = params.budgetOf !== undefined;
  if (hasBudget === hasBudgetOf) {
    throw new ConfigError(
      `${ID}.budget`,
      hasBudget
        ? 'and budgetOf are both set. Pass only one of them.'
        : "is missing. Pass budget (a parameter count) or budgetOf (a policy spec such as { policy: 'uniform', params: { experts: 8, rank: 8 } }).",
    );
  }
  return {
    budget: hasBudget ? checkInteger(params.budget, `${ID}.budget`, 1) : undefined,
    budgetOf: hasBudgetOf ? readPolicySpec(params.budgetOf, `${ID}.budgetOf`) : undefined,
    base: params.base === undefined ? undefined : readPolicySpec(params.base, `${ID}.base`),
    topK: readOptionalInteger(params, ID, 'topK', 1),
    minExperts: readOptionalInteger(params, ID, 'minExperts', 1),
    minRank: readInteger(params, ID, 'minRank', { min: 1, fallback: 1 }),
    maxExperts: readOptionalInteger(params, ID, 'maxExperts', 1),
    maxRank: readOptionalInteger(params, ID, 'maxRank', 1),
    registry: readRegistry(params, ID),
  };
}

function resolveLimits(settings: Settings, context: AllocationContext, topK: number): BudgetLimits {
  const limits: BudgetLimits = {
    minExperts: settings.minExperts ?? topK,
    minRank: settings.minRank,
    maxExperts: settings.maxExperts ?? context.maxExperts,
    maxRank: settings.maxRank ?? context.maxRank,
  };
  if (limits.minExperts > limits.maxExperts) {
    throw new ConfigError(
      `${ID}.minExperts`,
      `is ${limits.minExperts}, above maxExperts = ${limits.maxExperts}. minExperts defaults to topK.`,
    );
  }
  if (limits.minRank > limits.maxRank) {
    throw new ConfigError(
      `${ID}.minRank`,
      `is ${limits.minRank}, above maxRank = ${limits.maxRank}.`,
    );
  }
  return limits;
}

/** Target experts and ranks of each module from the GSVs, by GuiLoMo's argmax rule. */
function targetsFromGsv(context: AllocationContext, limits: BudgetLimits): BudgetTarget[] {
  return context.modules.map((module) => {
    const gsv = moduleGsv(context, module.path, ID);
    const where = formatValue(module.path);
    const count = expertCountFromGsv(
      gsv.expert,
      limits.minExperts,
      `Expert GSV of module ${where}`,
    );
    const preferredExperts = Math.min(count, limits.maxExperts);
    const targetRanks: number[] = [];
    for (let e = 0; e < preferredExperts; e++) {
      targetRanks.push(
        rankFromGsv(gsv.ranks[e] as Float32Array, `Rank GSV ${e} of module ${where}`),
      );
    }
    return { path: module.path, dIn: module.dIn, dOut: module.dOut, preferredExperts, targetRanks };
  });
}

/**
 * Target experts and ranks of each module from a base allocation. Experts the minimum adds
 * beyond the base's count repeat the base's last rank.
 */
function targetsFromBase(
  context: AllocationContext,
  base: Allocation,
  limits: BudgetLimits,
): BudgetTarget[] {
  const byPath = new Map(base.modules.map((entry) => [entry.path, entry]));
  return context.modules.map((module) => {
    const entry = byPath.get(module.path);
    if (entry === undefined || entry.ranks.length === 0) {
      throw new ConfigError(
        `${ID}.base`,
        `policy returned no experts for module ${formatValue(module.path)}.`,
      );
    }
    entry.ranks.forEach((rank, e) => {
      checkInteger(
        rank,
        `${ID}.base: rank of expert ${e} of module ${formatValue(module.path)}`,
        1,
      );
    });
    const preferredExperts = Math.min(
      Math.max(limits.minExperts, entry.ranks.length),
      limits.maxExperts,
    );
    const last = entry.ranks[entry.ranks.length - 1] as number;
    const targetRanks: number[] = [];
    for (let e = 0; e < preferredExperts; e++) {
      targetRanks.push(entry.ranks[e] ?? last);
    }
    return { path: module.path, dIn: module.dIn, dOut: module.dOut, preferredExperts, targetRanks };
  });
}

/**
 * Creates the `allocation:budgeted` plugin: expert counts and ranks that spend a trainable-
 * parameter budget, shaped by scores. The scores are the GSVs in `context.gsv`, or the
 * allocation of the `base` policy. Their experts and ranks become targets, and
 * {@link fillBudget} apportions the budget in proportion to them. The result spends the budget
 * exactly or leaves less than one new expert's parameters unused (see {@link fillBudget}).
 *
 * Parameters: see {@link BudgetedParams}, plus `logger`. `builtins` returns the plugins that
 * `budgetOf` and `base` specs resolve to when `registry` lacks them. It is called at
 * allocate time.
 *
 * @example
 * const policy = registry.get('allocation', 'budgeted').create({
 *   budgetOf: { policy: 'uniform', params: { experts: 8, rank: 8 } },
 * });
 * const allocation = policy.allocate({ ...context, gsv });
 */
export function createBudgetedPolicyPlugin(
  builtins: () => readonly AllocationPolicyPlugin[],
): AllocationPolicyPlugin {
  return {
    kind: 'allocation',
    name: 'budgeted',
    apiVersion: PLUGIN_API_VERSION,
    description:
      'Experts and ranks that spend a trainable-parameter budget in proportion to scores.',
    create(params: PolicyParams): AllocationPolicy {
      const settings = readSettings(params);
      const logger = readLogger(params, ID);
      return {
        id: ID,
        allocate(context) {
          checkContext(context, ID);
          const plugins = builtins();
          const topK = settings.topK ?? context.topK;
          const limits = resolveLimits(settings, context, topK);
          const budget = resolveBudget(settings, context, plugins);
          const base =
            settings.base === undefined
              ? undefined
              : resolvePolicySpec(
                  settings.base,
                  settings.registry ?? context.policies,
                  plugins,
                  `${ID}.base`,
                ).allocate(context);
          const targets =
            base === undefined
              ? targetsFromGsv(context, limits)
              : targetsFromBase(context, base, limits);
          const fill = fillBudget(targets, budget, limits, `${ID}.budget`);
          logger.debug('budget filled', {
            budget,
            parameters: fill.parameters,
            unused: budget - fill.parameters,
          });
          const baseTopK = new Map(base?.modules.map((entry) => [entry.path, entry.topK]));
          return {
            modules: context.modules.map((module, m): ModuleAllocation => {
              const ranks = [...(fill.ranks[m] as readonly number[])];
              const moduleTopK = baseTopK.get(module.path) ?? topK;
              return { path: module.path, ranks, topK: clampTopK(moduleTopK, ranks.length) };
            }),
          };
        },
      };
    },
  };
}

function resolveBudget(
  settings: Settings,
  context: AllocationContext,
  plugins: readonly AllocationPolicyPlugin[],
): number {
  if (settings.budget !== undefined) {
    return settings.budget;
  }
  if (settings.budgetOf === undefined) {
    throw new ConfigError(`${ID}.budget`, 'is missing. Pass budget or budgetOf.');
  }
  const reference = resolvePolicySpec(
    settings.budgetOf,
    settings.registry ?? context.policies,
    plugins,
    `${ID}.budgetOf`,
  );
  return countParameters(reference.allocate(context), context.modules);
}
