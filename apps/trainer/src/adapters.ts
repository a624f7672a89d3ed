import type { ModuleAllocation, ModuleInfo, Registry, Rng, Router } from '@guilomo/core';
import { Lora, LoraMoe } from '@guilomo/core';
import type { LinearAdapter } from '@guilomo/core';
import type { GsvSet } from '@guilomo/gsv';
import { createGsvModifiers, createGsvSet } from '@guilomo/gsv';
import type { Variable } from '@tensorflow/tfjs-core';
import type { ResolvedConfig } from './config/types.js';

/** Adapters of one stage with their variables, named for checkpoints. */
export interface AdapterSet {
  readonly adapters: Map<string, LinearAdapter>;
  /** Router of each module that has one, for balance losses and routing metrics. */
  readonly routers: Map<string, Router>;
  /** Every trainable variable of the adapters, keyed `<module path>.<variable>`. */
  readonly variables: Map<string, Variable>;
  dispose(): void;
}

/** Stage-1 adapters: maximum configuration plus one GSV set per module. */
export interface SearchAdapterSet extends AdapterSet {
  readonly gsv: Map<string, GsvSet>;
  /** GSV variables keyed `<module path>.gsv_expert` and `<module path>.gsv_rank`. */
  readonly gsvVariables: Map<string, Variable>;
}

/** Creates a router through the registry, with the stage's balance-loss convention. */
export function createRouter(
  registry: Registry,
  config: ResolvedConfig,
  numExperts: number,
  topK: number,
  balanceScale: 'n' | 'none',
): Router {
  const plugin = registry.get('router', config.adapter.router);
  return plugin.create({ numExperts, topK, balanceScale, params: config.adapter.routerParams });
}

/**
 * Builds the stage-1 search model's adapters: every target module gets `maxExperts` experts of
 * rank `maxRank`, initialised as the authors' search (A and B from N(0, 0.02²), `lora_E` = 1,
 * scaling α / maxRank), with GSV masks on the router logits and on the rank components.
 */
export function createSearchAdapters(
  targets: readonly ModuleInfo[],
  config: ResolvedConfig,
  registry: Registry,
  rng: Rng,
): SearchAdapterSet {
  const { maxExperts, maxRank, topK, alpha, dropout } = config.adapter;
  const adapters = new Map<string, LinearAdapter>();
  const routers = new Map<string, Router>();
  const variables = new Map<string, Variable>();
  const gsv = new Map<string, GsvSet>();
  const gsvVariables = new Map<string, Variable>();
  for (const module of targets) {
    const set = createGsvSet({ numExperts: maxExperts, maxRank, init: config.search.gsvInit, rng });
    const router = createRouter(registry, config, maxExperts, topK, config.search.balanceScale);
    const layer = new LoraMoe({
      dIn: module.dIn,
      dOut: module.dOut,
      ranks: Array.from({ length: maxExperts }, () => maxRank),
      router,
      alpha,
      dropout,
      init: 'search',
      scalingMode: 'fixed',
      scalingRank: maxRank,
      componentScale: true,
      rng,
      modifiers: createGsvModifiers(set),
    });
    adapters.set(module.path, layer);
    routers.set(module.path, router);
    gsv.set(module.path, set);
    for (const [name, variable] of layer.variables()) {
      variables.set(`${module.path}.${name}`, variable);
    }
    gsvVariables.set(`${module.path}.gsv_expert`, set.expert);
    gsvVariables.set(`${module.path}.gsv_rank`, set.ranks);
  }
  return {
    adapters,
    routers,
    variables,
    gsv,
    gsvVariables,
    dispose: () => {
      for (const adapter of adapters.values()) {
        adapter.dispose();
      }
      for (const set of gsv.values()) {
        set.expert.dispose();
        set.ranks.dispose();
      }
    },
  };
}

/**
 * Builds the stage-2 adapters from an allocation: a fresh LoRA-MoE per module (A
 * Kaiming-uniform, B = 0) with its experts' ranks, or a plain LoRA where a module has a single
 * expert with top-1 routing.
 */
export function createTrainAdapters(
  allocation: readonly ModuleAllocation[],
  targets: readonly ModuleInfo[],
  config: ResolvedConfig,
  registry: Registry,
  rng: Rng,
): AdapterSet {
  const byPath = new Map(targets.map((module) => [module.path, module]));
  const adapters = new Map<string, LinearAdapter>();
  const routers = new Map<string, Router>();
  const variables = new Map<string, Variable>();
  for (const entry of allocation) {
    const module = byPath.get(entry.path);
    if (module === undefined) {
      throw new Error(`Allocation names module ${entry.path}, which is not among the adapted targets.`);
    }
    let adapter: LinearAdapter;
    if (entry.ranks.length === 1 && entry.topK === 1) {
      adapter = new Lora({ dIn: module.dIn, dOut: module.dOut, rank: entry.ranks[0] as number, alpha: config.adapter.alpha, dropout: config.adapter.dropout, rng });
    } else {
      const router = createRouter(registry, config, entry.ranks.length, entry.topK, 'n');
      routers.set(entry.path, router);
      adapter = new LoraMoe({
        dIn: module.dIn,
        dOut: module.dOut,
        ranks: entry.ranks,
        router,
        alpha: config.adapter.alpha,
        dropout: config.adapter.dropout,
        init: 'lora',
        scalingMode: config.train.scalingMode,
        rng,
      });
    }
    adapters.set(entry.path, adapter);
    for (const [name, variable] of adapter.variables()) {
      variables.set(`${entry.path}.${name}`, variable);
    }
  }
  return {
    adapters,
    routers,
    variables,
    dispose: () => {
      for (const adapter of adapters.values()) {
        adapter.dispose();
      }
    },
  };
}
