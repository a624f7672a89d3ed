import type { BilevelSearchState } from '@guilomo/bilevel';
import { BatchPairIterator, BilevelSearch } from '@guilomo/bilevel';
import { ConfigError, Rng, writeSafetensorsFile } from '@guilomo/core';
import { readAllocation } from '@guilomo/gsv';
import type { BatchPairCursor } from '@guilomo/bilevel';
import type { SearchAdapterSet } from '../adapters.js';
import { createSearchAdapters } from '../adapters.js';
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

/** GSV values of every module after the search, as plain arrays. */
export interface GsvScores {
  readonly modules: ReadonlyMap<string, { readonly expert: Float32Array; readonly ranks: readonly Float32Array[] }>;
}

/**
 * Stage 1: trains the maximum LoRA-MoE configuration and the GSVs by bilevel optimisation,
 * logging per-step losses and the expert counts and ranks the GSVs currently select. Writes
 * `gsv.safetensors` and returns the final GSV values.
 */
export async function runSearch(session: Session): Promise<GsvScores> {
  // Adapters and optimiser state are released on every exit: success, stop or error.
  const owned: { dispose(): void }[] = [];
  try {
    return await search(session, owned);
  } finally {
    for (const resource of owned.reverse()) {
      resource.dispose();
    }
  }
}

async function search(session: Session, owned: { dispose(): void }[]): Promise<GsvScores> {
  const { config, runDir, logger, model, targets } = session;
  const search = config.search;
  const rng = new Rng(config.run.seed);
  const set = createSearchAdapters(targets, config, session.registry, rng.fork());
  owned.push(set);
  const examples = tokeniseTrainingLogged(session, session.trainExamples);

  let seedCounter = 0;
  const { loss, parts } = createLossFunction({
    model,
    set,
    targets,
    grouping: 'layer',
    auxLossCoef: config.adapter.auxLossCoef,
    training: true,
    nextSeed: () => (config.run.seed * 1_000_003 + seedCounter++) >>> 0,
  });
  const optimizer = new BilevelSearch<Batch>(
    { innerVariables: [...set.variables.values()], outerVariables: [...set.gsvVariables.values()], loss },
    {
      mode: search.mode,
      inner: { lr: search.innerLr, schedule: { type: 'linear', warmupSteps: search.warmupSteps, maxSteps: Math.max(search.steps, 1) } },
      outer: { lr: search.outerLr },
      logger: logger.child('bilevel'),
    },
  );
  owned.push(optimizer, { dispose: () => takeParts(parts) });
  const pairs = new BatchPairIterator<TokenisedExample>(examples, {
    pairing: search.validation,
    batchSize: search.batchSize,
    seed: config.run.seed,
    validationFraction: search.heldOutFraction,
  });

  // Resume from the last checkpoint of this phase.
  let step = 0;
  const checkpointDir = runDir.checkpoint('search');
  const saved = session.resume ? await loadCheckpoint(checkpointDir) : undefined;
  if (saved !== undefined) {
    importVariables(new Map([...set.variables, ...set.gsvVariables]), saved.arrays, checkpointDir);
    const state = saved.state as { search: Omit<BilevelSearchState, 'tensors' | 'shapes'>; cursor: BatchPairCursor; seedCounter: number };
    const { tensors, shapes } = unpackOptimizerArrays(saved.arrays);
    optimizer.importState({ ...state.search, tensors, shapes } as BilevelSearchState);
    pairs.setCursor(state.cursor);
    seedCounter = state.seedCounter;
    step = saved.step;
    if (step > search.steps) {
      throw new ConfigError(
        'search.steps',
        `is ${search.steps}, but the checkpoint in ${checkpointDir} is at step ${step}. Resume with search.steps >= ${step}, or use another --run-out.`,
      );
    }
    logger.info(`Resuming the search at step ${step} of ${search.steps}.`);
  }
  const log = new JsonlLog(runDir.log('search'));
  await log.open(saved === undefined ? undefined : step);

  const checkpoint = async () => {
    const state = optimizer.exportState({ includeVariables: false });
    const arrays: Record<string, { shape: readonly number[]; data: Float32Array }> = exportVariables(new Map([...set.variables, ...set.gsvVariables]));
    packOptimizerArrays(arrays, state);
    const { tensors: _tensors, shapes: _shapes, ...meta } = state;
    await saveCheckpoint(checkpointDir, { step, arrays, state: { search: meta, cursor: pairs.getCursor(), seedCounter } });
  };

  session.progress({ phase: 'search', step, total: search.steps });
  const stopAt = stopStep(config.run.stopAfter, step, search.steps);
  const started = Date.now();
  while (step < search.steps) {
    const pair = pairs.next();
    const trainBatch = makeBatch(pair.train, config.data.maxLength);
    const valBatch = makeBatch(pair.validation, config.data.maxLength);
    let metrics: ReturnType<BilevelSearch<Batch>['step']>;
    try {
      metrics = optimizer.step(trainBatch, valBatch);
    } finally {
      disposeBatch(trainBatch);
      disposeBatch(valBatch);
    }
    step++;
    const lossParts = takeParts(parts);
    const shape = currentShape(set);
    log.append({
      step,
      loss: metrics.trainLoss,
      valLoss: metrics.valLoss,
      ...lossParts,
      meanExperts: shape.meanExperts,
      meanRank: shape.meanRank,
      outerGradNorm: metrics.outerGradNorm,
      ...(metrics.vNorm === undefined ? {} : { vNorm: metrics.vNorm }),
      lr: metrics.lr,
      tokens: trainBatch.tokens + valBatch.tokens,
      elapsedSeconds: (Date.now() - started) / 1000,
    });
    session.progress({
      phase: 'search',
      step,
      total: search.steps,
      metrics: { loss: metrics.trainLoss, val: metrics.valLoss, experts: shape.meanExperts, rank: shape.meanRank },
    });
    if (step % config.run.checkpointEvery === 0 || step === search.steps || step === stopAt) {
      await checkpoint();
    }
    if (step === stopAt) {
      throw new RunStopped('search', step, search.steps, checkpointDir);
    }
  }

  const scores = readScores(set);
  await writeGsvFile(runDir.gsv, scores, config.adapter.maxExperts, config.adapter.maxRank);
  const shape = currentShape(set);
  logger.info(`Search finished: mean experts ${shape.meanExperts.toFixed(2)}, mean rank ${shape.meanRank.toFixed(2)}.`, { gsv: runDir.gsv });
  return scores;
}

