import { matMulConst, ShapeError } from '@guilomo/core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { addSameShape } from './add-same-shape.js';

/** RoPE angle tables `[seqLen, headSize / 2]`: cos and sin of `position · frequency_i`. */
export interface RopeTables {
  readonly cos: Float32Array;
  readonly sin: Float32Array;
}

/** cos and sin repeated for one batch shape, from {@link RotaryEmbedding.tables}. */
export interface RopeBatchTables {
  readonly batch: number;
  readonly length: number;
  /** `[batch · length, width]`. */
  readonly cos: Tensor2D;
  /** `[batch · length, width]`. */
  readonly sin: Tensor2D;
}

/**
 * Computes RoPE tables in llama2.c's convention: pair i of a head (dimensions 2i and 2i+1)
 * rotates by `position · θ^(-2i/headSize)` radians. Computed in float64, stored as float32.
 */
export function computeRopeTables(headSize: number, seqLen: number, theta = 10000): RopeTables {
  const half = headSize / 2;
  const cos = new Float32Array(seqLen * half);
  const sin = new Float32Array(seqLen * half);
  for (let position = 0; position < seqLen; position++) {
    for (let i = 0; i < half; i++) {
      const angle = position * theta ** ((-2 * i) / headSize);
      cos[position * half + i] = Math.cos(angle);
      sin[position * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Rotary position embedding for a projection output of `numHeads` heads laid side by side
 * (`[tokens, numHeads · headSize]`). It owns constant tensors, so call {@link dispose} when done.
 *
 * The rotation is `x ⊙ cos + (x · P) ⊙ sin`, where P is a constant signed permutation that
 * maps each pair (x₀, x₁) to (−x₁, x₀). Using a 2-D matMul for P keeps the op on the wasm
 * fast path and gives the gradient without strided slices.
 */
export class RotaryEmbedding {
  readonly width: number;
  readonly seqLen: number;
  /** cos per position and column, row-major `[seqLen, width]`. */
  private readonly cosValues: Float32Array;
  /** sin per position and column, row-major `[seqLen, width]`. */
  private readonly sinValues: Float32Array;
  /** Pair rotation `[width, width]`. */
  private readonly rotation: Tensor2D;

  constructor(tables: RopeTables, headSize: number, numHeads: number, seqLen: number) {
    const half = headSize / 2;
    if (tables.cos.length !== seqLen * half || tables.sin.length !== seqLen * half) {
      throw new ShapeError(
        `RoPE tables have ${tables.cos.length} cos and ${tables.sin.length} sin entries, ` +
          `expected ${seqLen * half} each ([seqLen ${seqLen}, headSize/2 ${half}]).`,
      );
    }
    const width = headSize * numHeads;
    this.width = width;
    this.seqLen = seqLen;
    const cos = new Float32Array(seqLen * width);
    const sin = new Float32Array(seqLen * width);
    for (let position = 0; position < seqLen; position++) {
      for (let column = 0; column < width; column++) {
        const pair = Math.floor((column % headSize) / 2);
        cos[position * width + column] = tables.cos[position * half + pair] as number;
        sin[position * width + column] = tables.sin[position * half + pair] as number;
      }
    }
    const rotation = new Float32Array(width * width);
    for (let even = 0; even < width; even += 2) {
      // Output column `even` takes −x[even + 1], and output column `even + 1` takes x[even].
      rotation[(even + 1) * width + even] = -1;
      rotation[even * width + even + 1] = 1;
    }
    this.cosValues = cos;
    this.sinValues = sin;
    this.rotation = tf.keep(tf.tensor2d(rotation, [width, width]));
  }

  /**
   * Returns cos and sin for `batch` rows of `length` positions, `[batch · length, width]` each,
   * for {@link apply}. The caller owns the tensors. Callers that rotate several inputs of one
   * shape, such as every layer of a forward pass, create them once.
   *
   * The tables are repeated in JavaScript, because the wasm backend's Tile kernel is a scalar
   * loop that took about 16 ms for one 2048 × 128 table (tfjs-backend-wasm 4.22).
   */
  tables(batch: number, length: number): RopeBatchTables {
    this.checkLength(length);
    const block = length * this.width;
    const repeat = (values: Float32Array): Tensor2D => {
      const rows = values.subarray(0, block);
      const out = new Float32Array(batch * block);
      for (let b = 0; b < batch; b++) {
        out.set(rows, b * block);
      }
      return tf.tensor2d(out, [batch * length, this.width]);
    };
    return { batch, length, cos: repeat(this.cosValues), sin: repeat(this.sinValues) };
  }

  /**
   * Rotates `x` `[batch · length, width]`, whose rows are positions 0..length-1 of each batch
   * row in turn. `tables` from {@link tables} for the same batch and length avoids building
   * them on each call.
   */
  apply(x: Tensor2D, batch: number, length: number, tables?: RopeBatchTables): Tensor2D {
    if (x.shape[0] !== batch * length || x.shape[1] !== this.width) {
      throw new ShapeError(
        `RoPE input must be [${batch * length}, ${this.width}], received [${x.shape.join(', ')}].`,
      );
    }
    this.checkLength(length);
    if (tables !== undefined && (tables.batch !== batch || tables.length !== length)) {
      throw new ShapeError(
        `RoPE tables are for batch ${tables.batch} and length ${tables.length}, but the input ` +
          `has batch ${batch} and length ${length}.`,
      );
    }
    return tf.tidy(() => {
      const { cos, sin } = tables ?? this.tables(batch, length);
      const rotated = matMulConst(x, this.rotation);
      return addSameShape(tf.mul(x, cos) as Tensor2D, tf.mul(rotated, sin));
    });
  }

  dispose(): void {
    this.rotation.dispose();
  }

  private checkLength(length: number): void {
    if (length > this.seqLen) {
      throw new ShapeError(`RoPE supports ${this.seqLen} positions, received ${length}.`);
    }
  }
}
