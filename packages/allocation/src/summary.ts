import type { Allocation, ModuleInfo, ProjectionName } from '@guilomo/core';
import { ConfigError, formatValue, PROJECTION_NAMES } from '@guilomo/core';
import { moduleParameterCount } from './parameter-count.js';

/**
 * Totals of an allocation and two layer × projection grids for heat maps. Grid rows follow
 * `layers` and columns follow `projections`. A cell is `null` where the layer has no such
 * module.
 */
export interface AllocationSummary {
  readonly numModules: number;
  readonly totalExperts: number;
  /** Sum of all expert ranks. */
  readonly totalRank: number;
  /** Trainable parameters, routers included. */
  readonly parameters: number;
  /** Layer indices that have modules, ascending. */
  readonly layers: readonly number[];
  /** Projections that occur, in the order q, k, v, o, gate, up, down. */
  readonly projections: readonly ProjectionName[];
  /** Expert count per layer and projection. */
  readonly experts: readonly (readonly (number | null)[])[];
  /** Mean expert rank per layer and projection. */
  readonly meanRank: readonly (readonly (number | null)[])[];
  /** Experts summed over the projections of each layer, aligned with `layers`. */
  readonly expertsPerLayer: readonly number[];
}

/**
 * Summarises an allocation: total experts, total rank and parameters, and the expert-count and
 * mean-rank grids over layer × projection. `modules` supplies each module's layer, projection
 * and dimensions, and an allocated path missing there is an error.
 */
export function summarizeAllocation(
  allocation: Allocation,
  modules: readonly ModuleInfo[],
): AllocationSummary {
  const byPath = new Map(modules.map((module) => [module.path, module]));
  const entries = allocation.modules.map((entry) => {
    const module = byPath.get(entry.path);
    if (module === undefined) {
      throw new ConfigError(
        'modules',
        `has no module ${formatValue(entry.path)}, which the allocation lists. Pass the ModuleInfo of every allocated module.`,
      );
    }
    return { entry, module };
  });
  const layers = [...new Set(entries.map(({ module }) => module.layer))].sort((a, b) => a - b);
  const projections = PROJECTION_NAMES.filter((name) =>
    entries.some(({ module }) => module.projection === name),
  );
  const row = new Map(layers.map((layer, i) => [layer, i]));
  const column = new Map(projections.map((name, i) => [name, i]));
  const experts = layers.map(() => projections.map((): number | null => null));
  const meanRank = layers.map(() => projections.map((): number | null => null));
  const expertsPerLayer = layers.map(() => 0);

  let totalExperts = 0;
  let totalRank = 0;
  let parameters = 0;
  for (const { entry, module } of entries) {
    const count = entry.ranks.length;
    const rankSum = entry.ranks.reduce((sum, rank) => sum + rank, 0);
    totalExperts += count;
    totalRank += rankSum;
    parameters += moduleParameterCount(entry.ranks, module.dIn, module.dOut);
    const r = row.get(module.layer) as number;
    const c = column.get(module.projection) as number;
    (experts[r] as (number | null)[])[c] = count;
    (meanRank[r] as (number | null)[])[c] = count === 0 ? null : rankSum / count;
    expertsPerLayer[r] = (expertsPerLayer[r] as number) + count;
  }
  return {
    numModules: entries.length,
    totalExperts,
    totalRank,
    parameters,
    layers,
    projections,
    experts,
    meanRank,
    expertsPerLayer,
  };
}
