import seedrandom from 'seedrandom';

/**
 * Fills `out` with the multipliers of `tf.dropout(x, rate, undefined, seed)` in TF.js 4.22: 0
 * for a dropped element and `1 / (1 - rate)` in float32 for a kept one, element by element in
 * the order tf.dropout draws them.
 *
 * tf.dropout draws uniform numbers from seedrandom's Alea generator seeded with `String(seed)`
 * and keeps an element when `floor(u + keep)` is 1, with `u` and the sum rounded to float32.
 * JavaScript rounds `u + keep` and `1 / keep` from double precision, which gives the correctly
 * rounded float32 result for one addition or division of float32 values, so each value matches.
 * `rate` must be in (0, 1).
 */
export function fillDropoutMultipliers(out: Float32Array, rate: number, seed: number): void {
  const keep = Math.fround(1 - rate);
  const scale = Math.fround(1 / keep);
  const random = seedrandom.alea(String(seed));
  for (let i = 0; i < out.length; i++) {
    // The sum is below 2, so the floor is 1 exactly when the rounded sum reaches 1.
    out[i] = Math.fround(Math.fround(random()) + keep) >= 1 ? scale : 0;
  }
}
