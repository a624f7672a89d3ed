import type { AllocationContext, ModuleInfo } from '@guilomo/core';
import { ConfigError, formatValue, PROJECTION_NAMES, ShapeError } from '@guilomo/core';

/**
 * Checks the fields of an allocation context that every policy relies on: a non-empty module
 * list with unique paths, positive integer dimensions, layers inside `[0, numLayers)`, and
 * positive integer `maxExperts`, `maxRank` and `topK`.
 */
export function checkContext(context: AllocationContext, policyId: string): void {
  checkPositiveInteger(context.numLayers, `${policyId}: context.numLayers`);
  checkPositiveInteger(context.maxExperts, `${policyId}: context.maxExperts`);
  checkPositiveInteger(context.maxRank, `${policyId}: context.maxRank`);
  checkPositiveInteger(context.topK, `${policyId}: context.topK`);
  if (context.modules.length === 0) {
    throw new ConfigError(
      `${policyId}: context.modules`,
      'is empty. Pass at least one module to allocate.',
    );
  }
  const seen = new Set<string>();
  for (const module of context.modules) {
    if (seen.has(module.path)) {
      throw new ConfigError(
        `${policyId}: context.modules`,
        `lists module ${formatValue(module.path)} twice. Each module path must appear once.`,
      );
    }
    seen.add(module.path);
    checkModule(module, context.numLayers, policyId);
  }
}

function checkModule(module: ModuleInfo, numLayers: number, policyId: string): void {
  const where = `${policyId}: module ${formatValue(module.path)}`;
  checkPositiveInteger(module.dIn, `${where} dIn`);
  checkPositiveInteger(module.dOut, `${where} dOut`);
  const layerValid =
    Number.isInteger(module.layer) && module.layer >= 0 && module.layer < numLayers;
  if (!layerValid) {
    throw new ShapeError(
      `${where} has layer ${formatValue(module.layer)}, outside [0, ${numLayers}) given by context.numLayers.`,
    );
  }
  if (!PROJECTION_NAMES.includes(module.projection)) {
    throw new ShapeError(
      `${where} has projection ${formatValue(module.projection)}; expected one of ${PROJECTION_NAMES.join(', ')}.`,
    );
  }
}

function checkPositiveInteger(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(field, `expected a positive integer, received ${formatValue(value)}.`);
  }
}

/** Returns the distinct layer indices of the context's modules, ascending. */
export function adaptedLayers(context: AllocationContext): number[] {
  return [...new Set(context.modules.map((module) => module.layer))].sort((a, b) => a - b);
}

/**
 * Returns the experts per token of a module that has `experts` experts: `topK`, or `experts`
 * when the module has fewer experts than `topK`. A module with one expert therefore routes
 * with top-1, as AlphaLoRA's expert-number script does.
 */
export function clampTopK(topK: number, experts: number): number {
  return Math.min(topK, experts);
}
