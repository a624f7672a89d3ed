import { toAllocationJson, toAuthorFiles, validateAllocation } from '@guilomo/allocation';
import type { Allocation, AllocationContext } from '@guilomo/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { ConfigError, writeFileAtomic } from '@guilomo/core';
import { writeJson } from '../run-dir.js';
import type { Session } from '../session.js';
import type { GsvScores } from './search.js';

/** Inputs of the allocation stage beyond the session. */
export interface AllocateOptions {
  /** GSVs from the search; needed by the `guilomo` policy and by compositions that use it. */
  readonly scores?: GsvScores;
  /** Policy name; default `allocation.policy` of the config. */
  readonly policy?: string;
  readonly params?: Readonly<Record<string, unknown>>;
  /** Writes allocation.json, expert.json and rank.json into the run folder. Default true. */
  readonly write?: boolean;
}

/** Builds the allocation context of the session's adapted modules. */
export function allocationContext(session: Session, scores: GsvScores | undefined, created: Tensor[] = []): AllocationContext {
  const { config, model, targets } = session;
  return {
    modules: targets,
    numLayers: model.config.numLayers,
    maxExperts: config.adapter.maxExperts,
    maxRank: config.adapter.maxRank,
    topK: config.adapter.topK,
    ...(scores === undefined ? {} : { gsv: scores.modules }),
    policies: session.registry,
    frozenWeight: (path: string) => {
      const weight = model.frozenWeight(path);
      created.push(weight);
      return weight;
    },
  };
}

/**
 * Turns scores into per-module expert counts and per-expert ranks with the configured policy,
 * validates the result (top-k ≤ experts, ranks ≥ 1, within the maxima), and writes our
 * `allocation.json` plus the authors' `expert.json` / `rank.json`.
 */
export async function runAllocate(session: Session, options: AllocateOptions = {}): Promise<Allocation> {
  const { config, registry, logger, runDir } = session;
  const policyName = options.policy ?? config.allocation.policy;
  const params = options.params ?? config.allocation.params;
  // Frozen weights handed to training-free policies; disposed once the policy has run.
  const created: Tensor[] = [];
  const context = allocationContext(session, options.scores, created);
  if (policyName === 'guilomo' && options.scores === undefined) {
    throw new ConfigError('allocation.policy', `"guilomo" needs the GSVs of a search: run \`guilomo search\` first (it writes ${runDir.gsv}), or choose another policy.`);
  }
  const policy = registry.get('allocation', policyName).create(params);
  let allocation: Allocation;
  try {
    allocation = validateAllocation(policy.allocate(context), context);
  } finally {
    tf.dispose(created);
  }

  if (options.write !== false) {
    const json = toAllocationJson(allocation, { modules: context.modules, policy: `allocation:${policyName}` });
    await writeJson(runDir.allocation, json);
    const authorFiles = toAuthorFiles(allocation, context.gsv === undefined ? {} : { gsv: context.gsv });
    await writeFileAtomic(runDir.authorExperts, authorFiles['expert.json']);
    await writeFileAtomic(runDir.authorRanks, authorFiles['rank.json']);
    const experts = json.totals.experts;
    logger.info(
      `Allocation (${policyName}): ${json.totals.modules} modules, ${experts} experts, mean rank ${(json.totals.rank / Math.max(experts, 1)).toFixed(2)}, ${json.totals.parameters ?? '?'} trainable parameters.`,
      { file: runDir.allocation },
    );
  }
  return allocation;
}

