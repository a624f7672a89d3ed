import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import type { BenchStep, StepMode } from './steps.js';

/** Timing of one step kind, from {@link measureSteps}. */
export interface StepMeasurement {
  readonly mode: StepMode;
  /** Tokens of one step divided by the median step time. */
  readonly tokensPerSecond: number;
  readonly msPerStep: number;
  readonly msMin: number;
  readonly msMax: number;
  /** Peak resident set size of this process so far, in MiB (`process.resourceUsage().maxRSS`). */
  readonly peakRssMb: number;
  /**
   * `tf.memory().numTensors` after the warm-up steps, or after the first step when there are
   * none, because a step keeps its last loss parts alive.
   */
  readonly liveTensorsAfterWarmup: number;
  /** `tf.memory().numTensors` after the timed steps; equal to the warm-up count when nothing leaks. */
  readonly liveTensorsAfterSteps: number;
  readonly lossFirst: number;
  readonly lossLast: number;
  readonly warmup: number;
  readonly iters: number;
}

/** Options of {@link measureSteps}. */
export interface MeasureOptions {
  readonly warmup: number;
  readonly iters: number;
  /** Tokens that one step counts, `batch × length` of the training batch. */
  readonly tokensPerStep: number;
  /** Called after each step with its index (warm-up steps first) and duration. */
  readonly onStep?: (index: number, ms: number) => void;
}

/** Returns the median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Returns the peak resident set size of this process in MiB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Runs `warmup` untimed steps, then `iters` timed ones, and returns the median step time with
 * the live tensor count after each phase. Each step ends with its loss read back, so the time
 * covers all the work the step queued.
 */
export function measureSteps(step: BenchStep, options: MeasureOptions): StepMeasurement {
  const { warmup, iters, tokensPerStep } = options;
  const losses: number[] = [];
  const times: number[] = [];
  let liveTensorsAfterWarmup = 0;
  for (let i = 0; i < warmup + iters; i++) {
    const started = performance.now();
    losses.push(step.run());
    const ms = performance.now() - started;
    options.onStep?.(i, ms);
    if (i >= warmup) {
      times.push(ms);
    }
    if (i === Math.max(warmup - 1, 0)) {
      liveTensorsAfterWarmup = tf.memory().numTensors;
    }
  }
  const msPerStep = median(times);
  return {
    mode: step.mode,
    tokensPerSecond: tokensPerStep / (msPerStep / 1000),
    msPerStep,
    msMin: Math.min(...times),
    msMax: Math.max(...times),
    peakRssMb: peakRssMb(),
    liveTensorsAfterWarmup,
    liveTensorsAfterSteps: tf.memory().numTensors,
    lossFirst: losses[0] as number,
    lossLast: losses[losses.length - 1] as number,
    warmup,
    iters,
  };
}
