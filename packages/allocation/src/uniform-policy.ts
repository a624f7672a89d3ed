import type { AllocationPolicy, AllocationPolicyPlugin } from '@guilomo/core';
import { ConfigError, PLUGIN_API_VERSION } from '@guilomo/core';
import { checkContext } from './context.js';
import type { PolicyParams } from './params.js';
import { assertKnownParams, readOptionalInteger } from './params.js';

const ID = 'allocation:uniform';

/**
 * `allocation:uniform`: the same expert count, rank and top-k on every module (MoE-LoRA).
 *
 * Parameters, each an integer ≥ 1:
 * - `experts`: experts per module. Default `context.maxExperts`.
 * - `rank`: rank of every expert. Default `context.maxRank`.
 * - `topK`: experts per token, at most `experts`. Default `context.topK`, lowered to `experts`
 *   when only the default applies.
 *
 * @example
 * const policy = uniformPolicyPlugin.create({ experts: 8, rank: 8, topK: 2 });
 */
export const uniformPolicyPlugin: AllocationPolicyPlugin = {
  kind: 'allocation',
  name: 'uniform',
  apiVersion: PLUGIN_API_VERSION,
  description: 'The same expert count, rank and top-k on every module.',
  create(params: PolicyParams): AllocationPolicy {
    assertKnownParams(params, ID, ['experts', 'rank', 'topK']);
    const expertsParam = readOptionalInteger(params, ID, 'experts', 1);
    const rankParam = readOptionalInteger(params, ID, 'rank', 1);
    const topKParam = readOptionalInteger(params, ID, 'topK', 1);
    if (expertsParam !== undefined && topKParam !== undefined && topKParam > expertsParam) {
      throw new ConfigError(
        `${ID}.topK`,
        `is ${topKParam}, larger than experts = ${expertsParam}. Set topK to at most the expert count.`,
      );
    }
    return {
      id: ID,
      allocate(context) {
        checkContext(context, ID);
        const experts = expertsParam ?? context.maxExperts;
        const rank = rankParam ?? context.maxRank;
        if (topKParam !== undefined && topKParam > experts) {
          throw new ConfigError(
            `${ID}.topK`,
            `is ${topKParam}, larger than the ${experts} experts taken from context.maxExperts. Set topK or experts explicitly.`,
          );
        }
        const topK = topKParam ?? Math.min(context.topK, experts);
        const ranks = new Array<number>(experts).fill(rank);
        return {
          modules: context.modules.map((module) => ({
            path: module.path,
            ranks: [...ranks],
            topK,
          })),
        };
      },
    };
  },
};
