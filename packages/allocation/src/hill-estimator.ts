import { NumericError, ShapeError } from '@guilomo/core';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';

/** Result of {@link estimatePlAlphaHill}. */
export interface HillEstimate {
  /** Power-law exponent of the density, `p(λ) ∝ λ^−α`. 0 when every candidate was skipped. */
  readonly alpha: number;
  /** Lower cut-off λ_min of the chosen fit. */
  readonly xmin: number;
  /** Kolmogorov-Smirnov distance of the chosen fit; 1 when every candidate was skipped. */
  readonly ksDistance: number;
  /** Number of positive eigenvalues used. */
  readonly numEigenvalues: number;
}

/**
 * Computes the empirical spectral density of a weight matrix: the eigenvalues of `WᵀW`, which
 * are the squared singular values of W, sorted ascending. Only the `min(rows, cols)` singular
 * values are returned, so the structural zeros of `WᵀW` for a wide W are left out. Runs an SVD
 * from ml-matrix in float64.
 *
 * @param values - W in row-major order, `rows × cols` entries.
 */
export function esdEigenvalues(
  values: ArrayLike<number>,
  rows: number,
  cols: number,
): Float64Array {
  if (values.length !== rows * cols) {
    throw new ShapeError(
      `Weight data has ${values.length} entries, expected ${rows} × ${cols} = ${rows * cols}.`,
    );
  }
  const svd = new SingularValueDecomposition(Matrix.from1DArray(rows, cols, values), {
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
    autoTranspose: true,
  });
  return Float64Array.from(svd.diagonal, (sigma) => sigma * sigma).sort();
}

/**
 * Estimates the power-law exponent α of an eigenvalue spectrum with the Hill estimator and the
 * histogram-peak xmin search of AlphaLoRA's `fix_finger` (expert_number.py, which takes it from
 * TempBalance):
 *
 * 1. Histogram log10 λ in `bins` equal bins over [min, max]. `x* = 10^(left edge of the
 *    fullest bin)`, the first such bin on ties.
 * 2. Scan the candidates `xmin = λ_i` for i = 0 … N−2 in ascending order. Skip a candidate while
 *    `λ_i < log10(0.95·x*)` and stop at the first `λ_i > 1.5·x*`. The lower bound compares a
 *    log with a raw eigenvalue. `fix_finger` does this too, and it is kept on purpose so that the
 *    estimates match.
 * 3. For each candidate, with n = N − i: `α_i = 1 + n / (Σ_{j≥i} ln λ_j − n ln λ_i)`. When
 *    α_i > 1, `D_i = max_j |1 − (λ_{i+j}/λ_i)^(1−α_i) − j/n|` over j = 0 … n−1.
 * 4. Return the α at the first argmin of D. Skipped candidates keep D = 1 and α = 0.
 *
 * Eigenvalues ≤ 0 are dropped first because their log is undefined. `fix_finger` keeps them by
 * default and would produce NaN. Everything runs in float64, where `fix_finger` uses float32.
 */
export function estimatePlAlphaHill(eigenvalues: ArrayLike<number>, bins = 100): HillEstimate {
  const lambda = Float64Array.from(eigenvalues)
    .filter((value) => value > 0)
    .sort();
  const count = lambda.length;
  if (count < 2 || !Number.isFinite(lambda[count - 1] as number)) {
    throw new NumericError(
      `The Hill estimator needs at least 2 positive finite eigenvalues; received ${count} positive values out of ${eigenvalues.length}, largest ${lambda[count - 1]}.`,
    );
  }
  const xStar = histogramPeak(lambda, bins);
  const lowerBound = Math.log10(0.95 * xStar);
  const upperBound = 1.5 * xStar;

  const logs = lambda.map(Math.log);
  const suffixLogSums = new Float64Array(count + 1);
  for (let i = count - 1; i >= 0; i--) {
    suffixLogSums[i] = (suffixLogSums[i + 1] as number) + (logs[i] as number);
  }

  // One slot per candidate. A skipped candidate keeps α = 0 and D = 1. A candidate with α ≤ 1
  // keeps its α but D = 1, so it only wins when no candidate gets D < 1.
  const alphas = new Float64Array(count - 1);
  const distances = new Float64Array(count - 1).fill(1);
  for (let i = 0; i < count - 1; i++) {
    const xmin = lambda[i] as number;
    if (xmin < lowerBound) {
      continue;
    }
    if (xmin > upperBound) {
      break;
    }
    const n = count - i;
    const alpha = 1 + n / ((suffixLogSums[i] as number) - n * (logs[i] as number));
    alphas[i] = alpha;
    if (alpha > 1) {
      distances[i] = ksDistance(logs, i, alpha);
    }
  }

  let best = 0;
  for (let i = 1; i < distances.length; i++) {
    if ((distances[i] as number) < (distances[best] as number)) {
      best = i;
    }
  }
  return {
    alpha: alphas[best] as number,
    xmin: lambda[best] as number,
    ksDistance: distances[best] as number,
    numEigenvalues: count,
  };
}

/** Returns `10^(left edge of the fullest bin)` of the histogram of log10 λ. */
function histogramPeak(lambda: Float64Array, bins: number): number {
  const low = Math.log10(lambda[0] as number);
  const high = Math.log10(lambda[lambda.length - 1] as number);
  const width = (high - low) / bins;
  if (!(width > 0)) {
    return lambda[0] as number;
  }
  const counts = new Array<number>(bins).fill(0);
  for (const value of lambda) {
    const bin = Math.min(bins - 1, Math.floor((Math.log10(value) - low) / width));
    counts[bin] = (counts[bin] as number) + 1;
  }
  let fullest = 0;
  for (let bin = 1; bin < bins; bin++) {
    if ((counts[bin] as number) > (counts[fullest] as number)) {
      fullest = bin;
    }
  }
  return 10 ** (low + fullest * width);
}

/**
 * KS distance between the tail λ[start…] and a power law with exponent α from λ[start]. The
 * power `(λ_{start+j}/λ_start)^(1−α)` is computed as `exp((1−α)(ln λ_{start+j} − ln λ_start))`
 * from the precomputed logs, which ran the Pareto tests over ten times faster than `**` on
 * Node 20.
 */
function ksDistance(logs: Float64Array, start: number, alpha: number): number {
  const logXmin = logs[start] as number;
  const n = logs.length - start;
  let distance = 0;
  for (let j = 0; j < n; j++) {
    const logRatio = (logs[start + j] as number) - logXmin;
    // A ratio of 1 gives 1 even for infinite α, as 1 ** ±Infinity does in PyTorch (NaN in JS).
    const fitted = logRatio === 0 ? 0 : 1 - Math.exp((1 - alpha) * logRatio);
    distance = Math.max(distance, Math.abs(fitted - j / n));
  }
  return distance;
}
