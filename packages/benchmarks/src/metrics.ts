import { ConfigError } from '@guilomo/core';

/** Counts of a binary confusion matrix. */
export interface ConfusionCounts {
  readonly truePositive: number;
  readonly falsePositive: number;
  readonly trueNegative: number;
  readonly falseNegative: number;
}

function checkLengths(predicted: readonly number[], gold: readonly number[]): void {
  if (predicted.length !== gold.length) {
    throw new ConfigError(
      'predicted',
      `has ${predicted.length} labels but gold has ${gold.length}; pass one prediction per gold label.`,
    );
  }
}

/** Returns the fraction of positions where `predicted` equals `gold`, or 0 for empty input. */
export function accuracy(predicted: readonly number[], gold: readonly number[]): number {
  checkLengths(predicted, gold);
  if (gold.length === 0) {
    return 0;
  }
  let correct = 0;
  for (let i = 0; i < gold.length; i++) {
    if (predicted[i] === gold[i]) {
      correct += 1;
    }
  }
  return correct / gold.length;
}

/** Counts the binary confusion matrix, where `positive` is the positive label and all others are negative. */
export function confusionCounts(
  predicted: readonly number[],
  gold: readonly number[],
  positive = 1,
): ConfusionCounts {
  checkLengths(predicted, gold);
  let truePositive = 0;
  let falsePositive = 0;
  let trueNegative = 0;
  let falseNegative = 0;
  for (let i = 0; i < gold.length; i++) {
    const predictedPositive = predicted[i] === positive;
    const goldPositive = gold[i] === positive;
    if (predictedPositive && goldPositive) {
      truePositive += 1;
    } else if (predictedPositive) {
      falsePositive += 1;
    } else if (goldPositive) {
      falseNegative += 1;
    } else {
      trueNegative += 1;
    }
  }
  return { truePositive, falsePositive, trueNegative, falseNegative };
}

/**
 * Returns the F1 score of the positive class, `2·TP / (2·TP + FP + FN)`. It is 0 when the
 * positive class is neither predicted nor present, as in scikit-learn's default.
 */
export function binaryF1(
  predicted: readonly number[],
  gold: readonly number[],
  positive = 1,
): number {
  const { truePositive, falsePositive, falseNegative } = confusionCounts(predicted, gold, positive);
  const denominator = 2 * truePositive + falsePositive + falseNegative;
  return denominator === 0 ? 0 : (2 * truePositive) / denominator;
}

/**
 * Returns the Matthews correlation coefficient of a binary prediction. It is 0 when any
 * marginal is empty, for example when one class is never predicted, as in scikit-learn.
 */
export function matthewsCorrelation(
  predicted: readonly number[],
  gold: readonly number[],
  positive = 1,
): number {
  const {
    truePositive: tp,
    falsePositive: fp,
    trueNegative: tn,
    falseNegative: fn,
  } = confusionCounts(predicted, gold, positive);
  const denominator = Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
  return denominator === 0 ? 0 : (tp * tn - fp * fn) / denominator;
}
