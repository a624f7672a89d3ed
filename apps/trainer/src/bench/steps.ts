import { AdamW, BilevelSearch, clipByGlobalNorm } from '@guilomo/bilevel';
import type { ModuleAllocation, ModuleInfo, Registry } from '@guilomo/core';
import { leanVariableGrads, NumericError, Rng } from '@guilomo/core';
import type { LlamaModel } from '@guilomo/models';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { createSearchAdapters, createTrainAdapters } from '../adapters.js';
import type { ResolvedConfig } from '../config/types.js';
import type { Batch } from '../data.js';
import { disposeBatch } from '../data.js';
import type { LossParts } from '../losses.js';
import { createLossFunction } from '../losses.js';
import { randomTokenBatch } from './random-batches.js';

/** Step kinds that the benchmark times. `search` is first-order, `search2` is DARTS. */
export type StepMode = 'train' | 'search' | 'search2';

/** Inputs of a benchmark step: the model, the adapted modules, the config and the plugin registry. */
export interface StepContext {
  readonly model: LlamaModel;
  readonly targets: readonly ModuleInfo[];
  readonly registry: Registry;
  /** Adapter, learning-rate and clipping settings, with the expert count in `adapter.maxExperts`. */
  readonly config: ResolvedConfig;
  readonly batch: number;
  readonly length: number;
  readonly seed: number;
}

/** One benchmark step with its own adapters and optimiser state. */
export interface BenchStep {
  readonly mode: StepMode;
  /**
   * Runs one optimisation step on fresh random batches and returns the training loss. Reading
   * the loss is the step's only data transfer from the backend.
   */
  run(): number;
  /** Disposes the adapters and the optimiser state. */
  dispose(): void;
}

/** Creates the step of `mode`: a stage-2 training step or a stage-1 bilevel search step. */
export function createBenchStep(mode: StepMode, context: StepContext): BenchStep {
  return mode === 'train' ? createTrainStep(context) : createSearchStep(mode, context);
}

/**
 * Stage-2 step as `guilomo train` runs it: LoRA-MoE adapters with `maxExperts` experts of rank
 * `maxRank` on every target (A Kaiming-uniform, B = 0), next-token loss plus the per-module
 * balance loss, global-norm clipping and AdamW.
 */
function createTrainStep(context: StepContext): BenchStep {
  const { model, targets, registry, config } = context;
  const rng = new Rng(context.seed);
  const { maxExperts, maxRank, topK } = config.adapter;
  const allocation: ModuleAllocation[] = targets.map((module) => ({
    path: module.path,
    ranks: Array.from({ length: maxExperts }, () => maxRank),
    topK,
  }));
  const set = createTrainAdapters(allocation, targets, config, registry, rng.fork());
  const variables = [...set.variables.values()];
  let seedCounter = 0;
  const { loss, parts } = createLossFunction({
    model,
    set,
    targets,
    grouping: 'module',
    auxLossCoef: config.adapter.auxLossCoef,
    training: true,
    nextSeed: () => (context.seed * 7_368_787 + seedCounter++) >>> 0,
  });
  const optimizer = new AdamW(variables, {
    lr: config.train.lr,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0,
  });
  const batches = new Rng(context.seed + 2);
  const { clipNorm, lr } = config.train;

  return {
    mode: 'train',
    run: () => {
      const batch = randomTokenBatch(
        batches,
        context.batch,
        context.length,
        model.config.vocabSize,
      );
      try {
        const lossTensor = tf.tidy(() => {
          const { value, grads } = leanVariableGrads(() => loss(batch), variables);
          const ordered: Tensor[] = variables.map((variable) => grads[variable.name] as Tensor);
          const clipped = clipNorm > 0 ? clipByGlobalNorm(ordered, clipNorm).grads : ordered;
          optimizer.step(clipped, lr);
          return value;
        });
        return readLoss(lossTensor, 'train');
      } finally {
        disposeBatch(batch);
      }
    },
    dispose: () => {
      disposeParts(parts);
      optimizer.dispose();
      set.dispose();
    },
  };
}

/**
 * Stage-1 step as `guilomo search` runs it: the maximum configuration with GSV masks, the
 * per-layer balance loss, and one {@link BilevelSearch} step on a (train, validation) pair of
 * random batches, first-order (`search`) or DARTS second-order (`search2`).
 */
function createSearchStep(mode: 'search' | 'search2', context: StepContext): BenchStep {
  const { model, targets, registry, config } = context;
  const rng = new Rng(context.seed);
  const set = createSearchAdapters(targets, config, registry, rng.fork());
  let seedCounter = 0;
  const { loss, parts } = createLossFunction({
    model,
    set,
    targets,
    grouping: 'layer',
    auxLossCoef: config.adapter.auxLossCoef,
    training: true,
    nextSeed: () => (context.seed * 1_000_003 + seedCounter++) >>> 0,
  });
  const search = new BilevelSearch<Batch>(
    {
      innerVariables: [...set.variables.values()],
      outerVariables: [...set.gsvVariables.values()],
      loss,
    },
    {
      mode: mode === 'search' ? 'first-order' : 'darts',
      inner: {
        lr: config.search.innerLr,
        schedule: { type: 'constant' },
        maxGradNorm: config.train.clipNorm > 0 ? config.train.clipNorm : null,
      },
      outer: { lr: config.search.outerLr },
    },
  );
  const batches = new Rng(context.seed + 2);
  const vocab = model.config.vocabSize;

  return {
    mode,
    run: () => {
      const trainBatch = randomTokenBatch(batches, context.batch, context.length, vocab);
      const valBatch = randomTokenBatch(batches, context.batch, context.length, vocab);
      try {
        // BilevelSearch reads its metrics with one data transfer.
        const metrics = search.step(trainBatch, valBatch);
        return metrics.trainLoss;
      } finally {
        disposeBatch(trainBatch);
        disposeBatch(valBatch);
      }
    },
    dispose: () => {
      disposeParts(parts);
      search.dispose();
      set.dispose();
    },
  };
}

function readLoss(value: Scalar, mode: StepMode): number {
  const loss = value.dataSync()[0] as number;
  value.dispose();
  if (!Number.isFinite(loss)) {
    throw new NumericError(`The ${mode} benchmark step produced a loss of ${loss}.`);
  }
  return loss;
}

function disposeParts(parts: LossParts): void {
  parts.taskLoss?.dispose();
  parts.balanceLoss?.dispose();
  parts.taskLoss = undefined;
  parts.balanceLoss = undefined;
}
