import { AdamW, BatchIterator, clipByGlobalNorm, createLrSchedule } from '@guilomo/bilevel';
import type { AdamWSerializedState, BatchCursor } from '@guilomo/bilevel';
import type { Allocation } from '@guilomo/core';
import { ConfigError, leanVariableGrads, NumericError, Rng } from '@guilomo/core';
import { routingHealth } from '@guilomo/routers';
import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { exportAdapters } from '../adapter-export.js';
import type { AdapterSet } from '../adapters.js';
import { createTrainAdapters } from '../adapters.js';
import {
  exportVariables,
  importVariables,
  loadCheckpoint,
  packOptimizerArrays,
  saveCheckpoint,
  unpackOptimizerArrays,
} from '../checkpoint.js';
import type { Batch, TokenisedExample } from '../data.js';
import { disposeBatch, makeBatch } from '../data.js';
import { createLossFunction, takeParts } from '../losses.js';
import { JsonlLog } from '../run-dir.js';
import type { Session } from '../session.js';
import { RunStopped, stopStep } from '../stop-after.js';
import { tokeniseTrainingLogged } from './tokenise.js';

/**
 * Stage 2: trains a fresh LoRA-MoE with the allocated expert counts and ranks (B = 0, so the
 * model starts as the base model) with AdamW, linear warm-up and decay, and gradient clipping.
 * Logs per step, checkpoints every `run.checkpointEvery` steps, and exports the adapters in
 * PEFT's file layout. The caller disposes the returned adapters.
 */
export async function runTrain(session: Session, allocation: Allocation): Promise<AdapterSet> {
  const rng = new Rng(session.config.run.seed + 1);
  const set = createTrainAdapters(allocation.modules, session.targets, session.config, session.registry, rng.fork());
  // The optimiser state is released on every exit; the adapters too unless training finishes.
  const owned: { dispose(): void }[] = [];
  let finished = false;
  try {
    await train(session, allocation, set, owned);
    finished = true;
    return set;
  } finally {
    for (const resource of owned.reverse()) {
      resource.dispose();
    }
    if (!finished) {
      set.dispose();
    }
  }
}

