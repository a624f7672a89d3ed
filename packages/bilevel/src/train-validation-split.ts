import { ConfigError, Rng } from '@guilomo/core';
import { checkNumber } from './validate.js';

/** Options of {@link splitTrainValidation}. */
export interface TrainValidationSplitOptions {
  /**
   * Share of the examples held out for validation, in (0, 1). Default 0.5, the share of the
   * data that the authors' alternating pairing uses for validation.
   */
  readonly validationFraction?: number;
  /** Seed of the shuffle that decides the split. */
  readonly seed: number;
}

/** Two disjoint parts of a list of examples. */
export interface TrainValidationSplit<T> {
  readonly train: T[];
  readonly validation: T[];
}

/**
 * Splits `examples` into train and validation parts by a seeded shuffle. The validation part
 * gets `round(n · validationFraction)` examples, clamped so that each part has at least one.
 * Both parts keep the input order of their examples.
 *
 * @example
 * const { train, validation } = splitTrainValidation(records, { validationFraction: 0.2, seed: 7 });
 */
export function splitTrainValidation<T>(
  examples: readonly T[],
  options: TrainValidationSplitOptions,
): TrainValidationSplit<T> {
  const fraction = checkNumber('validationFraction', options.validationFraction ?? 0.5, {
    greaterThan: 0,
    lessThan: 1,
  });
  const seed = checkNumber('seed', options.seed, { integer: true });
  if (examples.length < 2) {
    throw new ConfigError(
      'examples',
      `has ${examples.length} item(s); a train/validation split needs at least 2.`,
    );
  }
  const validationSize = Math.min(
    examples.length - 1,
    Math.max(1, Math.round(examples.length * fraction)),
  );
  const indices = examples.map((_, i) => i);
  new Rng(seed).shuffle(indices);
  const isValidation = new Uint8Array(examples.length);
  for (const index of indices.slice(0, validationSize)) {
    isValidation[index] = 1;
  }
  const train: T[] = [];
  const validation: T[] = [];
  examples.forEach((example, i) => {
    (isValidation[i] === 1 ? validation : train).push(example);
  });
  return { train, validation };
}
