import type {
  Allocation,
  AllocationPolicy,
  AllocationPolicyPlugin,
  ModuleAllocation,
  ModuleInfo,
} from '@guilomo/core';
import { ConfigError, formatValue, PLUGIN_API_VERSION } from '@guilomo/core';
import { checkContext } from './context.js';
import type { PolicyParams } from './params.js';
import { assertKnownParams, readChoice } from './params.js';
import type { AllocationPolicyRegistry, PolicySpec } from './policy-spec.js';
import { readPolicySpec, readRegistry, resolvePolicySpec } from './policy-spec.js';

const ID = 'allocation:compose';

/**
 * Rule for the ranks of experts that the rank source lacks in {@link composeAllocations}.
 * `last` repeats the rank source's last rank of the module. `mean` uses its mean rank, rounded
 * half up.
 */
export type RankFill = 'last' | 'mean';

/**
 * Typed parameters of `allocation:compose`. A type alias, not an interface, so that it can be
 * passed to the plugin's `create`.
 */
export type ComposeParams = {
  /** Policy whose expert counts and top-k are kept. */
  readonly experts: PolicySpec;
  /** Policy whose per-expert ranks are kept. */
  readonly ranks: PolicySpec;
  /** Default `last`. */
  readonly rankFill?: RankFill;
  /** Registry to resolve both specs in, before the built-in policies. */
  readonly registry?: AllocationPolicyRegistry;
};

/**
 * Combines the expert counts and top-k of `expertSource` with the ranks of `rankSource`, module
 * by module in the order of `modules`. Expert e takes the rank source's rank e, and experts past
 * the rank source's count get a rank by `rankFill`. A module missing from either source is an
 * error.
 */
export function composeAllocations(
  expertSource: Allocation,
  rankSource: Allocation,
  modules: readonly ModuleInfo[],
  rankFill: RankFill = 'last',
): Allocation {
  const experts = indexByPath(expertSource, 'experts');
  const ranks = indexByPath(rankSource, 'ranks');
  return {
    modules: modules.map((module): ModuleAllocation => {
      const expertEntry = experts.get(module.path);
      const rankEntry = ranks.get(module.path);
      if (expertEntry === undefined || rankEntry === undefined) {
        const source = expertEntry === undefined ? 'experts' : 'ranks';
        throw new ConfigError(
          `${ID}.${source}`,
          `policy returned no allocation for module ${formatValue(module.path)}.`,
        );
      }
      const count = expertEntry.ranks.length;
      const fill = fillRank(rankEntry.ranks, rankFill, module.path);
      const composed: number[] = [];
      for (let e = 0; e < count; e++) {
        composed.push(rankEntry.ranks[e] ?? fill);
      }
      return { path: module.path, ranks: composed, topK: expertEntry.topK };
    }),
  };
}

function indexByPath(allocation: Allocation, source: string): Map<string, ModuleAllocation> {
  const byPath = new Map<string, ModuleAllocation>();
  for (const entry of allocation.modules) {
    if (byPath.has(entry.path)) {
      throw new ConfigError(
        `${ID}.${source}`,
        `policy returned module ${formatValue(entry.path)} twice.`,
      );
    }
    byPath.set(entry.path, entry);
  }
  return byPath;
}

function fillRank(ranks: readonly number[], rankFill: RankFill, path: string): number {
  if (ranks.length === 0) {
    throw new ConfigError(
      `${ID}.ranks`,
      `policy returned no experts for module ${formatValue(path)}, so there is no rank to copy.`,
    );
  }
  if (rankFill === 'last') {
    return ranks[ranks.length - 1] as number;
  }
  const mean = ranks.reduce((sum, rank) => sum + rank, 0) / ranks.length;
  return Math.max(1, Math.round(mean));
}

/**
 * Creates the `allocation:compose` plugin. `builtins` returns the plugins that specs resolve to
 * when the `registry` parameter lacks them. It is called at allocate time.
 */
export function createComposePolicyPlugin(
  builtins: () => readonly AllocationPolicyPlugin[],
): AllocationPolicyPlugin {
  return {
    kind: 'allocation',
    name: 'compose',
    apiVersion: PLUGIN_API_VERSION,
    description: 'Expert counts from one policy and per-expert ranks from another.',
    create(params: PolicyParams): AllocationPolicy {
      assertKnownParams(params, ID, ['experts', 'ranks', 'rankFill', 'registry']);
      const expertSpec = readPolicySpec(params.experts, `${ID}.experts`);
      const rankSpec = readPolicySpec(params.ranks, `${ID}.ranks`);
      const rankFill = readChoice<RankFill>(params, ID, 'rankFill', ['last', 'mean'], 'last');
      const registry = readRegistry(params, ID);
      return {
        id: ID,
        allocate(context) {
          checkContext(context, ID);
          const plugins = builtins();
          const expertPolicy = resolvePolicySpec(
            expertSpec,
            registry ?? context.policies,
            plugins,
            `${ID}.experts`,
          );
          const rankPolicy = resolvePolicySpec(
            rankSpec,
            registry ?? context.policies,
            plugins,
            `${ID}.ranks`,
          );
          return composeAllocations(
            expertPolicy.allocate(context),
            rankPolicy.allocate(context),
            context.modules,
            rankFill,
          );
        },
      };
    },
  };
}
