import type { Logger } from '@guilomo/core';
import { NumericError, silentLogger } from '@guilomo/core';
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW } from './adamw.js';
import type { BilevelSearchOptions, ResolvedBilevelConfig } from './bilevel-config.js';
import { resolveBilevelConfig } from './bilevel-config.js';
import { clipByGlobalNorm, globalNorm } from './clip-by-global-norm.js';
import type { LrSchedule } from './lr-schedule.js';
import { createLrSchedule } from './lr-schedule.js';
import type { OuterGradient } from './outer-gradient.js';
import { dartsOuterGradient, firstOrderOuterGradient } from './outer-gradient.js';
import type { BilevelProblem } from './problem.js';
import { validateProblem } from './problem.js';
import { referenceOuterGradient } from './reference-outer-gradient.js';
import type { BilevelSearchState } from './search-state.js';
import {
  addPrefixed,
  BILEVEL_STATE_FORMAT,
  BILEVEL_STATE_VERSION,
  checkSearchState,
  optimizerState,
} from './search-state.js';
import type { SerializedTensorsBuilder } from './serialized-tensors.js';
import { checkTensorEntry, readTensor, writeTensor } from './serialized-tensors.js';
import { gradientsOf } from './variable-ops.js';

/** Scalar results of one {@link BilevelSearch.step}, read back from the backend in one sync. */
export interface BilevelStepMetrics {
  /** Pairs processed after this step (1 after the first). */
  readonly pair: number;
  /** Inner optimiser steps taken after this step. */
  readonly innerStep: number;
  /** Whether this pair completed a gradient-accumulation cycle and updated the weights. */
  readonly innerStepTaken: boolean;
  /** `L_train(w, α_new)` on the train batch, from the inner gradient pass. */
  readonly trainLoss: number;
  /** `L_val` on the validation batch: at `w'` in `darts` and `reference` mode, at `w` in `first-order`. */
  readonly valLoss: number;
  /** `‖v‖₂` of the finite-difference direction. Absent in `first-order` mode. */
  readonly vNorm?: number;
  /** `‖dα‖₂` of the outer gradient. */
  readonly outerGradNorm: number;
  /** Global norm of the (accumulated) inner gradient before clipping, on pairs that step. */
  readonly innerGradNorm?: number;
  /** Inner learning rate `η` of this pair: virtual step and, if taken, the real step. */
  readonly lr: number;
  /** Outer learning rate of this pair. */
  readonly outerLr: number;
}

/** Options of {@link BilevelSearch.exportState}. */
export interface ExportStateOptions {
  /** Also save the values of the inner and outer variables. Default true. */
  readonly includeVariables?: boolean;
}

/**
 * Stage-1 bilevel optimiser of GuiLoMo. Each {@link step} takes one (train, validation) pair
 * of batches, updates the outer variables `α` once with AdamW on the mode's outer gradient,
 * then computes `∇_w L_train(w, α_new)` and, every `gradientAccumulationSteps` pairs, updates
 * the inner weights with the averaged, clipped gradient. The inner learning rate follows its
 * schedule per inner step and also serves as `η` of the virtual step.
 *
 * @example
 * const search = new BilevelSearch(problem, {
 *   mode: 'darts',
 *   inner: { schedule: { type: 'linear', warmupSteps: 100, maxSteps: 1000 } },
 * });
 * for (const pair of pairs) {
 *   const metrics = search.step(pair.train, pair.validation);
 *   logger.info('search step', { ...metrics });
 * }
 * const checkpoint = search.exportState();
 * search.dispose();
 */
export class BilevelSearch<Batch> {
  readonly config: ResolvedBilevelConfig;
  readonly innerOptimizer: AdamW;
  readonly outerOptimizer: AdamW;
  private readonly innerSchedule: LrSchedule;
  private readonly outerSchedule: LrSchedule;
  private readonly logger: Logger;
  private pairCount = 0;
  private innerStepCount = 0;
  private pendingPairs = 0;
  /** Sum of `∇_w L_train / gradientAccumulationSteps` over pending pairs, or null without accumulation. */
  private accumulated: Tensor[] | null;

  constructor(
    readonly problem: BilevelProblem<Batch>,
    options: BilevelSearchOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.config = resolveBilevelConfig(options, this.logger);
    validateProblem(problem);
    const { inner, outer } = this.config;
    this.innerOptimizer = new AdamW(problem.innerVariables, inner);
    this.outerOptimizer = new AdamW(problem.outerVariables, outer);
    this.innerSchedule = createLrSchedule(inner.lr, inner.schedule, 'inner.schedule');
    this.outerSchedule = createLrSchedule(outer.lr, outer.schedule, 'outer.schedule');
    this.accumulated = this.config.gradientAccumulationSteps > 1 ? this.zeroAccumulator() : null;
  }

  /** Pairs processed so far, which equals the number of outer steps. */
  get pairs(): number {
    return this.pairCount;
  }

