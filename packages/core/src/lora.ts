import type { Tensor2D, Variable } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import type { AdapterContext, AdapterOutput, LinearAdapter } from './adapter.js';
import { seededDropout } from './dropout.js';
import type { DropoutMaskRequest } from './dropout-prefetch.js';
import { ConfigError, NumericError, ShapeError } from './errors.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { matMul2d } from './matmul.js';
import type { Rng } from './rng.js';

/** Options of {@link Lora}. */
export interface LoraOptions {
  readonly dIn: number;
  readonly dOut: number;
  readonly rank: number;
  /** LoRA α; the output is scaled by α / rank. Default 16. */
  readonly alpha?: number;
  /** Inverted-dropout probability on the input. Default 0.05. */
  readonly dropout?: number;
  readonly rng: Rng;
  readonly logger?: Logger;
}

/**
 * Plain LoRA adapter: `delta = dropout(x) · A · B · α/r`, with A `[dIn, r]` (Kaiming-uniform,
 * bound 1/√dIn) and B `[r, dOut]` (zeros). The PEFT layout of the factors is the transpose:
 * `lora_A.weight` `[r, dIn]` and `lora_B.weight` `[dOut, r]`.
 */
export class Lora implements LinearAdapter {
  readonly dIn: number;
  readonly dOut: number;
  readonly rank: number;
  readonly alpha: number;
  readonly dropout: number;
  readonly scaling: number;
  readonly loraA: Variable<tf.Rank.R2>;
  readonly loraB: Variable<tf.Rank.R2>;
  private readonly logger: Logger;
  private merged = false;

  constructor(options: LoraOptions) {
    const { dIn, dOut, rank, rng } = options;
    for (const [field, value] of [
      ['dIn', dIn],
      ['dOut', dOut],
      ['rank', rank],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new ConfigError(field, `must be a positive integer, received ${value}.`);
      }
    }
    this.dIn = dIn;
    this.dOut = dOut;
    this.rank = rank;
    this.alpha = options.alpha ?? 16;
    this.dropout = options.dropout ?? 0.05;
    this.scaling = this.alpha / rank;
    this.logger = options.logger ?? silentLogger;
    const bound = 1 / Math.sqrt(dIn);
    // tidy disposes the initial values, and each variable keeps its own reference to the data.
    this.loraA = tf.tidy(() =>
      tf.variable(tf.tensor2d(rng.uniformArray(dIn * rank, -bound, bound), [dIn, rank])),
    );
    this.loraB = tf.tidy(() => tf.variable(tf.zeros([rank, dOut])));
  }

  get parameterCount(): number {
    return this.rank * (this.dIn + this.dOut);
  }

  get isMerged(): boolean {
    return this.merged;
  }

  forward(x: Tensor2D, context: AdapterContext): AdapterOutput {
    if (x.rank !== 2 || x.shape[1] !== this.dIn) {
      throw new ShapeError(
        `Lora expects input [tokens, ${this.dIn}], received [${x.shape.join(', ')}].`,
      );
    }
    if (this.merged) {
      return { delta: tf.zeros([x.shape[0], this.dOut]) };
    }
    const delta = tf.tidy(() => {
      const input =
        context.training && this.dropout > 0
          ? seededDropout(x, this.dropout, context.dropoutSeed)
          : x;
      return tf.mul(matMul2d(matMul2d(input, this.loraA), this.loraB), this.scaling) as Tensor2D;
    });
    return { delta };
  }

  /** Returns the weight update `α/r · A·B` in the model's `[dIn, dOut]` layout. */
  deltaWeight(): Tensor2D {
    return tf.tidy(() => tf.mul(tf.matMul(this.loraA, this.loraB), this.scaling) as Tensor2D);
  }

  /**
   * Returns `weight + ΔW` for a frozen weight `[dIn, dOut]` and marks the adapter as merged, so
   * that its forward adds nothing. The caller swaps the returned tensor into the model.
   */
  merge(weight: Tensor2D): Tensor2D {
    if (this.merged) {
      this.logger.warn(
        'Lora.merge called on an adapter that is already merged; returning the weight unchanged.',
      );
      return tf.clone(weight);
    }
    const merged = tf.tidy(() => tf.add(weight, this.deltaWeight()) as Tensor2D);
    const finite = tf.tidy(() => tf.all(tf.isFinite(merged)).dataSync()[0]);
    if (finite !== 1) {
      merged.dispose();
      throw new NumericError(
        'Lora.merge produced non-finite values: the adapter weights contain NaN or Inf.',
      );
    }
    this.merged = true;
    return merged;
  }

  /** Returns `weight − ΔW` and marks the adapter as unmerged. Warns if it was not merged. */
  unmerge(weight: Tensor2D): Tensor2D {
    if (!this.merged) {
      this.logger.warn(
        'Lora.unmerge called on an adapter that is not merged; returning the weight unchanged.',
      );
      return tf.clone(weight);
    }
    this.merged = false;
    return tf.tidy(() => tf.sub(weight, this.deltaWeight()) as Tensor2D);
  }

  dropoutMaskRequest(tokens: number, context: AdapterContext): DropoutMaskRequest | undefined {
    if (!context.training || !(this.dropout > 0) || context.dropoutSeed === undefined) {
      return undefined;
    }
    return { seed: context.dropoutSeed, size: tokens * this.dIn, rate: this.dropout };
  }

  variables(): ReadonlyMap<string, Variable> {
    return new Map<string, Variable>([
      ['lora_A', this.loraA],
      ['lora_B', this.loraB],
    ]);
  }

  dispose(): void {
    this.loraA.dispose();
    this.loraB.dispose();
  }
}
