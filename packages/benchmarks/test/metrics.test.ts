import { ConfigError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import { accuracy, binaryF1, confusionCounts, matthewsCorrelation } from '../src/index.js';

interface MetricCase {
  readonly name: string;
  readonly predicted: number[];
  readonly gold: number[];
  readonly accuracy: number;
  readonly f1: number;
  readonly mcc: number;
}

// Values worked out by hand from the confusion counts, with class 1 positive:
// F1 = 2TP / (2TP + FP + FN), MCC = (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)).
const CASES: readonly MetricCase[] = [
  // TP 2, FP 1, FN 1, TN 1: F1 = 4/6, MCC = (2 − 1) / sqrt(3·3·2·2) = 1/6.
  {
    name: 'mixed',
    predicted: [1, 1, 0, 0, 1],
    gold: [1, 0, 1, 0, 1],
    accuracy: 3 / 5,
    f1: 2 / 3,
    mcc: 1 / 6,
  },
  { name: 'all correct', predicted: [1, 0, 1, 0], gold: [1, 0, 1, 0], accuracy: 1, f1: 1, mcc: 1 },
  {
    name: 'all inverted',
    predicted: [0, 1, 0, 1],
    gold: [1, 0, 1, 0],
    accuracy: 0,
    f1: 0,
    mcc: -1,
  },
  // Positive never predicted: TP 0, FN 2, so F1 = 0 and MCC has a zero marginal.
  {
    name: 'positive never predicted',
    predicted: [0, 0, 0],
    gold: [1, 0, 1],
    accuracy: 1 / 3,
    f1: 0,
    mcc: 0,
  },
  // Negative never predicted: TN = FN = 0, so MCC has a zero marginal. F1 = 4/(4+1) = 0.8.
  {
    name: 'negative never predicted',
    predicted: [1, 1, 1],
    gold: [1, 0, 1],
    accuracy: 2 / 3,
    f1: 0.8,
    mcc: 0,
  },
  // Only one class in gold: TP+FN = 0.
  {
    name: 'gold has no positive',
    predicted: [0, 1, 0],
    gold: [0, 0, 0],
    accuracy: 2 / 3,
    f1: 0,
    mcc: 0,
  },
  { name: 'empty', predicted: [], gold: [], accuracy: 0, f1: 0, mcc: 0 },
];

describe('metrics', () => {
  it.each(CASES)('$name', ({ predicted, gold, ...expected }) => {
    expect(accuracy(predicted, gold)).toBeCloseTo(expected.accuracy, 12);
    expect(binaryF1(predicted, gold)).toBeCloseTo(expected.f1, 12);
    expect(matthewsCorrelation(predicted, gold)).toBeCloseTo(expected.mcc, 12);
  });

  it('confusion counts', () => {
    expect(confusionCounts([1, 1, 0, 0, 1], [1, 0, 1, 0, 1])).toEqual({
      truePositive: 2,
      falsePositive: 1,
      trueNegative: 1,
      falseNegative: 1,
    });
  });

  it('positive label choice', () => {
    // With class 0 positive the mixed case has TP 1, FP 1, FN 1: F1 = 2/4.
    expect(binaryF1([1, 1, 0, 0, 1], [1, 0, 1, 0, 1], 0)).toBeCloseTo(0.5, 12);
    // MCC is symmetric in the choice of the positive class.
    expect(matthewsCorrelation([1, 1, 0, 0, 1], [1, 0, 1, 0, 1], 0)).toBeCloseTo(1 / 6, 12);
  });

  it('accuracy over many classes', () => {
    expect(accuracy([0, 2, 4, 3], [0, 2, 1, 3])).toBe(0.75);
  });

  it('length mismatch', () => {
    expect(() => accuracy([1], [1, 0])).toThrow(ConfigError);
    expect(() => binaryF1([1], [1, 0])).toThrow(/1 labels but gold has 2/);
  });
});
