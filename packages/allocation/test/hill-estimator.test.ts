import { NumericError, Rng, ShapeError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import { esdEigenvalues, estimatePlAlphaHill } from '../src/index.js';

/** Draws `count` samples of a Pareto density p(x) ∝ x^−α on [xmin, ∞) by inverse transform. */
function paretoSamples(rng: Rng, count: number, alpha: number, xmin: number): Float64Array {
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    samples[i] = xmin * (1 - rng.next()) ** (-1 / (alpha - 1));
  }
  return samples;
}

describe('estimatePlAlphaHill', () => {
  // The Hill estimate from n tail samples has standard deviation about (α − 1)/√n. With 4000
  // samples and the xmin search keeping most of them, 0.1·(α − 1) is over three deviations.
  it.each([
    [2, 1, 11],
    [2.5, 0.01, 12],
    [3, 1, 13],
    [4, 1e-3, 14],
    [4, 50, 15],
  ])('recovers α = %f from Pareto samples with xmin %f', (alpha, xmin, seed) => {
    const samples = paretoSamples(new Rng(seed), 4000, alpha, xmin);
    const estimate = estimatePlAlphaHill(samples);
    expect(Math.abs(estimate.alpha - alpha)).toBeLessThanOrEqual(0.1 * (alpha - 1));
    expect(estimate.numEigenvalues).toBe(4000);
    expect(estimate.ksDistance).toBeLessThan(0.05);
  });

  it('keeps the log-versus-raw lower bound', () => {
    // The fullest log10 bin starts at x* ≈ 4.11. The kept bound log10(0.95·x*) ≈ 0.59 lets the
    // candidate xmin = 0.81 through, and it has the smallest KS distance (0.2489). A raw bound
    // 0.95·x* would skip it and return α ≈ 3.264 from xmin = 4.16 instead.
    const lambda = [0.81, 1.32, 1.73, 2.01, 2.75, 4.16, 4.17, 6.53, 7.15, 7.35, 7.47, 10.68];
    const n = lambda.length;
    const logSum = lambda.reduce((sum, value) => sum + Math.log(value), 0);
    const expected = 1 + n / (logSum - n * Math.log(0.81));
    const estimate = estimatePlAlphaHill(lambda);
    expect(estimate.xmin).toBe(0.81);
    expect(estimate.alpha).toBeCloseTo(expected, 12);
    expect(estimate.alpha).toBeCloseTo(1.6694807666099307, 12);
    expect(estimate.ksDistance).toBeCloseTo(0.24893708011482024, 12);
  });

  it('sorts its input', () => {
    const lambda = [4.17, 0.81, 10.68, 1.32, 7.15, 1.73, 2.75, 2.01, 7.35, 4.16, 7.47, 6.53];
    expect(estimatePlAlphaHill(lambda).alpha).toBeCloseTo(1.6694807666099307, 12);
  });

  it('drops non-positive eigenvalues', () => {
    const lambda = [0, 0, 0.81, 1.32, 1.73, 2.01, 2.75, 4.16, 4.17, 6.53, 7.15, 7.35, 7.47, 10.68];
    const estimate = estimatePlAlphaHill(lambda);
    expect(estimate.numEigenvalues).toBe(12);
    expect(estimate.alpha).toBeCloseTo(1.6694807666099307, 12);
  });

  it.each([[[]], [[1]], [[0, 0, 3]], [[1, Number.POSITIVE_INFINITY]]])(
    'rejects spectrum %j',
    (lambda) => {
      expect(() => estimatePlAlphaHill(lambda)).toThrow(NumericError);
    },
  );

  it('returns infinite α for a flat spectrum', () => {
    // Every candidate has α = ∞ and D = (n − 1)/n, smallest at the last one: n = 2, D = 0.5.
    const estimate = estimatePlAlphaHill([2, 2, 2, 2]);
    expect(estimate.alpha).toBe(Number.POSITIVE_INFINITY);
    expect(estimate.ksDistance).toBeCloseTo(0.5, 12);
  });
});

describe('esdEigenvalues', () => {
  it('squares the singular values, ascending', () => {
    const values = [3, 0, 0, 0, 1, 0, 0, 0, 2];
    expect(Array.from(esdEigenvalues(values, 3, 3))).toEqual(
      [1, 4, 9].map((v) => expect.closeTo(v, 12)),
    );
  });

  it.each([
    [6, 4],
    [4, 6],
  ])('matches traces of WᵀW for a %i×%i matrix', (rows, cols) => {
    const rng = new Rng(rows * 10 + cols);
    const values = rng.normalArray(rows * cols);
    const lambda = esdEigenvalues(values, rows, cols);
    expect(lambda).toHaveLength(Math.min(rows, cols));
    // Σλ = ‖W‖²_F and Σλ² = ‖WᵀW‖²_F.
    let frobenius = 0;
    for (const value of values) {
      frobenius += value * value;
    }
    let gramSquared = 0;
    for (let i = 0; i < cols; i++) {
      for (let j = 0; j < cols; j++) {
        let dot = 0;
        for (let r = 0; r < rows; r++) {
          dot += (values[r * cols + i] as number) * (values[r * cols + j] as number);
        }
        gramSquared += dot * dot;
      }
    }
    expect(lambda.reduce((a, b) => a + b, 0)).toBeCloseTo(frobenius, 8);
    expect(lambda.reduce((a, b) => a + b * b, 0)).toBeCloseTo(gramSquared, 6);
    for (let i = 1; i < lambda.length; i++) {
      expect(lambda[i]).toBeGreaterThanOrEqual(lambda[i - 1] as number);
    }
  });

  it('rejects data of the wrong size', () => {
    expect(() => esdEigenvalues([1, 2, 3], 2, 2)).toThrow(ShapeError);
  });
});
