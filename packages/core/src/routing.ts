import type { Scalar, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import type { PluginBase } from './plugin.js';

/** Output of a router for one group of tokens. */
export interface RoutingResult {
  /**
   * Combination weights `[tokens, experts]`. Entries of unselected experts are exactly 0. The
   * gradient flows through the selected entries only.
   */
  readonly weights: Tensor2D;
  /** Auxiliary loss computed inside the router (for example a z-loss), already weighted. */
  readonly auxLoss?: Scalar;
}

/** Runtime context of one routing call. */
export interface RoutingContext {
  readonly training: boolean;
}

/** A router instance, created once per adapted module. */
export interface Router {
  readonly id: string;
  readonly numExperts: number;
  /** Turns router logits `[tokens, experts]` into combination weights. */
  route(logits: Tensor2D, context: RoutingContext): RoutingResult;
  /**
   * Load-balance loss of a group of router logits `[rows, experts]`, as the router defines it
   * (for top-k: Switch Transformer's `scale · Σ f_i · P̄_i`). Not yet multiplied by the
   * global auxiliary-loss coefficient.
   */
  balanceLoss(logits: Tensor2D): Scalar;
  /** Share of routed slots per expert `[experts]`, for routing-health metrics. */
  expertShare?(weights: Tensor2D): Tensor1D;
}

/** Options every router receives. Plugins may accept more, validated in their `create`. */
export interface RouterOptions {
  readonly numExperts: number;
  /** Experts selected per token, where the router uses a fixed count. */
  readonly topK: number;
  /**
   * Whether `balanceLoss` multiplies by the expert count (`n`, Switch Transformer and GuiLoMo's
   * stage 2) or not (`none`, GuiLoMo's LLaMA-2 search code). Set by the trainer per stage;
   * routers without a balance loss ignore it. Default `n`.
   */
  readonly balanceScale?: 'n' | 'none';
  /** Extra plugin-specific options from the user's config. */
  readonly params?: Readonly<Record<string, unknown>>;
}

/** Router plugin: a factory of routers, registered as `router:<name>`. */
export interface RouterPlugin extends PluginBase<'router'> {
  create(options: RouterOptions): Router;
}