  /** Inner optimiser steps taken so far. */
  get innerSteps(): number {
    return this.innerStepCount;
  }

  /** Inner learning rate that the next pair uses. */
  get innerLr(): number {
    return this.innerSchedule.lrAt(this.innerStepCount);
  }

  /**
   * Runs one bilevel step on a (train, validation) pair and returns its metrics. Throws a
   * {@link NumericError} when a loss is not finite. The update has already been applied by
   * then, so restore the last checkpoint before continuing.
   */
  step(trainBatch: Batch, valBatch: Batch): BilevelStepMetrics {
    const eta = this.innerSchedule.lrAt(this.innerStepCount);
    const outerLr = this.outerSchedule.lrAt(this.pairCount);
    const { gradientAccumulationSteps } = this.config;
    const owned: Tensor[] = [];
    try {
      // Outer step on dα.
      const outerGradient = this.outerGradient(trainBatch, valBatch, eta);
      owned.push(...outerGradient.grads, outerGradient.valLoss);
      if (outerGradient.vNorm !== undefined) {
        owned.push(outerGradient.vNorm);
      }
      const outerGradNorm = globalNorm(outerGradient.grads);
      owned.push(outerGradNorm);
      this.outerOptimizer.step(outerGradient.grads, outerLr);

      // Inner gradient at the new α, averaged over the accumulation cycle.
      const train = gradientsOf(() => this.problem.loss(trainBatch), this.problem.innerVariables);
      owned.push(train.value, ...train.grads);
      this.accumulate(train.grads);
      this.pendingPairs += 1;
      this.pairCount += 1;

      // Inner step at the end of the cycle.
      let innerGradNorm: Scalar | undefined;
      if (this.pendingPairs === gradientAccumulationSteps) {
        innerGradNorm = this.innerStep(this.accumulated ?? train.grads, eta);
        owned.push(innerGradNorm);
      }

      const values = this.readScalars([
        train.value,
        outerGradient.valLoss,
        outerGradNorm,
        outerGradient.vNorm,
        innerGradNorm,
      ]);
      const metrics: BilevelStepMetrics = {
        pair: this.pairCount,
        innerStep: this.innerStepCount,
        innerStepTaken: innerGradNorm !== undefined,
        trainLoss: values[0] as number,
        valLoss: values[1] as number,
        outerGradNorm: values[2] as number,
        ...(values[3] === undefined ? {} : { vNorm: values[3] }),
        ...(values[4] === undefined ? {} : { innerGradNorm: values[4] }),
        lr: eta,
        outerLr,
      };
      this.checkFinite(metrics);
      this.logger.debug('bilevel step', { ...metrics });
      return metrics;
    } finally {
      tf.dispose(owned);
    }
  }

  /**
   * Saves the whole search state: both optimisers, pending accumulated gradients, counters and,
   * unless disabled, the variable values. Restoring it with {@link importState} into a new
   * search on the same problem continues the run bit for bit.
   */
  exportState(options: ExportStateOptions = {}): BilevelSearchState {
    const includeVariables = options.includeVariables ?? true;
    const out: SerializedTensorsBuilder = { tensors: {}, shapes: {} };
    addPrefixed(out, this.innerOptimizer.exportState(), 'inner.');
    addPrefixed(out, this.outerOptimizer.exportState(), 'outer.');
    this.accumulated?.forEach((tensor, i) => {
      writeTensor(out, `accumulated.${i}`, tensor);
    });
    if (includeVariables) {
      this.problem.innerVariables.forEach((variable, i) => {
        writeTensor(out, `variables.inner.${i}`, variable);
      });
      this.problem.outerVariables.forEach((variable, i) => {
        writeTensor(out, `variables.outer.${i}`, variable);
      });
    }
    return {
      format: BILEVEL_STATE_FORMAT,
      version: BILEVEL_STATE_VERSION,
      meta: {
        mode: this.config.mode,
        gradientAccumulationSteps: this.config.gradientAccumulationSteps,
        pairs: this.pairCount,
        innerSteps: this.innerStepCount,
        pendingPairs: this.pendingPairs,
        innerOptimizerStep: this.innerOptimizer.stepCount,
        outerOptimizerStep: this.outerOptimizer.stepCount,
        innerVariableCount: this.problem.innerVariables.length,
        outerVariableCount: this.problem.outerVariables.length,
        includesVariables: includeVariables,
      },
      tensors: out.tensors,
      shapes: out.shapes,
    };
  }

