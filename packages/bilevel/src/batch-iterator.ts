import { ConfigError, FormatError, Rng } from '@guilomo/core';
import { checkNumber } from './validate.js';

/** Options of {@link BatchIterator}. */
export interface BatchIteratorOptions {
  /** Examples per batch. */
  readonly batchSize: number;
  /** Seed of the per-epoch shuffles. */
  readonly seed: number;
  /** Reshuffle the order every epoch. Default true. */
  readonly shuffle?: boolean;
  /** Drop the last, smaller batch of each epoch. Default false. */
  readonly dropLast?: boolean;
}

/**
 * Position of a {@link BatchIterator}: the epoch, the index of the next batch within it, and
 * the generator state from which the epoch's order was drawn. Plain JSON.
 */
export interface BatchCursor {
  readonly epoch: number;
  readonly index: number;
  readonly rngState: number;
}

/** One batch with its position in the run. */
export interface Batch<T> {
  readonly items: T[];
  readonly epoch: number;
  /** Index of the batch within its epoch. */
  readonly index: number;
}

/**
 * Endless iterator over batches of `items` in a seeded order that is reshuffled every epoch.
 * The cursor stores the generator state at the start of the epoch, so restoring a cursor
 * redraws the same order and continues with the same batch.
 *
 * @example
 * const batches = new BatchIterator(records, { batchSize: 16, seed: 1 });
 * const first = batches.next();
 * const saved = batches.getCursor();
 */
export class BatchIterator<T> {
  readonly batchSize: number;
  /** Batches in each epoch. */
  readonly batchesPerEpoch: number;
  private readonly items: readonly T[];
  private readonly shuffle: boolean;
  private readonly rng: Rng;
  private order: number[] = [];
  private epochValue = 0;
  private indexValue = 0;
  private epochStartState = 0;

  constructor(items: readonly T[], options: BatchIteratorOptions) {
    this.items = items;
    this.batchSize = checkNumber('batchSize', options.batchSize, { min: 1, integer: true });
    this.shuffle = options.shuffle ?? true;
    const dropLast = options.dropLast ?? false;
    this.batchesPerEpoch = dropLast
      ? Math.floor(items.length / this.batchSize)
      : Math.ceil(items.length / this.batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new ConfigError(
        'items',
        `has ${items.length} item(s), which make no batch of batchSize ${this.batchSize}` +
          (dropLast ? ' with dropLast = true.' : '.'),
      );
    }
    this.rng = new Rng(checkNumber('seed', options.seed, { integer: true }));
    this.startEpoch(0, this.rng.getState());
  }

  /** Epoch of the next batch. */
  get epoch(): number {
    return this.indexValue === this.batchesPerEpoch ? this.epochValue + 1 : this.epochValue;
  }

  /** Batches left in the current epoch before the order is reshuffled. */
  get remainingInEpoch(): number {
    return this.batchesPerEpoch - this.indexValue;
  }

  /** Returns the next batch, starting a new epoch after the last batch of the current one. */
  next(): Batch<T> {
    if (this.indexValue === this.batchesPerEpoch) {
      this.startEpoch(this.epochValue + 1, this.rng.getState());
    }
    const start = this.indexValue * this.batchSize;
    const positions = this.order.slice(start, start + this.batchSize);
    const batch: Batch<T> = {
      items: positions.map((position) => this.items[position] as T),
      epoch: this.epochValue,
      index: this.indexValue,
    };
    this.indexValue += 1;
    return batch;
  }

  /** Returns the position of the next batch. */
  getCursor(): BatchCursor {
    return { epoch: this.epochValue, index: this.indexValue, rngState: this.epochStartState };
  }

  /** Moves to a position returned by {@link getCursor} of an iterator over the same items. */
  setCursor(cursor: BatchCursor): void {
    const valid =
      Number.isInteger(cursor.epoch) &&
      cursor.epoch >= 0 &&
      Number.isInteger(cursor.index) &&
      cursor.index >= 0 &&
      cursor.index <= this.batchesPerEpoch &&
      Number.isInteger(cursor.rngState);
    if (!valid) {
      throw new FormatError(
        `Invalid batch cursor ${JSON.stringify(cursor)}: epoch and rngState must be integers and index ` +
          `an integer in [0, ${this.batchesPerEpoch}].`,
      );
    }
    this.startEpoch(cursor.epoch, cursor.rngState);
    this.indexValue = cursor.index;
  }

  private startEpoch(epoch: number, rngState: number): void {
    this.rng.setState(rngState);
    this.epochStartState = this.rng.getState();
    this.order = this.items.map((_, i) => i);
    if (this.shuffle) {
      this.rng.shuffle(this.order);
    }
    this.epochValue = epoch;
    this.indexValue = 0;
  }
}
