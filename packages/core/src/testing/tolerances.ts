/**
 * Numeric tolerances of the test suites, in one table with the reason for each. Tests look up a
 * row by name instead of writing their own atol/rtol.
 */
export const TOLERANCES = {
  /** Values computed twice by the same float32 ops: only reduction order differs. */
  exact: { atol: 1e-6, rtol: 1e-6, reason: 'same float32 ops; reduction order only' },
  /** Published test vectors given to six or seven significant digits. */
  testVector: {
    atol: 1e-6,
    rtol: 1e-5,
    reason: 'reference values printed with 6-7 significant digits',
  },
  /** cpu vs wasm backends: XNNPACK reorders float32 sums inside matMul. */
  crossBackend: {
    atol: 1e-5,
    rtol: 1e-4,
    reason: 'XNNPACK matMul sums in another order than the cpu loop',
  },
  /**
   * Analytic gradient vs central finite differences in float32: the difference quotient with
   * step 1e-2 carries O(h²) truncation plus float32 rounding of ~1e-7/h relative to the loss.
   */
  finiteDifference: { atol: 2e-3, rtol: 2e-2, reason: 'central differences in float32, step 1e-2' },
  /**
   * One float32 formula against the same formula computed another way: a float64 loop, or with
   * its products regrouped, such as x·(W + ΔW) against x·W + x·ΔW. Values are O(1) to O(10)
   * and each sum has fewer than 100 terms.
   */
  reassociated: { atol: 1e-5, rtol: 1e-5, reason: 'float32 vs float64 loop or regrouped products' },
  /**
   * RoPE tables computed here in float64 vs tables a PyTorch exporter computed in float32:
   * rounding the angle (up to ~255 rad) to float32 moves sin/cos by up to ~4e-6.
   */
  ropeTable: { atol: 1e-5, rtol: 0, reason: 'float32 vs float64 RoPE angles up to 255 rad' },
  /** Whole-model logits through 5 decoder layers compared across code paths. */
  modelLogits: { atol: 1e-4, rtol: 1e-4, reason: 'float32 error accumulates over layers' },
} as const;

export type ToleranceName = keyof typeof TOLERANCES;
