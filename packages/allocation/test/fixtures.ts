import type { AllocationContext, ModuleInfo, ProjectionName } from '@guilomo/core';
import { PROJECTION_NAMES, Rng } from '@guilomo/core';
import { modulePath } from '../src/index.js';

/** BabyLlama dimensions: dim 128, SwiGLU hidden 352, 4 KV heads of 16 → kv_dim 64. */
export const BABY = { dim: 128, hidden: 352, kvDim: 64 } as const;

const DIMS: Record<ProjectionName, { dIn: number; dOut: number }> = {
  q: { dIn: BABY.dim, dOut: BABY.dim },
  k: { dIn: BABY.dim, dOut: BABY.kvDim },
  v: { dIn: BABY.dim, dOut: BABY.kvDim },
  o: { dIn: BABY.dim, dOut: BABY.dim },
  gate: { dIn: BABY.dim, dOut: BABY.hidden },
  up: { dIn: BABY.dim, dOut: BABY.hidden },
  down: { dIn: BABY.hidden, dOut: BABY.dim },
};

/** Builds all seven projections of each layer, in state-dict order, with BabyLlama's dimensions. */
export function babyModules(numLayers: number, scale = 1): ModuleInfo[] {
  const modules: ModuleInfo[] = [];
  for (let layer = 0; layer < numLayers; layer++) {
    for (const projection of PROJECTION_NAMES) {
      const dims = DIMS[projection];
      modules.push({
        path: modulePath(layer, projection),
        layer,
        projection,
        dIn: Math.max(1, Math.round(dims.dIn / scale)),
        dOut: Math.max(1, Math.round(dims.dOut / scale)),
      });
    }
  }
  return modules;
}

/** Context over {@link babyModules} with 8 experts, rank 8 and top-2. */
export function babyContext(
  numLayers: number,
  extra: Partial<AllocationContext> = {},
): AllocationContext {
  return {
    modules: babyModules(numLayers),
    numLayers,
    maxExperts: 8,
    maxRank: 8,
    topK: 2,
    ...extra,
  };
}

type Gsv = Map<string, { expert: Float32Array; ranks: Float32Array[] }>;

/** GSVs drawn from N(0, 1) with a seeded generator, shaped by the context's limits. */
export function randomGsv(context: AllocationContext, seed: number): Gsv {
  const rng = new Rng(seed);
  return new Map(
    context.modules.map((module) => [
      module.path,
      {
        expert: rng.normalArray(context.maxExperts),
        ranks: Array.from({ length: context.maxExperts }, () => rng.normalArray(context.maxRank)),
      },
    ]),
  );
}

/** GSVs whose argmax picks `experts` experts and rank `rank(e)` for expert e, on every module. */
export function peakedGsv(
  context: AllocationContext,
  experts: number,
  rank: (e: number) => number,
): Gsv {
  const peak = (length: number, index: number): Float32Array => {
    const values = new Float32Array(length).fill(0.1);
    values[index] = 0.9;
    return values;
  };
  return new Map(
    context.modules.map((module) => [
      module.path,
      {
        expert: peak(context.maxExperts, experts - 1),
        ranks: Array.from({ length: context.maxExperts }, (_, e) =>
          peak(context.maxRank, rank(e) - 1),
        ),
      },
    ]),
  );
}
