import type { Rng } from '@guilomo/core';
import { ConfigError, formatValue } from '@guilomo/core';

/**
 * Initialisation of a GSV:
 * - `softmax-normal`: softmax of an N(0, I) draw per vector, the authors' default. The values are
 *   positive and sum to 1, so the initial argmax (count or rank) is random per vector.
 * - `ones`: all 1, so every argmax is 0: 2 experts (the minimum) and rank 1.
 * - `ones-bump-last`: all 1 with +1e-4 on the last entry, so every argmax is the last index:
 *   all experts and the full rank.
 * - `gaussian-bump`: softmax of `exp(−(i − n/2)² / (2σ²))` with σ = n/6 over 0-based indices,
 *   so the argmax is index `floor(n/2)`. For odd n the two middle entries tie and the lower wins.
 */
export type GsvInit = 'softmax-normal' | 'ones' | 'ones-bump-last' | 'gaussian-bump';

export const GSV_INITS: readonly GsvInit[] = [
  'softmax-normal',
  'ones',
  'ones-bump-last',
  'gaussian-bump',
];

/** Returns `init` if it names a known initialisation, or throws a ConfigError listing them. */
export function resolveGsvInit(init: unknown): GsvInit {
  const found = GSV_INITS.find((name) => name === init);
  if (found === undefined) {
    throw new ConfigError(
      'init',
      `must be one of ${GSV_INITS.map((name) => `'${name}'`).join(', ')}, received ${formatValue(init)}.`,
    );
  }
  return found;
}

/**
 * Returns the initial values of one GSV of `length` entries. `softmax-normal` draws `length`
 * normal values from `rng`. The other kinds do not use it.
 */
export function gsvInitialValues(
  init: GsvInit,
  length: number,
  rng: Rng | undefined,
): Float32Array {
  switch (init) {
    case 'softmax-normal': {
      if (rng === undefined) {
        throw new ConfigError(
          'rng',
          "is required by init 'softmax-normal'. Pass a seeded core Rng.",
        );
      }
      return softmax(Array.from(rng.normalArray(length)));
    }
    case 'ones':
      return new Float32Array(length).fill(1);
    case 'ones-bump-last': {
      const values = new Float32Array(length).fill(1);
      values[length - 1] = 1 + 1e-4;
      return values;
    }
    case 'gaussian-bump': {
      const centre = length / 2;
      const sigma = length / 6;
      const bump = Array.from({ length }, (_, i) =>
        Math.exp(-((i - centre) ** 2) / (2 * sigma ** 2)),
      );
      return softmax(bump);
    }
  }
}

/** Softmax in float64, rounded to float32 at the end. */
function softmax(values: readonly number[]): Float32Array {
  const max = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - max));
  const total = exps.reduce((sum, v) => sum + v, 0);
  return Float32Array.from(exps, (v) => v / total);
}
