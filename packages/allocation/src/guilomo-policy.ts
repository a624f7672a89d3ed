import type {
  Allocation,
  AllocationContext,
  AllocationPolicy,
  AllocationPolicyPlugin,
  ModuleAllocation,
} from '@guilomo/core';
import { formatValue, PLUGIN_API_VERSION } from '@guilomo/core';
import { checkContext, clampTopK } from './context.js';
import { expertCountFromGsv, moduleGsv, rankFromGsv } from './gsv.js';
import type { PolicyParams } from './params.js';
import { assertKnownParams, readInteger } from './params.js';

const ID = 'allocation:guilomo';

/**
 * Allocates from GSVs learned in the search stage. A module gets
 * `max(minExperts, argmax(g) + 1)` experts, capped at `context.maxExperts`, and expert e gets
 * rank `argmax(h_e) + 1`, taking the first index on ties. Rank GSVs of experts past the count
 * are ignored. `topK` is the context's, lowered to the expert count where needed.
 */
export function allocateFromGsv(context: AllocationContext, minExperts = 2): Allocation {
  checkContext(context, ID);
  const modules = context.modules.map((module): ModuleAllocation => {
    const gsv = moduleGsv(context, module.path, ID);
    const where = formatValue(module.path);
    const experts = Math.min(
      expertCountFromGsv(gsv.expert, minExperts, `Expert GSV of module ${where}`),
      context.maxExperts,
    );
    const ranks: number[] = [];
    for (let e = 0; e < experts; e++) {
      ranks.push(rankFromGsv(gsv.ranks[e] as Float32Array, `Rank GSV ${e} of module ${where}`));
    }
    return { path: module.path, ranks, topK: clampTopK(context.topK, experts) };
  });
  return { modules };
}

/**
 * `allocation:guilomo`: GuiLoMo's argmax rule on the learned GSVs in `context.gsv`.
 *
 * Parameters: `minExperts` (integer ≥ 1, default 2), the floor on the expert count that keeps
 * top-2 routing valid.
 *
 * @example
 * const policy = guilomoPolicyPlugin.create({});
 * const allocation = policy.allocate({ ...context, gsv });
 */
export const guilomoPolicyPlugin: AllocationPolicyPlugin = {
  kind: 'allocation',
  name: 'guilomo',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Experts = max(2, argmax(expert GSV) + 1), rank = argmax(rank GSV) + 1 (GuiLoMo).',
  create(params: PolicyParams): AllocationPolicy {
    assertKnownParams(params, ID, ['minExperts']);
    const minExperts = readInteger(params, ID, 'minExperts', { min: 1, fallback: 2 });
    return { id: ID, allocate: (context) => allocateFromGsv(context, minExperts) };
  },
};