async function train(session: Session, allocation: Allocation, set: AdapterSet, owned: { dispose(): void }[]): Promise<void> {
  const { config, runDir, logger, model, targets } = session;
  const train = config.train;
  const variables = [...set.variables.values()];
  const examples = tokeniseTrainingLogged(session, session.trainExamples);

  let seedCounter = 0;
  const { loss, parts } = createLossFunction({
    model,
    set,
    targets,
    grouping: 'module',
    auxLossCoef: config.adapter.auxLossCoef,
    training: true,
    nextSeed: () => (config.run.seed * 7_368_787 + seedCounter++) >>> 0,
  });
  const optimizer = new AdamW(variables, { lr: train.lr, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
  owned.push(optimizer, { dispose: () => takeParts(parts) });
  const schedule = createLrSchedule(train.lr, { type: 'linear', warmupSteps: train.warmupSteps, maxSteps: Math.max(train.steps, 1) });
  const batches = new BatchIterator<TokenisedExample>(examples, { batchSize: train.batchSize, seed: config.run.seed + 2 });

  let step = 0;
  const checkpointDir = runDir.checkpoint('train');
  const saved = session.resume ? await loadCheckpoint(checkpointDir) : undefined;
  if (saved !== undefined) {
    importVariables(set.variables, saved.arrays, checkpointDir);
    const state = saved.state as { optimizerStep: number; cursor: BatchCursor; seedCounter: number };
    const { tensors, shapes } = unpackOptimizerArrays(saved.arrays);
    optimizer.importState({ step: state.optimizerStep, tensors, shapes } as AdamWSerializedState);
    batches.setCursor(state.cursor);
    seedCounter = state.seedCounter;
    step = saved.step;
    if (step > train.steps) {
      throw new ConfigError(
        'train.steps',
        `is ${train.steps}, but the checkpoint in ${checkpointDir} is at step ${step}. Resume with train.steps >= ${step}, or use another --run-out.`,
      );
    }
    logger.info(`Resuming training at step ${step} of ${train.steps}.`);
  }
  const log = new JsonlLog(runDir.log('train'));
  await log.open(saved === undefined ? undefined : step);
  const checkpoint = async () => {
    const arrays: Record<string, { shape: readonly number[]; data: Float32Array }> = exportVariables(set.variables);
    const state = optimizer.exportState();
    packOptimizerArrays(arrays, state);
    await saveCheckpoint(checkpointDir, { step, arrays, state: { optimizerStep: state.step, cursor: batches.getCursor(), seedCounter } });
  };

  session.progress({ phase: 'train', step, total: train.steps });
  const stopAt = stopStep(config.run.stopAfter, step, train.steps);
  const started = Date.now();
  while (step < train.steps) {
    const batch = makeBatch(batches.next().items, config.data.maxLength);
    const lr = schedule.lrAt(step);
    let lossValue: number;
    let gradNorm: number;
    try {
      // Inner step: gradients of the adapters only, clipped, then AdamW.
      const { value, grads } = leanVariableGrads(() => loss(batch), variables);
      const ordered: Tensor[] = variables.map((variable) => grads[variable.name] as Tensor);
      const clipped = train.clipNorm > 0 ? clipByGlobalNorm(ordered, train.clipNorm) : { grads: ordered, norm: tf.scalar(Number.NaN) as Scalar };
      optimizer.step(clipped.grads, lr);
      lossValue = value.dataSync()[0] as number;
      gradNorm = clipped.norm.dataSync()[0] as number;
      tf.dispose([value, clipped.norm, ...Object.values(grads)]);
      if (clipped.grads !== ordered) {
        tf.dispose(clipped.grads);
      }
    } finally {
      disposeBatch(batch);
    }
    if (!Number.isFinite(lossValue)) {
      throw new NumericError(`Training loss became ${lossValue} at step ${step + 1}. Lower train.lr (now ${train.lr}) or resume from the last checkpoint in ${checkpointDir}.`);
    }
    step++;
    const record: Record<string, unknown> = { step, loss: lossValue, ...takeParts(parts), lr, gradNorm, tokens: batch.tokens, elapsedSeconds: (Date.now() - started) / 1000 };
    if (step % config.run.checkpointEvery === 0 || step === train.steps || step === 1) {
      Object.assign(record, measureRouting(session, set, examples));
    }
    log.append(record);
    session.progress({ phase: 'train', step, total: train.steps, metrics: { loss: lossValue, lr } });
    if (step % config.run.checkpointEvery === 0 || step === train.steps || step === stopAt) {
      await checkpoint();
    }
    if (step === stopAt) {
      throw new RunStopped('train', step, train.steps, checkpointDir);
    }
  }

  await exportAdapters(runDir.adapterDir, set, allocation.modules, config, config.model.checkpoint === '' ? 'babyllama-tok105 (bundled)' : config.model.checkpoint);
  logger.info(`Training finished; adapters written to ${runDir.adapterDir}.`);
}

/** Routing health on the first batch of training data: worst module's max share, mean entropy. */
function measureRouting(session: Session, set: AdapterSet, examples: readonly TokenisedExample[]): Record<string, number> {
  if (set.routers.size === 0) {
    return {};
  }
  const batch: Batch = makeBatch(examples.slice(0, Math.min(8, examples.length)), session.config.data.maxLength);
  let maxShare = 0;
  let entropySum = 0;
  let count = 0;
  try {
    const output = session.model.forward(batch.ids, { adapters: set.adapters, training: false });
    for (const weights of output.routingWeights.values()) {
      const health = routingHealth(weights);
      maxShare = Math.max(maxShare, health.maxExpertShare);
      entropySum += health.entropy;
      count++;
    }
    tf.dispose([output.logits, ...output.routerLogits.values(), ...output.routingWeights.values()]);
  } finally {
    disposeBatch(batch);
  }
  return count === 0 ? {} : { maxExpertShare: maxShare, routingEntropy: entropySum / count };
}
