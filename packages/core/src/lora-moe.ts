import type { Tensor1D, Tensor2D, Variable } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import type { AdapterContext, AdapterOutput, LinearAdapter, LoraMoeModifiers } from './adapter.js';
import { seededDropout } from './dropout.js';
import type { DropoutMaskRequest } from './dropout-prefetch.js';
import { ConfigError, ShapeError } from './errors.js';
import { matMul2d, matMulConst } from './matmul.js';
import type { Rng } from './rng.js';
import type { Router } from './routing.js';

/**
 * How LoRA factors start. `lora`: A Kaiming-uniform (bound 1/√dIn), B = 0, so the adapter
 * starts as the identity change. `search`: A and B both N(0, 0.02²), as GuiLoMo's stage 1.
 */
export type LoraInit = 'lora' | 'search';

/**
 * Scaling of each expert's output. `per-expert`: α / r_e. `last-expert`: every expert of the
 * module uses α / r of the module's last expert, reproducing the authors' stage-2 code.
 * `fixed`: α / `scalingRank`, used in stage 1 where every expert has the maximum rank.
 */
export type ScalingMode = 'per-expert' | 'last-expert' | 'fixed';

/** Options of {@link LoraMoe}. */
export interface LoraMoeOptions {
  readonly dIn: number;
  readonly dOut: number;
  /** Rank of each expert; the length is the expert count. */
  readonly ranks: readonly number[];
  readonly router: Router;
  /** LoRA α. Default 16. */
  readonly alpha?: number;
  /** Inverted-dropout probability on the experts' input. Default 0.05. */
  readonly dropout?: number;
  readonly init?: LoraInit;
  readonly scalingMode?: ScalingMode;
  /** Rank used by `scalingMode: 'fixed'`. Default: the largest expert rank. */
  readonly scalingRank?: number;
  /** Adds the trainable per-component scale `lora_E` (initialised to 1), as in stage 1. */
  readonly componentScale?: boolean;
  readonly rng: Rng;
  readonly modifiers?: LoraMoeModifiers;
}

/**
 * LoRA mixture-of-experts adapter for one linear projection, with a rank per expert.
 *
 * The experts' factors are stored concatenated along the rank axis: `A` is `[dIn, R]` and `B`
 * is `[R, dOut]` with `R = Σ r_e`. A forward pass is four 2-D matMuls whatever the expert
 * count: router logits `x·W_r`, `h = x·A`, the routing weights expanded over each expert's
 * rank segment and scaled `w·S`, and `(h ⊙ w·S ⊙ γ)·B`. S is a constant `[E, R]` matrix with
 * expert e's α/r over its segment, and γ is `lora_E` times the rank masks when present.
 * Expert e's PEFT-layout factors are `A[:, seg_e]ᵀ` (`[r_e, dIn]`) and `B[seg_e, :]ᵀ`.
 *
 * One dropout mask is shared by all experts of a call, where the reference code draws one per
 * expert. Expected values and gradients are unchanged.
 */
export class LoraMoe implements LinearAdapter {
  readonly dIn: number;
  readonly dOut: number;
  readonly ranks: readonly number[];
  readonly totalRank: number;
  readonly alpha: number;
  readonly dropout: number;
  readonly scalingMode: ScalingMode;
  readonly router: Router;
  modifiers: LoraMoeModifiers | undefined;

  /** Router weight `[dIn, E]` (the transpose of PyTorch's `[E, dIn]`). */
  readonly routerWeight: Variable<tf.Rank.R2>;
  /** Concatenated A factors `[dIn, R]`. */
  readonly loraA: Variable<tf.Rank.R2>;
  /** Concatenated B factors `[R, dOut]`. */
  readonly loraB: Variable<tf.Rank.R2>;
  /** Per-component scale `[R]` (`lora_E`), when enabled. */
  readonly loraE: Variable<tf.Rank.R1> | undefined;

  /**
   * Constant segment matrix `[E, R]`: row e contains expert e's output scaling over its rank
   * components and 0 elsewhere, so `w · S` expands the routing weights and applies the scaling
   * in one product.
   */
  private readonly scaledSegments: Tensor2D;

