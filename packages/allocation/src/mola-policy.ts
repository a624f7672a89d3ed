import type { AllocationPolicy, AllocationPolicyPlugin } from '@guilomo/core';
import { ConfigError, formatValue, PLUGIN_API_VERSION } from '@guilomo/core';
import { checkContext, clampTopK } from './context.js';
import type { PolicyParams } from './params.js';
import { assertKnownParams, readInteger, readOptionalInteger } from './params.js';

const ID = 'allocation:mola';

/** Number of depth blocks in a MoLA shape. */
export const MOLA_BLOCKS = 4;

/** Named MoLA shapes and their expert counts per block, shallow to deep. */
export const MOLA_SHAPES: Readonly<Record<string, readonly number[]>> = {
  rectangle: [5, 5, 5, 5],
  triangle: [2, 4, 6, 8],
  'inverted-triangle': [8, 6, 4, 2],
  hourglass: [8, 2, 2, 8],
};

/**
 * Parses a MoLA shape into four block expert counts. Accepted forms: four digits such as
 * `'2468'`, a comma-separated list such as `'2,4,6,8'` (for counts above 9), a name from
 * {@link MOLA_SHAPES}, or an array of four positive integers.
 */
export function parseMolaShape(value: unknown, field = `${ID}.shape`): number[] {
  let counts: unknown[];
  if (Array.isArray(value)) {
    counts = value;
  } else if (typeof value === 'string') {
    const named = MOLA_SHAPES[value];
    if (named !== undefined) {
      counts = [...named];
    } else if (/^\d{4}$/.test(value)) {
      counts = [...value].map(Number);
    } else if (/^\s*\d+(\s*,\s*\d+){3}\s*$/.test(value)) {
      counts = value.split(',').map((part) => Number(part.trim()));
    } else {
      counts = [];
    }
  } else {
    counts = [];
  }
  const valid =
    counts.length === MOLA_BLOCKS &&
    counts.every((count) => typeof count === 'number' && Number.isInteger(count) && count >= 1);
  if (!valid) {
    throw new ConfigError(
      field,
      `expected four positive block expert counts, such as '2468', '2,4,6,8', [2, 4, 6, 8] or one of ${Object.keys(MOLA_SHAPES).join(', ')}; received ${formatValue(value)}.`,
    );
  }
  return counts.map(Number);
}

/**
 * Returns the block of layer `layer` in a model of `numLayers` layers. Block b covers layers
 * `floor(b·L/4)` to `floor((b+1)·L/4) − 1`, so every layer belongs to exactly one block and
 * block sizes differ by at most one (5 layers: 1, 1, 1, 2). When L < 4 some blocks cover no
 * layer: a 1-layer model uses only block 3 and a 3-layer model uses blocks 1, 2 and 3.
 */
export function molaBlockOfLayer(layer: number, numLayers: number): number {
  for (let block = MOLA_BLOCKS - 1; block > 0; block--) {
    if (Math.floor((block * numLayers) / MOLA_BLOCKS) <= layer) {
      return block;
    }
  }
  return 0;
}

/**
 * Expands four block expert counts to one count per layer with {@link molaBlockOfLayer}. The
 * count of a block that covers no layer is unused, so the total is then not a multiple of the
 * block sums.
 */
export function molaLayerExperts(blockCounts: readonly number[], numLayers: number): number[] {
  const experts: number[] = [];
  for (let layer = 0; layer < numLayers; layer++) {
    experts.push(blockCounts[molaBlockOfLayer(layer, numLayers)] as number);
  }
  return experts;
}

/**
 * `allocation:mola`: MoLA's hand-shaped expert counts. The layers are split into four depth
 * blocks (see {@link molaBlockOfLayer}). Every module of a layer gets its block's count, and all
 * experts get the same rank.
 *
 * Parameters: `shape` (default `'2468'`, see {@link parseMolaShape}), `rank` (integer ≥ 1,
 * default 8), `topK` (integer ≥ 1, default `context.topK`, lowered to the expert count of a
 * layer with fewer experts).
 *
 * @example
 * const policy = molaPolicyPlugin.create({ shape: '8228', rank: 8 });
 */
export const molaPolicyPlugin: AllocationPolicyPlugin = {
  kind: 'allocation',
  name: 'mola',
  apiVersion: PLUGIN_API_VERSION,
  description:
    'MoLA block shapes (5555, 2468, 8642, 8228 or any four counts) over four depth blocks.',
  create(params: PolicyParams): AllocationPolicy {
    assertKnownParams(params, ID, ['shape', 'rank', 'topK']);
    const blockCounts = parseMolaShape(params.shape ?? '2468');
    const rank = readInteger(params, ID, 'rank', { min: 1, fallback: 8 });
    const topKOverride = readOptionalInteger(params, ID, 'topK', 1);
    return {
      id: ID,
      allocate(context) {
        checkContext(context, ID);
        const layerExperts = molaLayerExperts(blockCounts, context.numLayers);
        const topK = topKOverride ?? context.topK;
        return {
          modules: context.modules.map((module) => {
            const experts = layerExperts[module.layer] as number;
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