  /**
   * Restores a state from {@link exportState}. Every entry is checked before anything changes,
   * so a state that does not fit leaves this search as it was.
   */
  importState(state: BilevelSearchState): void {
    const inner = this.problem.innerVariables;
    const outer = this.problem.outerVariables;
    checkSearchState(state, { ...this.config, inner, outer });
    const { meta } = state;
    const expected: [string, readonly number[]][] = [];
    const addExpected = (prefix: string, variables: readonly Variable[]) => {
      variables.forEach((variable, i) => {
        expected.push([`${prefix}${i}`, variable.shape]);
      });
    };
    addExpected('inner.m.', inner);
    addExpected('inner.v.', inner);
    addExpected('outer.m.', outer);
    addExpected('outer.v.', outer);
    if (this.accumulated !== null) {
      addExpected('accumulated.', inner);
    }
    if (meta.includesVariables) {
      addExpected('variables.inner.', inner);
      addExpected('variables.outer.', outer);
    }
    for (const [name, shape] of expected) {
      checkTensorEntry(state, name, shape);
    }

    this.innerOptimizer.importState(optimizerState(state, 'inner.', meta.innerOptimizerStep));
    this.outerOptimizer.importState(optimizerState(state, 'outer.', meta.outerOptimizerStep));
    if (this.accumulated !== null) {
      tf.dispose(this.accumulated);
      this.accumulated = inner.map((variable, i) =>
        tf.keep(readTensor(state, `accumulated.${i}`, variable.shape)),
      );
    }
    if (meta.includesVariables) {
      tf.tidy(() => {
        inner.forEach((variable, i) => {
          variable.assign(readTensor(state, `variables.inner.${i}`, variable.shape));
        });
        outer.forEach((variable, i) => {
          variable.assign(readTensor(state, `variables.outer.${i}`, variable.shape));
        });
      });
    }
    this.pairCount = meta.pairs;
    this.innerStepCount = meta.innerSteps;
    this.pendingPairs = meta.pendingPairs;
  }

  /** Disposes the optimiser state and pending gradients. The problem's variables stay alive. */
  dispose(): void {
    this.innerOptimizer.dispose();
    this.outerOptimizer.dispose();
    if (this.accumulated !== null) {
      tf.dispose(this.accumulated);
      this.accumulated = null;
    }
  }

  private outerGradient(trainBatch: Batch, valBatch: Batch, eta: number): OuterGradient {
    const { mode, unrolled, perturbationNorm } = this.config;
    if (mode === 'first-order') {
      return firstOrderOuterGradient(this.problem, valBatch);
    }
    if (mode === 'darts') {
      return dartsOuterGradient(this.problem, trainBatch, valBatch, {
        eta,
        unrolled,
        innerOptimizer: this.innerOptimizer,
        perturbationNorm,
      });
    }
    return referenceOuterGradient(this.problem, trainBatch, valBatch, {
      eta,
      innerOptimizer: this.innerOptimizer,
      perturbationNorm,
    });
  }

  private accumulate(grads: readonly Tensor[]): void {
    const previous = this.accumulated;
    if (previous === null) {
      return;
    }
    const scale = 1 / this.config.gradientAccumulationSteps;
    this.accumulated = previous.map((sum, i) =>
      tf.keep(tf.tidy(() => tf.add(sum, tf.mul(grads[i] as Tensor, scale)))),
    );
    tf.dispose(previous);
  }

  /** Clips and applies `grads`, resets the accumulator and returns the norm before clipping. */
  private innerStep(grads: readonly Tensor[], eta: number): Scalar {
    const { maxGradNorm } = this.config.inner;
    let norm: Scalar;
    if (maxGradNorm === null) {
      norm = globalNorm(grads);
      this.innerOptimizer.step(grads, eta);
    } else {
      const clipped = clipByGlobalNorm(grads, maxGradNorm);
      norm = clipped.norm;
      this.innerOptimizer.step(clipped.grads, eta);
      tf.dispose(clipped.grads);
    }
    this.innerStepCount += 1;
    this.pendingPairs = 0;
    if (this.accumulated !== null) {
      tf.dispose(this.accumulated);
      this.accumulated = this.zeroAccumulator();
    }
    return norm;
  }

  private zeroAccumulator(): Tensor[] {
    return this.problem.innerVariables.map((variable) => tf.keep(tf.zerosLike(variable)));
  }

  /** Reads the defined scalars with one data sync. Undefined entries stay undefined. */
  private readScalars(scalars: readonly (Scalar | undefined)[]): (number | undefined)[] {
    const present = scalars.filter((scalar): scalar is Scalar => scalar !== undefined);
    const stacked = tf.stack(present);
    const data = stacked.dataSync();
    stacked.dispose();
    let next = 0;
    return scalars.map((scalar) => {
      if (scalar === undefined) {
        return undefined;
      }
      const value = data[next];
      next += 1;
      return value;
    });
  }

  private checkFinite(metrics: BilevelStepMetrics): void {
    for (const key of ['trainLoss', 'valLoss'] as const) {
      if (!Number.isFinite(metrics[key])) {
        throw new NumericError(
          `Bilevel step ${metrics.pair}: ${key} is ${metrics[key]}. The weights were already updated, ` +
            'so restore the last checkpoint, then lower the learning rates or check the loss.',
        );
      }
    }
  }
}