  constructor(options: LoraMoeOptions) {
    validateOptions(options);
    const { dIn, dOut, ranks, rng } = options;
    this.dIn = dIn;
    this.dOut = dOut;
    this.ranks = [...ranks];
    this.totalRank = ranks.reduce((sum, r) => sum + r, 0);
    this.alpha = options.alpha ?? 16;
    this.dropout = options.dropout ?? 0.05;
    this.scalingMode = options.scalingMode ?? 'per-expert';
    this.router = options.router;
    this.modifiers = options.modifiers;
    const numExperts = ranks.length;
    const totalRank = this.totalRank;

    const routerBound = 1 / Math.sqrt(dIn);
    // Each tidy disposes an initial value, and the variable keeps its own reference to the data.
    this.routerWeight = tf.tidy(() =>
      tf.variable(
        tf.tensor2d(rng.uniformArray(dIn * numExperts, -routerBound, routerBound), [
          dIn,
          numExperts,
        ]),
      ),
    );
    const init = options.init ?? 'lora';
    if (init === 'search') {
      this.loraA = tf.tidy(() =>
        tf.variable(tf.tensor2d(rng.normalArray(dIn * totalRank, 0, 0.02), [dIn, totalRank])),
      );
      this.loraB = tf.tidy(() =>
        tf.variable(tf.tensor2d(rng.normalArray(totalRank * dOut, 0, 0.02), [totalRank, dOut])),
      );
    } else {
      this.loraA = tf.tidy(() =>
        tf.variable(
          tf.tensor2d(rng.uniformArray(dIn * totalRank, -routerBound, routerBound), [
            dIn,
            totalRank,
          ]),
        ),
      );
      this.loraB = tf.tidy(() => tf.variable(tf.zeros([totalRank, dOut])));
    }
    this.loraE =
      options.componentScale === true
        ? tf.tidy(() => tf.variable(tf.ones([totalRank])))
        : undefined;

    const segmentValues = new Float32Array(numExperts * totalRank);
    const scalingRank = options.scalingRank ?? Math.max(...ranks);
    const lastRank = ranks[numExperts - 1] as number;
    let offset = 0;
    ranks.forEach((rank, expert) => {
      const scale =
        this.scalingMode === 'per-expert'
          ? this.alpha / rank
          : this.scalingMode === 'last-expert'
            ? this.alpha / lastRank
            : this.alpha / scalingRank;
      for (let i = 0; i < rank; i++) {
        segmentValues[expert * totalRank + offset + i] = scale;
      }
      offset += rank;
    });
    this.scaledSegments = tf.keep(tf.tensor2d(segmentValues, [numExperts, totalRank]));
  }

  get numExperts(): number {
    return this.ranks.length;
  }

  /** Trainable parameters: router `E·dIn` plus `Σ r_e (dIn + dOut)` (+ `R` with `lora_E`). */
  get parameterCount(): number {
    const loraE = this.loraE === undefined ? 0 : this.totalRank;
    return this.numExperts * this.dIn + this.totalRank * (this.dIn + this.dOut) + loraE;
  }

  forward(x: Tensor2D, context: AdapterContext): AdapterOutput {
    if (x.rank !== 2 || x.shape[1] !== this.dIn) {
      throw new ShapeError(
        `LoraMoe expects input [tokens, ${this.dIn}], received [${x.shape.join(', ')}].`,
      );
    }
    // tidy disposes the intermediates, so a call outside a caller's tidy leaks nothing.
    return tf.tidy(() => {
      // Router on the raw input: dropout is not applied before the router.
      let routerLogits: Tensor2D = matMul2d(x, this.routerWeight);
      const bias = this.modifiers?.routerLogitBias?.();
      if (bias !== undefined) {
        routerLogits = tf.add(routerLogits, bias) as Tensor2D;
      }
      const { weights } = this.router.route(routerLogits, { training: context.training });

      const input =
        context.training && this.dropout > 0
          ? seededDropout(x, this.dropout, context.dropoutSeed)
          : x;
      const hidden = matMul2d(input, this.loraA);

      // Each product has one nonzero term, so `expanded` is exactly weight · scaling.
      const expanded = matMulConst(weights, this.scaledSegments);
      let scale: tf.Tensor | undefined = this.loraE;
      const extraScale = this.modifiers?.componentScale?.();
      if (extraScale !== undefined) {
        scale = scale === undefined ? extraScale : tf.mul(scale, extraScale);
      }
      const gated = tf.mul(hidden, expanded);
      const delta = matMul2d(
        (scale === undefined ? gated : tf.mul(gated, scale)) as Tensor2D,
        this.loraB,
      );
      return { delta, routerLogits, routingWeights: weights };
    });
  }

