import { existsSync, readFileSync } from 'node:fs';
import type { AllocationJson } from '@guilomo/allocation';
import { fromAllocationJson } from '@guilomo/allocation';
import type { EvaluationResult } from '@guilomo/benchmarks';
import type { Allocation } from '@guilomo/core';
import { ConfigError } from '@guilomo/core';
import { createTrainAdapters } from './adapters.js';
import { importVariables, loadCheckpoint } from './checkpoint.js';
import type { ReportModule } from './report/write-report.js';
import { writeReport } from './report/write-report.js';
import type { Session } from './session.js';
import { runAllocate } from './stages/allocate.js';
import { runEvaluate } from './stages/evaluate.js';
import { readGsvFile, runSearch } from './stages/search.js';
import type { GsvScores } from './stages/search.js';
import { runTrain } from './stages/train.js';
import { Rng } from '@guilomo/core';

/** Returns whether the configured allocation needs stage-1 GSVs. */
export function needsSearch(session: Session): boolean {
  const { policy, params } = session.config.allocation;
  return policy === 'guilomo' || JSON.stringify(params).includes('"guilomo"');
}

/** `guilomo search`: stage 1 only. */
export async function commandSearch(session: Session): Promise<GsvScores> {
  return runSearch(session);
}

/** `guilomo allocate`: reads the search's GSVs when the policy needs them. */
export async function commandAllocate(session: Session): Promise<Allocation> {
  const scores = existsSync(session.runDir.gsv) ? await readGsvFile(session.runDir.gsv) : undefined;
  if (needsSearch(session) && scores === undefined) {
    throw new ConfigError('allocation.policy', `needs GSVs, but ${session.runDir.gsv} does not exist. Run \`guilomo search --run-out ${session.config.run.out}\` first.`);
  }
  return runAllocate(session, scores === undefined ? {} : { scores });
}

/** Reads the run folder's allocation.json, or computes one when the policy needs no search. */
export async function loadOrComputeAllocation(session: Session): Promise<Allocation> {
  if (existsSync(session.runDir.allocation)) {
    return fromAllocationJson(JSON.parse(readFileSync(session.runDir.allocation, 'utf8')) as AllocationJson);
  }
  return commandAllocate(session);
}

/** `guilomo train`: stage 2 with the run folder's allocation. */
export async function commandTrain(session: Session): Promise<void> {
  const allocation = await loadOrComputeAllocation(session);
  const set = await runTrain(session, allocation);
  set.dispose();
  await finishReport(session, allocation);
}

/**
 * `guilomo eval`: evaluates the trained adapters of the run folder (from its last training
 * checkpoint), or the base model when the folder has none.
 */
export async function commandEval(session: Session): Promise<EvaluationResult> {
  const checkpoint = await loadCheckpoint(session.runDir.checkpoint('train'));
  if (checkpoint === undefined || !existsSync(session.runDir.allocation)) {
    session.logger.info(`No trained adapters in ${session.runDir.root}; evaluating the base model.`);
    const result = await runEvaluate(session, undefined, 'base');
    await finishReport(session, undefined);
    return result;
  }
  if (checkpoint.step < session.config.train.steps) {
    session.logger.warn(
      `Training in ${session.runDir.root} stopped at step ${checkpoint.step} of ${session.config.train.steps}; evaluating that checkpoint. Run \`guilomo train --resume\` to finish it.`,
    );
  }
  const allocation = await loadOrComputeAllocation(session);
  const set = createTrainAdapters(allocation.modules, session.targets, session.config, session.registry, new Rng(0));
  importVariables(set.variables, checkpoint.arrays, session.runDir.checkpoint('train'));
  try {
    const result = await runEvaluate(session, set.adapters);
    await finishReport(session, allocation);
    return result;
  } finally {
    set.dispose();
  }
}

/** `guilomo run`: search (when the policy needs it), allocate, train, evaluate, report. */
export async function commandRun(session: Session): Promise<EvaluationResult> {
  let scores: GsvScores | undefined;
  if (needsSearch(session)) {
    scores = await runSearch(session);
  } else {
    session.logger.info(`Policy ${session.config.allocation.policy} needs no search; skipping stage 1.`);
  }
  const allocation = await runAllocate(session, scores === undefined ? {} : { scores });
  const set = await runTrain(session, allocation);
  try {
    const result = await runEvaluate(session, set.adapters);
    await finishReport(session, allocation);
    return result;
  } finally {
    set.dispose();
  }
}

async function finishReport(session: Session, allocation: Allocation | undefined): Promise<void> {
  const byPath = new Map(session.targets.map((module) => [module.path, module]));
  const modules: ReportModule[] | undefined = allocation?.modules.map((entry) => {
    const info = byPath.get(entry.path);
    return { path: entry.path, layer: info?.layer ?? 0, projection: info?.projection ?? '?', ranks: entry.ranks };
  });
  const written = await writeReport(session.runDir, modules);
  session.logger.info(`Report written to ${written[0]} and ${written[1]}.`);
}
