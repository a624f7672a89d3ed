import type {
  AllocationContext,
  AllocationPolicy,
  AllocationPolicyPlugin,
  Logger,
  ProgressCallback,
} from '@guilomo/core';
import {
  ConfigError,
  formatValue,
  NumericError,
  PLUGIN_API_VERSION,
  ShapeError,
} from '@guilomo/core';
import { scaleExpertCounts } from './alphalora-scaling.js';
import { adaptedLayers, checkContext, clampTopK } from './context.js';
import { esdEigenvalues, estimatePlAlphaHill } from './hill-estimator.js';
import type { PolicyParams } from './params.js';
import {
  assertKnownParams,
  readInteger,
  readLogger,
  readNumber,
  readOptionalInteger,
  readProgress,
} from './params.js';

const ID = 'allocation:alphalora';

/** Options of {@link alphaloraLayerScores}. */
export interface LayerScoreOptions {
  /** Histogram bins of the xmin search. Default 100. */
  readonly bins?: number;
  readonly logger?: Logger;
  /** Receives one `alphalora` event per weight matrix. */
  readonly onProgress?: ProgressCallback;
}

/** Per-layer heavy-tail scores of a model, from {@link alphaloraLayerScores}. */
export interface LayerScores {
  /** Layer indices that have modules in the context, ascending. */
  readonly layers: readonly number[];
  /** Mean PL_Alpha_Hill over the layer's matrices, aligned with `layers`. */
  readonly scores: readonly number[];
  /** PL_Alpha_Hill of each module's frozen weight, keyed by module path. */
  readonly alphas: ReadonlyMap<string, number>;
}

/**
 * Scores each adapted layer by the mean PL_Alpha_Hill of the frozen weights of its modules in
 * the context. With all seven projections adapted, this is the set of matrices AlphaLoRA uses.
 *
 * `context.frozenWeight(path)` must return `[dOut, dIn]`. The tensors are only read, never
 * disposed: they stay owned by the caller.
 */
export function alphaloraLayerScores(
  context: AllocationContext,
  options: LayerScoreOptions = {},
): LayerScores {
  const frozenWeight = context.frozenWeight;
  if (frozenWeight === undefined) {
    throw new ConfigError(
      `${ID}: context.frozenWeight`,
      'is missing. AlphaLoRA scores layers from the frozen weights; pass a function that returns the [dOut, dIn] weight of a module path.',
    );
  }
  const layers = adaptedLayers(context);
  const alphas = new Map<string, number>();
  const sums = new Map<number, { sum: number; count: number }>();
  context.modules.forEach((module, index) => {
    const weight = frozenWeight(module.path);
    const [rows, cols] = weight.shape;
    if (rows !== module.dOut || cols !== module.dIn) {
      throw new ShapeError(
        `Frozen weight of module ${formatValue(module.path)} has shape [${weight.shape.join(', ')}]; expected [dOut, dIn] = [${module.dOut}, ${module.dIn}].`,
      );
    }
    const values = weight.dataSync();
    const firstBad = values.findIndex((value) => !Number.isFinite(value));
    if (firstBad >= 0) {
      throw new NumericError(
        `Frozen weight of module ${formatValue(module.path)} has ${values[firstBad]} at flat index ${firstBad}.`,
      );
    }
    const estimate = estimatePlAlphaHill(esdEigenvalues(values, rows, cols), options.bins);
    alphas.set(module.path, estimate.alpha);
    const entry = sums.get(module.layer) ?? { sum: 0, count: 0 };
    sums.set(module.layer, { sum: entry.sum + estimate.alpha, count: entry.count + 1 });
    options.logger?.debug('PL_Alpha_Hill estimated', {
      path: module.path,
      alpha: estimate.alpha,
      xmin: estimate.xmin,
      ksDistance: estimate.ksDistance,
    });
    options.onProgress?.({
      phase: 'alphalora',
      step: index + 1,
      total: context.modules.length,
      metrics: { alpha: estimate.alpha },
      detail: module.path,
    });
  });
  const scores = layers.map((layer) => {
    const entry = sums.get(layer) ?? { sum: 0, count: 1 };
    return entry.sum / entry.count;
  });
  return { layers, scores, alphas };
}

/**
 * Default expert total of AlphaLoRA for `numLayers` adapted layers: the published 160 experts
 * for 32 layers, scaled linearly and rounded, which is 5 experts per layer on average.
 */
export function defaultAlphaloraTotal(numLayers: number): number {
  return Math.round((160 * numLayers) / 32);
}