  dropoutMaskRequest(tokens: number, context: AdapterContext): DropoutMaskRequest | undefined {
    if (!context.training || !(this.dropout > 0) || context.dropoutSeed === undefined) {
      return undefined;
    }
    return { seed: context.dropoutSeed, size: tokens * this.dIn, rate: this.dropout };
  }

  variables(): ReadonlyMap<string, Variable> {
    const map = new Map<string, Variable>([
      ['router', this.routerWeight],
      ['lora_A', this.loraA],
      ['lora_B', this.loraB],
    ]);
    if (this.loraE !== undefined) {
      map.set('lora_E', this.loraE);
    }
    return map;
  }

  /**
   * Returns expert e's factors in PEFT layout: A `[r_e, dIn]`, B `[dOut, r_e]`, and the router
   * weight `[E, dIn]`. The caller owns the returned tensors.
   */
  exportExperts(): { router: Tensor2D; experts: { A: Tensor2D; B: Tensor2D; E?: Tensor1D }[] } {
    return tf.tidy(() => {
      const experts: { A: Tensor2D; B: Tensor2D; E?: Tensor1D }[] = [];
      let offset = 0;
      for (const rank of this.ranks) {
        const A = tf.transpose(tf.slice(this.loraA, [0, offset], [this.dIn, rank])) as Tensor2D;
        const B = tf.transpose(tf.slice(this.loraB, [offset, 0], [rank, this.dOut])) as Tensor2D;
        const E =
          this.loraE === undefined
            ? undefined
            : (tf.slice(this.loraE, [offset], [rank]) as Tensor1D);
        experts.push(E === undefined ? { A, B } : { A, B, E });
        offset += rank;
      }
      return { router: tf.transpose(this.routerWeight) as Tensor2D, experts };
    });
  }

  dispose(): void {
    this.routerWeight.dispose();
    this.loraA.dispose();
    this.loraB.dispose();
    this.loraE?.dispose();
    this.scaledSegments.dispose();
  }
}

function validateOptions(options: LoraMoeOptions): void {
  const { dIn, dOut, ranks, router } = options;
  if (!Number.isInteger(dIn) || dIn < 1) {
    throw new ConfigError('dIn', `must be a positive integer, received ${dIn}.`);
  }
  if (!Number.isInteger(dOut) || dOut < 1) {
    throw new ConfigError('dOut', `must be a positive integer, received ${dOut}.`);
  }
  if (ranks.length < 1) {
    throw new ConfigError('ranks', 'must list at least one expert rank, received an empty list.');
  }
  ranks.forEach((rank, expert) => {
    if (!Number.isInteger(rank) || rank < 1) {
      throw new ConfigError(`ranks[${expert}]`, `must be an integer >= 1, received ${rank}.`);
    }
  });
  if (router.numExperts !== ranks.length) {
    throw new ConfigError(
      'router',
      `routes over ${router.numExperts} experts, but \`ranks\` lists ${ranks.length}. Create the router with numExperts = ${ranks.length}.`,
    );
  }
  const dropout = options.dropout ?? 0.05;
  if (!(dropout >= 0 && dropout < 1)) {
    throw new ConfigError('dropout', `must be in [0, 1), received ${dropout}.`);
  }
  const alpha = options.alpha ?? 16;
  if (!(alpha > 0)) {
    throw new ConfigError('alpha', `must be > 0, received ${alpha}.`);
  }
}
