import type { Tensor1D, Tensor2D, Variable } from '@tensorflow/tfjs-core';
import type { DropoutMaskRequest } from './dropout-prefetch.js';

/** Runtime context of one adapter forward call. */
export interface AdapterContext {
  /** Enables dropout. */
  readonly training: boolean;
  /** Seed of this call's dropout masks, so that a resumed run draws the same masks. */
  readonly dropoutSeed?: number;
}

/** Output of an adapter for a `[tokens, dIn]` input. */
export interface AdapterOutput {
  /** Additive output `[tokens, dOut]`, added to the frozen projection's output. */
  readonly delta: Tensor2D;
  /** Router logits `[tokens, experts]` (mask included), for load-balance losses. */
  readonly routerLogits?: Tensor2D;
  /** Combination weights `[tokens, experts]`, for routing-health metrics. */
  readonly routingWeights?: Tensor2D;
}

/**
 * Trainable adapter attached to one frozen linear projection. The model calls `forward` on the
 * projection's 2-D input and adds `delta` to the frozen output.
 */
export interface LinearAdapter {
  readonly dIn: number;
  readonly dOut: number;
  forward(x: Tensor2D, context: AdapterContext): AdapterOutput;
  /** Trainable variables in a stable order, keyed by a name unique within the adapter. */
  variables(): ReadonlyMap<string, Variable>;
  /**
   * Returns the dropout mask that `forward` will draw for a `[tokens, dIn]` input with this
   * context, or undefined when it draws none, so that the model can prefetch the masks.
   */
  dropoutMaskRequest?(tokens: number, context: AdapterContext): DropoutMaskRequest | undefined;
  dispose(): void;
}

/**
 * Tensors that stage 1 injects into a LoRA-MoE forward: an additive bias on the router logits
 * (the expert GSV mask) and a multiplicative scale per rank component (the rank GSV masks).
 * Each is computed inside the caller's gradient tape, so gradients reach the GSVs.
 */
export interface LoraMoeModifiers {
  /** Additive router-logit bias `[experts]`. */
  routerLogitBias?(): Tensor1D;
  /** Scale of every rank component `[totalRank]`, experts' components in order. */
  componentScale?(): Tensor1D;
}