/**
 * `allocation:alphalora`: AlphaLoRA's training-free expert counts. Each adapted layer is
 * scored by the mean PL_Alpha_Hill of its frozen weights ({@link alphaloraLayerScores}), the
 * scores become counts summing to `total` ({@link scaleExpertCounts}), and every module of a
 * layer gets that layer's count with one rank for all experts.
 *
 * Parameters:
 * - `beta` (number > 0, default 2.5): the exponent applied to the layer scores.
 * - `total` (integer ≥ number of adapted layers, default {@link defaultAlphaloraTotal}): sum of
 *   the per-layer expert counts.
 * - `rank` (integer ≥ 1, default 8), `topK` (integer ≥ 1, default `context.topK`, and a layer
 *   with one expert gets top-1).
 * - `bins` (integer ≥ 1, default 100), `logger`, `onProgress`.
 * - `layerScores` (finite numbers ≥ 0, one per adapted layer in ascending layer order, default
 *   none): precomputed layer scores. When given, no frozen weight is read, which skips the SVDs
 *   for models too large to decompose in JavaScript.
 *
 * Throws when the repair loop leaves a layer with fewer than one expert. Raise `total` then.
 *
 * @example
 * const policy = alphaloraPolicyPlugin.create({ total: 25 });
 * const allocation = policy.allocate({ ...context, frozenWeight: (path) => weights.get(path) });
 */
export const alphaloraPolicyPlugin: AllocationPolicyPlugin = {
  kind: 'allocation',
  name: 'alphalora',
  apiVersion: PLUGIN_API_VERSION,
  description:
    'Training-free expert counts from the heavy-tailed spectra of the frozen weights (AlphaLoRA).',
  create(params: PolicyParams): AllocationPolicy {
    assertKnownParams(params, ID, [
      'beta',
      'total',
      'rank',
      'topK',
      'bins',
      'logger',
      'onProgress',
      'layerScores',
    ]);
    const beta = readNumber(params, ID, 'beta', 0, 2.5);
    const totalParam = readOptionalInteger(params, ID, 'total', 1);
    const rank = readInteger(params, ID, 'rank', { min: 1, fallback: 8 });
    const topKParam = readOptionalInteger(params, ID, 'topK', 1);
    const bins = readInteger(params, ID, 'bins', { min: 1, fallback: 100 });
    const logger = readLogger(params, ID);
    const onProgress = readProgress(params, ID);
    const givenScores = readLayerScores(params.layerScores);
    return {
      id: ID,
      allocate(context) {
        checkContext(context, ID);
        const numLayers = adaptedLayers(context).length;
        const total = totalParam ?? defaultAlphaloraTotal(numLayers);
        if (total < numLayers) {
          throw new ConfigError(
            `${ID}.total`,
            `is ${total}, fewer than the ${numLayers} adapted layers. Every layer needs at least one expert.`,
          );
        }
        let layers: readonly number[];
        let scores: readonly number[];
        if (givenScores === undefined) {
          ({ layers, scores } = alphaloraLayerScores(context, { bins, logger, onProgress }));
        } else {
          layers = adaptedLayers(context);
          scores = givenScores;
          if (scores.length !== layers.length) {
            throw new ConfigError(
              `${ID}.layerScores`,
              `has ${scores.length} scores, but the context adapts ${layers.length} layers (${layers.join(', ')}). Pass one score per adapted layer.`,
            );
          }
        }
        const counts = scaleExpertCounts([...scores], total, beta);
        const perLayer = new Map<number, number>();
        layers.forEach((layer, i) => {
          const experts = counts[i] as number;
          if (experts < 1) {
            throw new ConfigError(
              `${ID}.total`,
              `is ${total}, and the rounding repair left layer ${layer} with ${experts} experts (layer scores ${formatValue(scores)}). Raise total.`,
            );
          }
          perLayer.set(layer, experts);
        });
        logger.info('AlphaLoRA expert counts', { layers: [...layers], counts, total });
        const topK = topKParam ?? context.topK;
        return {
          modules: context.modules.map((module) => {
            const experts = perLayer.get(module.layer) ?? 1;
            return {
              path: module.path,
              ranks: new Array<number>(experts).fill(rank),
              topK: clampTopK(topK, experts),
            };
          }),
        };
      },
    };
  },
};

function readLayerScores(value: unknown): readonly number[] | undefined {
  if (value === undefined) {
    return undefined;
  }
  const valid =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((score) => typeof score === 'number' && Number.isFinite(score) && score >= 0);
  if (!valid) {
    throw new ConfigError(
      `${ID}.layerScores`,
      `expected a non-empty array of finite numbers ≥ 0, one per adapted layer, received ${formatValue(value)}.`,
    );
  }
  return value.map(Number);
}
