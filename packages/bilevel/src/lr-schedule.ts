import { ConfigError, formatValue } from '@guilomo/core';
import { checkNumber } from './validate.js';

/** A learning rate that stays at its base value. */
export interface ConstantScheduleOptions {
  readonly type: 'constant';
}

/**
 * Linear warm-up from 0 to the base rate over `warmupSteps` optimiser steps, then linear decay
 * to 0 at `maxSteps`, as `transformers.get_linear_schedule_with_warmup` computes it.
 */
export interface LinearScheduleOptions {
  readonly type: 'linear';
  /** Optimiser steps of the warm-up. Default 100. */
  readonly warmupSteps?: number;
  /** Optimiser step at which the rate reaches 0. Required. */
  readonly maxSteps: number;
}

/** Options of {@link createLrSchedule}. */
export type LrScheduleOptions = ConstantScheduleOptions | LinearScheduleOptions;

/** {@link LrScheduleOptions} with every default filled in. */
export type ResolvedLrScheduleOptions =
  | ConstantScheduleOptions
  | { readonly type: 'linear'; readonly warmupSteps: number; readonly maxSteps: number };

/** Learning rate as a function of the number of optimiser steps already taken. */
export interface LrSchedule {
  readonly options: ResolvedLrScheduleOptions;
  readonly baseLr: number;
  /** Learning rate of the update that follows `step` completed updates (0 for the first). */
  lrAt(step: number): number;
}

/**
 * Checks schedule options and fills in the defaults. `field` names the options in error
 * messages, such as `inner.schedule`.
 */
export function resolveLrScheduleOptions(
  options: LrScheduleOptions,
  field = 'schedule',
): ResolvedLrScheduleOptions {
  if (options.type === 'constant') {
    return Object.freeze({ type: 'constant' });
  }
  if (options.type !== 'linear') {
    throw new ConfigError(
      `${field}.type`,
      `must be "linear" or "constant", received ${formatValue((options as { type?: unknown }).type)}.`,
    );
  }
  if (options.maxSteps === undefined) {
    throw new ConfigError(
      `${field}.maxSteps`,
      'is missing. Set it to the number of inner optimiser steps of the run, or use { type: "constant" }.',
    );
  }
  return Object.freeze({
    type: 'linear',
    warmupSteps: checkNumber(`${field}.warmupSteps`, options.warmupSteps ?? 100, {
      min: 0,
      integer: true,
    }),
    maxSteps: checkNumber(`${field}.maxSteps`, options.maxSteps, { min: 1, integer: true }),
  });
}

/**
 * Creates a schedule that scales `baseLr`.
 *
 * @example
 * const schedule = createLrSchedule(3e-4, { type: 'linear', warmupSteps: 100, maxSteps: 1000 });
 * schedule.lrAt(0); // 0
 * schedule.lrAt(100); // 3e-4
 * schedule.lrAt(550); // 1.5e-4
 */
export function createLrSchedule(
  baseLr: number,
  options: LrScheduleOptions,
  field = 'schedule',
): LrSchedule {
  checkNumber('baseLr', baseLr, { min: 0 });
  const resolved = resolveLrScheduleOptions(options, field);
  return {
    options: resolved,
    baseLr,
    lrAt(step: number): number {
      if (resolved.type === 'constant') {
        return baseLr;
      }
      return baseLr * linearWarmupFactor(step, resolved.warmupSteps, resolved.maxSteps);
    },
  };
}

function linearWarmupFactor(step: number, warmupSteps: number, maxSteps: number): number {
  if (step < warmupSteps) {
    return step / Math.max(1, warmupSteps);
  }
  return Math.max(0, (maxSteps - step) / Math.max(1, maxSteps - warmupSteps));
}