function currentShape(set: SearchAdapterSet): { meanExperts: number; meanRank: number } {
  let experts = 0;
  let rankSum = 0;
  let rankCount = 0;
  for (const gsv of set.gsv.values()) {
    const allocation = readAllocation(gsv);
    experts += allocation.experts;
    for (const rank of allocation.ranks.slice(0, allocation.experts)) {
      rankSum += rank;
      rankCount++;
    }
  }
  return { meanExperts: experts / Math.max(set.gsv.size, 1), meanRank: rankSum / Math.max(rankCount, 1) };
}

function readScores(set: SearchAdapterSet): GsvScores {
  const modules = new Map<string, { expert: Float32Array; ranks: Float32Array[] }>();
  for (const [path, gsv] of set.gsv) {
    const expert = Float32Array.from(gsv.expert.dataSync() as Float32Array);
    const flat = gsv.ranks.dataSync() as Float32Array;
    const ranks = Array.from({ length: gsv.numExperts }, (_, e) => Float32Array.from(flat.subarray(e * gsv.maxRank, (e + 1) * gsv.maxRank)));
    modules.set(path, { expert, ranks });
  }
  return { modules };
}

/**
 * Writes the GSVs with the authors' tensor names (without the PEFT prefix):
 * `<module>.router_expert_vector` `[N]` and `<module>.expertlora_E_vector_<e>` `[r]`.
 */
async function writeGsvFile(path: string, scores: GsvScores, maxExperts: number, maxRank: number): Promise<void> {
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [module, values] of scores.modules) {
    tensors[`${module}.router_expert_vector`] = { dtype: 'F32', shape: [maxExperts], data: values.expert };
    values.ranks.forEach((ranks, expert) => {
      tensors[`${module}.expertlora_E_vector_${expert}`] = { dtype: 'F32', shape: [maxRank], data: ranks };
    });
  }
  await writeSafetensorsFile(path, tensors, { format: 'guilomo-gsv' });
}

/** Reads `gsv.safetensors` back into scores, for `allocate` run on its own. */
export { readGsvFile } from './gsv-file.js';
