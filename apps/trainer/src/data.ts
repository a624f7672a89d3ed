import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import type { Rng } from '@guilomo/core';

/** One tokenised training sequence. */
export interface TokenisedExample {
  readonly ids: readonly number[];
  /** Whether the sequence was cut at the length limit. */
  readonly truncated: boolean;
}

/** A batch as tensors: ids `[B, T]` int32 right-padded with 0, and a float mask of real tokens. */
export interface Batch {
  readonly ids: Tensor2D;
  readonly mask: Tensor2D;
  readonly tokens: number;
}

/**
 * Tokenises training texts with BOS, appends EOS when it fits, and cuts at `maxLength` tokens
 * (keeping the start, where the prompt is). Returns the sequences and how many were cut.
 */
export function tokeniseTexts(
  texts: readonly string[],
  encode: (text: string) => number[],
  maxLength: number,
  bosId: number,
  eosId: number,
): { examples: TokenisedExample[]; truncated: number } {
  let truncated = 0;
  const examples = texts.map((text) => {
    const ids = [bosId, ...encode(text)];
    const cut = ids.length >= maxLength;
    if (cut) {
      truncated++;
      return { ids: ids.slice(0, maxLength), truncated: true };
    }
    return { ids: [...ids, eosId], truncated: false };
  });
  return { examples, truncated };
}

/** Builds batch tensors from sequences, padded to the longest one (rounded up to 8 tokens). */
export function makeBatch(examples: readonly TokenisedExample[], maxLength: number): Batch {
  const longest = Math.max(...examples.map((example) => example.ids.length));
  const length = Math.min(maxLength, Math.ceil(longest / 8) * 8);
  const ids = new Int32Array(examples.length * length);
  const mask = new Float32Array(examples.length * length);
  let tokens = 0;
  examples.forEach((example, row) => {
    const n = Math.min(example.ids.length, length);
    for (let i = 0; i < n; i++) {
      ids[row * length + i] = example.ids[i] as number;
      mask[row * length + i] = 1;
    }
    tokens += n;
  });
  return {
    ids: tf.tensor2d(ids, [examples.length, length], 'int32'),
    mask: tf.tensor2d(mask, [examples.length, length]),
    tokens,
  };
}

export function disposeBatch(batch: Batch): void {
  batch.ids.dispose();
  batch.mask.dispose();
}

/**
 * Endless, seeded batch order over a list of examples with a resumable cursor: each epoch is a
 * fresh shuffle drawn from the sampler's own generator.
 */
export class BatchSampler {
  private order: number[] = [];
  private position = 0;
  private epoch = 0;

  constructor(
    private readonly size: number,
    private readonly batchSize: number,
    private readonly rng: Rng,
  ) {
    this.reshuffle();
  }

  /** Returns the example indices of the next batch. */
  next(): number[] {
    const batch: number[] = [];
    while (batch.length < Math.min(this.batchSize, this.size)) {
      if (this.position >= this.order.length) {
        this.epoch++;
        this.reshuffle();
      }
      batch.push(this.order[this.position] as number);
      this.position++;
    }
    return batch;
  }

  getState(): { order: number[]; position: number; epoch: number; rng: number } {
    return { order: [...this.order], position: this.position, epoch: this.epoch, rng: this.rng.getState() };
  }

  setState(state: { order: number[]; position: number; epoch: number; rng: number }): void {
    this.order = [...state.order];
    this.position = state.position;
    this.epoch = state.epoch;
    this.rng.setState(state.rng);
  }

  private reshuffle(): void {
    this.order = this.rng.shuffle(Array.from({ length: this.size }, (_, i) => i));
    this.position = 0;
  }
}
