import { FormatError, Rng } from '@guilomo/core';
import type { BatchCursor } from './batch-iterator.js';
import { BatchIterator } from './batch-iterator.js';
import { splitTrainValidation } from './train-validation-split.js';
import { checkChoice, checkNumber } from './validate.js';

/**
 * Source of the validation batches.
 * - `held-out`: a seeded split of the examples. Train batches come from one part and
 *   validation batches from the other, which cycles on its own.
 * - `alternate`: the GuiLoMo authors' scheme. Consecutive batches of the whole set form a pair,
 *   the first for training and the second for validation, so half of each epoch's batches never
 *   train the weights. With an odd batch count the last pair validates on its own train batch.
 */
export type PairingScheme = 'held-out' | 'alternate';

export const PAIRING_SCHEMES: readonly PairingScheme[] = ['held-out', 'alternate'];

/** Options of {@link BatchPairIterator}. */
export interface BatchPairIteratorOptions {
  /** Pairing scheme. Default `held-out`. */
  readonly pairing?: PairingScheme;
  /** Examples per batch, for train and validation batches alike. */
  readonly batchSize: number;
  /** Seed of the split and of every shuffle. */
  readonly seed: number;
  /** Held-out share of the examples (`held-out` only). Default 0.5. */
  readonly validationFraction?: number;
}

/** One (train, validation) pair of batches. */
export interface BatchPair<T> {
  readonly train: T[];
  readonly validation: T[];
  /** Epoch of the train batch. */
  readonly epoch: number;
  /** Index of the pair within its epoch. */
  readonly index: number;
}

/** Position of a {@link BatchPairIterator}. Plain JSON. */
export interface BatchPairCursor {
  readonly pairing: PairingScheme;
  readonly train: BatchCursor;
  /** Cursor of the validation batches, or null for `alternate` pairing. */
  readonly validation: BatchCursor | null;
}

/**
 * Endless iterator over (train, validation) batch pairs for {@link BilevelSearch.step}, with a
 * cursor that resumes the exact sequence.
 *
 * @example
 * const pairs = new BatchPairIterator(records, { pairing: 'alternate', batchSize: 16, seed: 1 });
 * const { train, validation } = pairs.next();
 */
export class BatchPairIterator<T> {
  readonly pairing: PairingScheme;
  /** Pairs in each epoch of the train batches. */
  readonly pairsPerEpoch: number;
  private readonly trainBatches: BatchIterator<T>;
  private readonly validationBatches: BatchIterator<T> | null;

  constructor(examples: readonly T[], options: BatchPairIteratorOptions) {
    this.pairing = checkChoice('pairing', options.pairing ?? 'held-out', PAIRING_SCHEMES);
    const root = new Rng(checkNumber('seed', options.seed, { integer: true }));
    const splitSeed = root.nextInt(2 ** 31);
    const trainSeed = root.nextInt(2 ** 31);
    const validationSeed = root.nextInt(2 ** 31);
    const batchSize = options.batchSize;
    if (this.pairing === 'alternate') {
      this.trainBatches = new BatchIterator(examples, { batchSize, seed: trainSeed });
      this.validationBatches = null;
      this.pairsPerEpoch = Math.ceil(this.trainBatches.batchesPerEpoch / 2);
    } else {
      const split = splitTrainValidation(examples, {
        seed: splitSeed,
        ...(options.validationFraction === undefined
          ? {}
          : { validationFraction: options.validationFraction }),
      });
      this.trainBatches = new BatchIterator(split.train, { batchSize, seed: trainSeed });
      this.validationBatches = new BatchIterator(split.validation, {
        batchSize,
        seed: validationSeed,
      });
      this.pairsPerEpoch = this.trainBatches.batchesPerEpoch;
    }
  }

  /** Returns the next pair. */
  next(): BatchPair<T> {
    const train = this.trainBatches.next();
    let validation: T[];
    if (this.validationBatches !== null) {
      validation = this.validationBatches.next().items;
    } else if (this.trainBatches.remainingInEpoch > 0) {
      validation = this.trainBatches.next().items;
    } else {
      validation = [...train.items];
    }
    const index = this.pairing === 'alternate' ? Math.floor(train.index / 2) : train.index;
    return { train: train.items, validation, epoch: train.epoch, index };
  }

  /** Returns the position of the next pair. */
  getCursor(): BatchPairCursor {
    return {
      pairing: this.pairing,
      train: this.trainBatches.getCursor(),
      validation: this.validationBatches?.getCursor() ?? null,
    };
  }

  /** Moves to a position returned by {@link getCursor} of an iterator built the same way. */
  setCursor(cursor: BatchPairCursor): void {
    if (cursor.pairing !== this.pairing) {
      throw new FormatError(
        `Batch pair cursor was saved with pairing ${JSON.stringify(cursor.pairing)}, but this iterator uses ` +
          `${JSON.stringify(this.pairing)}.`,
      );
    }
    if (this.validationBatches !== null) {
      if (cursor.validation === null) {
        throw new FormatError(
          'Batch pair cursor has no validation cursor, which `held-out` pairing needs.',
        );
      }
      this.validationBatches.setCursor(cursor.validation);
    }
    this.trainBatches.setCursor(cursor.train);
  }
}
