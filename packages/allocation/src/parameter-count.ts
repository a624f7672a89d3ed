import type { Allocation, ModuleInfo } from '@guilomo/core';
import { ConfigError, formatValue } from '@guilomo/core';

/**
 * Trainable parameters of one LoRA-MoE module: the router `E·dIn` plus `Σ_e r_e·(dIn + dOut)`
 * for the experts' A and B factors. A single-expert module still counts its router row.
 */
export function moduleParameterCount(ranks: readonly number[], dIn: number, dOut: number): number {
  let total = ranks.length * dIn;
  for (const rank of ranks) {
    total += rank * (dIn + dOut);
  }
  return total;
}

/**
 * Trainable parameters of a whole allocation. Each allocated module is looked up by path in
 * `modules` for its dimensions, and a path missing there is an error.
 */
export function countParameters(allocation: Allocation, modules: readonly ModuleInfo[]): number {
  const byPath = new Map(modules.map((module) => [module.path, module]));
  let total = 0;
  for (const entry of allocation.modules) {
    const module = byPath.get(entry.path);
    if (module === undefined) {
      throw new ConfigError(
        'modules',
        `has no module ${formatValue(entry.path)}, which the allocation lists. Pass the ModuleInfo of every allocated module.`,
      );
    }
    total += moduleParameterCount(entry.ranks, module.dIn, module.dOut);
  }
  return total;
}
