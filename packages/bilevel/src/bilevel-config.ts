import type { Logger } from '@guilomo/core';
import { ConfigError, silentLogger } from '@guilomo/core';
import type { AdamWOptions, ResolvedAdamWOptions } from './adamw.js';
import { resolveAdamWOptions } from './adamw.js';
import type { LrScheduleOptions, ResolvedLrScheduleOptions } from './lr-schedule.js';
import { resolveLrScheduleOptions } from './lr-schedule.js';
import type { UnrolledStep } from './outer-gradient.js';
import { checkChoice, checkNumber } from './validate.js';

/**
 * Outer-gradient rule of a bilevel step.
 * - `first-order`: `dα = ∇_α L_val(w, α)`.
 * - `darts`: the DARTS second-order hypergradient through one virtual inner step.
 * - `reference`: the update of the GuiLoMo authors' code, accumulation effects included.
 */
export type BilevelMode = 'first-order' | 'darts' | 'reference';

export const BILEVEL_MODES: readonly BilevelMode[] = ['first-order', 'darts', 'reference'];
export const UNROLLED_STEPS: readonly UnrolledStep[] = ['sgd', 'adamw'];

/** Inner (weight) optimiser: AdamW plus schedule and clipping. */
export interface InnerOptimizerOptions extends AdamWOptions {
  /**
   * Learning-rate schedule over inner optimiser steps. Required, because the default linear
   * schedule needs `maxSteps`: pass `{ type: 'linear', maxSteps }` (warm-up 100 steps) or
   * `{ type: 'constant' }`.
   */
  readonly schedule?: LrScheduleOptions;
  /** Global L2 norm that the inner gradients are clipped to, or `null` for no clipping. Default 1. */
  readonly maxGradNorm?: number | null;
}

/** Outer (GSV) optimiser: AdamW plus schedule. */
export interface OuterOptimizerOptions extends AdamWOptions {
  /** Learning-rate schedule over outer steps (one per pair). Default `{ type: 'constant' }`. */
  readonly schedule?: LrScheduleOptions;
}

/** Options of {@link BilevelSearch}. */
export interface BilevelSearchOptions {
  /** Outer-gradient rule. Default `darts`. */
  readonly mode?: BilevelMode;
  /** Virtual-step rule of `darts` mode. Default `sgd`. */
  readonly unrolled?: UnrolledStep;
  /** Inner AdamW. Defaults: lr 3e-4, betas [0.9, 0.999], eps 1e-8, weightDecay 0. */
  readonly inner?: InnerOptimizerOptions;
  /**
   * Outer AdamW. Defaults: lr 3e-3, betas [0.5, 0.999], eps 1e-8, weightDecay 0. The authors
   * configure a weight decay of 1e-3 that their code never applies, so 0 is their effective value.
   */
  readonly outer?: OuterOptimizerOptions;
  /** Pairs whose inner gradients are averaged into one inner step. Default 1. */
  readonly gradientAccumulationSteps?: number;
  /** L2 norm of the finite-difference perturbation `R·v`. Default 0.01. */
  readonly perturbationNorm?: number;
  /** Receives warnings and per-step debug records. Default: silent. */
  readonly logger?: Logger;
}

/** {@link BilevelSearchOptions} after validation, with every default filled in. */
export interface ResolvedBilevelConfig {
  readonly mode: BilevelMode;
  readonly unrolled: UnrolledStep;
  readonly inner: ResolvedAdamWOptions & {
    readonly schedule: ResolvedLrScheduleOptions;
    readonly maxGradNorm: number | null;
  };
  readonly outer: ResolvedAdamWOptions & { readonly schedule: ResolvedLrScheduleOptions };
  readonly gradientAccumulationSteps: number;
  readonly perturbationNorm: number;
}

/**
 * Checks `options` and returns a frozen config with the stage-1 defaults of GuiLoMo. Options
 * that the chosen mode ignores are reported through `logger.warn`.
 */
export function resolveBilevelConfig(
  options: BilevelSearchOptions,
  logger: Logger = silentLogger,
): ResolvedBilevelConfig {
  const mode = checkChoice('mode', options.mode ?? 'darts', BILEVEL_MODES);
  const unrolled = checkChoice('unrolled', options.unrolled ?? 'sgd', UNROLLED_STEPS);
  if (options.unrolled !== undefined && mode !== 'darts') {
    logger.warn(
      `Option \`unrolled\` = "${unrolled}" is ignored in mode "${mode}" because it applies to mode "darts" only.`,
    );
  }

  const inner = options.inner ?? {};
  if (inner.schedule === undefined) {
    throw new ConfigError(
      'inner.schedule',
      'is missing. Pass { type: "linear", maxSteps: N } with N the number of inner optimiser steps ' +
        '(warm-up defaults to 100 steps), or { type: "constant" }.',
    );
  }
  const maxGradNorm =
    inner.maxGradNorm === null
      ? null
      : checkNumber('inner.maxGradNorm', inner.maxGradNorm ?? 1, { greaterThan: 0 });
  const outer = options.outer ?? {};

  return Object.freeze({
    mode,
    unrolled,
    inner: Object.freeze({
      ...resolveAdamWOptions(
        {
          lr: inner.lr ?? 3e-4,
          betas: inner.betas ?? [0.9, 0.999],
          eps: inner.eps ?? 1e-8,
          weightDecay: inner.weightDecay ?? 0,
        },
        'inner.',
      ),
      schedule: resolveLrScheduleOptions(inner.schedule, 'inner.schedule'),
      maxGradNorm,
    }),
    outer: Object.freeze({
      ...resolveAdamWOptions(
        {
          lr: outer.lr ?? 3e-3,
          betas: outer.betas ?? [0.5, 0.999],
          eps: outer.eps ?? 1e-8,
          weightDecay: outer.weightDecay ?? 0,
        },
        'outer.',
      ),
      schedule: resolveLrScheduleOptions(outer.schedule ?? { type: 'constant' }, 'outer.schedule'),
    }),
    gradientAccumulationSteps: checkNumber(
      'gradientAccumulationSteps',
      options.gradientAccumulationSteps ?? 1,
      {
        min: 1,
        integer: true,
      },
    ),
    perturbationNorm: checkNumber('perturbationNorm', options.perturbationNorm ?? 0.01, {
      greaterThan: 0,
    }),
  });
}
