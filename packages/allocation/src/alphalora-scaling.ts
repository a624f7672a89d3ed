import { ConfigError, formatValue, NumericError } from '@guilomo/core';

/**
 * Turns layer scores into integer expert counts that sum to `total`, as AlphaLoRA's
 * `exponential_scaling` does:
 *
 * 1. `s_l = a_l^β`, then `n_l = round(s_l / Σs · total)` with round-half-to-even (numpy's rule).
 * 2. While `Σn ≠ total`: when short, add 1 at the first argmin of `s_l − n_l`, and when
 *    over, subtract 1 at the first argmax of `s_l − n_l`. The unnormalised `s_l` is used here,
 *    as in AlphaLoRA's code.
 *
 * Each repair step moves Σn one step towards `total`, so the loop ends after at most
 * `|Σn − total|` steps. The rule has no lower bound, so a layer can end with 0 experts or fewer.
 * This function returns such counts unchanged, and the alphalora policy rejects them.
 *
 * @example
 * scaleExpertCounts([3.0, 3.5, 2.5, 4.0, 3.2, 2.8, 3.9, 4.4], 40, 2.5);
 * // → [3, 5, 2, 7, 4, 3, 7, 9]
 */
export function scaleExpertCounts(
  scores: readonly number[],
  total: number,
  beta: number,
): number[] {
  if (scores.length === 0) {
    throw new ConfigError('scores', 'is empty. Pass one score per layer.');
  }
  if (!Number.isInteger(total) || total < 0) {
    throw new ConfigError(
      'total',
      `expected a non-negative integer, received ${formatValue(total)}.`,
    );
  }
  const scaled = scores.map((score) => score ** beta);
  const sum = scaled.reduce((acc, value) => acc + value, 0);
  const badIndex = scaled.findIndex((value) => !Number.isFinite(value) || value < 0);
  if (badIndex >= 0 || !(sum > 0)) {
    const at = badIndex >= 0 ? badIndex : 0;
    throw new NumericError(
      `Layer scores must be finite and non-negative with a positive sum; score ${at} is ${scores[at]}, and score^β sums to ${sum} (β = ${beta}).`,
    );
  }
  const counts = scaled.map((value) => roundHalfEven((value / sum) * total));
  let current = counts.reduce((acc, value) => acc + value, 0);
  while (current !== total) {
    if (current < total) {
      const at = firstExtremum(scaled, counts, (a, b) => a < b);
      counts[at] = (counts[at] as number) + 1;
      current += 1;
    } else {
      const at = firstExtremum(scaled, counts, (a, b) => a > b);
      counts[at] = (counts[at] as number) - 1;
      current -= 1;
    }
  }
  return counts;
}

/** Index of the first extremum of `scaled[l] − counts[l]` under `better`. */
function firstExtremum(
  scaled: readonly number[],
  counts: readonly number[],
  better: (a: number, b: number) => boolean,
): number {
  let best = 0;
  let bestValue = (scaled[0] as number) - (counts[0] as number);
  for (let l = 1; l < scaled.length; l++) {
    const value = (scaled[l] as number) - (counts[l] as number);
    if (better(value, bestValue)) {
      best = l;
      bestValue = value;
    }
  }
  return best;
}

/** Rounds to the nearest integer, halves to the even neighbour (numpy's `np.round`). */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) {
    return floor + 1;
  }
  if (fraction < 0.5) {
    return floor;
  }
  return floor % 2 === 0 ? floor : floor + 1;
}
