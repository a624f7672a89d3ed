import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EvaluationResult } from '@guilomo/benchmarks';
import type { Allocation } from '@guilomo/core';
import type { ResolvedConfig, TaskName } from '../config/types.js';
import { needsSearch } from '../pipeline.js';
import { RunDir, readJsonIfExists, readJsonl, writeJson } from '../run-dir.js';
import type { Session } from '../session.js';
import { runAllocate } from '../stages/allocate.js';
import { runEvaluate } from '../stages/evaluate.js';
import type { GsvScores } from '../stages/search.js';
import { runSearch } from '../stages/search.js';
import { runTrain } from '../stages/train.js';
import type { BudgetStatus, PlannedRow } from './rows.js';
import { canonicalJson } from './rows.js';

/** Bumped when the meaning of a cell's result changes, so that older results are recomputed. */
const CELL_FORMAT_VERSION = 1;

/** One task × row × seed of a comparison. */
export interface CellKey {
  readonly task: TaskName;
  readonly row: PlannedRow;
  readonly seed: number;
}

/** Routing health after the last training step (see the `train` stage's routing metrics). */
export interface CellRouting {
  /** Largest share of routed slots that one expert takes, over the adapted modules. */
  readonly maxExpertShare: number;
  /** Mean entropy of the expert shares over the adapted modules, in nats. */
  readonly routingEntropy: number;
}

/** Result of one finished cell, stored in `cell-result.json`. */
export interface CellResult {
  readonly format: 'guilomo-compare-cell';
  readonly version: typeof CELL_FORMAT_VERSION;
  /** Hash of the settings that determine the cell's result; see {@link cellConfigHash}. */
  readonly configHash: string;
  readonly task: TaskName;
  readonly row: string;
  readonly slug: string;
  readonly seed: number;
  /** Policy and parameters the cell ran, after budget matching. */
  readonly policy: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly budget: BudgetStatus;
  /** Number of trainable values in the stage-2 adapters (LoRA factors and routers). */
  readonly trainableParameters: number;
  readonly allocation: {
    readonly modules: number;
    readonly experts: number;
    readonly meanRank: number;
  };
  /** Evaluation summary, without the per-example predictions (those stay in the cell folder). */
  readonly evaluation: Omit<EvaluationResult, 'predictions'>;
  /** Null when no module has a router (plain LoRA) or training ran no step. */
  readonly routing: CellRouting | null;
  /** Training loss of the last step, or null when training ran no step. */
  readonly finalTrainLoss: number | null;
  /** Wall-clock seconds per stage in the process that finished the cell. */
  readonly seconds: {
    readonly search: number;
    readonly allocate: number;
    readonly train: number;
    readonly evaluate: number;
    readonly total: number;
  };
  /** Whether the cell continued from checkpoints of an earlier, interrupted process. */
  readonly resumed: boolean;
  readonly finishedAt: string;
}

/** Folder of a cell: `<run folder>/cells/<task>/<row slug>/<seed>`. */
export function cellDir(root: string, key: CellKey): string {
  return join(root, 'cells', key.task, key.row.slug, String(key.seed));
}

/** Builds the resolved config of one cell: the comparison's config with the cell's task, seed and policy. */
export function cellConfig(base: ResolvedConfig, key: CellKey, out: string): ResolvedConfig {
  return {
    ...base,
    run: { ...base.run, seed: key.seed, out },
    data: { ...base.data, task: key.task },
    allocation: { policy: key.row.effectivePolicy, params: key.row.effectiveParams },
  };
}

/**
 * Hashes the settings that determine a cell's result: the seed, model, data, adapter, allocation,
 * training and evaluation settings, plus the search settings when the cell runs a search. The
 * run folder, backend, kernels, checkpoint interval, plugin paths and the `compare` section are
 * left out, so changing them does not invalidate finished cells.
 */
export function cellConfigHash(config: ResolvedConfig, withSearch: boolean): string {
  const { run, search, compare: _compare, ...rest } = config;
  const settings = {
    cellFormat: CELL_FORMAT_VERSION,
    seed: run.seed,
    ...rest,
    ...(withSearch ? { search } : {}),
  };
  return createHash('sha256').update(canonicalJson(settings)).digest('hex').slice(0, 16);
}

/** Outcome of {@link runCell}. */
export interface CellOutcome {
  readonly result: CellResult;
  /** `reused`: read from a finished cell-result.json with the same config hash. */
  readonly status: 'computed' | 'reused';
}

/**
 * Runs one cell in its own folder with the pipeline's stages: the search when the policy needs
 * GSVs, allocation, stage-2 training and evaluation. A cell whose `cell-result.json` has the
 * same config hash is returned without running anything. An unfinished cell continues from its
 * checkpoints when `taskSession.resume` is set and its `config.json` hashes the same. Otherwise
 * its checkpoints are deleted and it starts over.
 */
export async function runCell(taskSession: Session, key: CellKey): Promise<CellOutcome> {
  const dir = cellDir(taskSession.runDir.root, key);
  const runDir = new RunDir(dir);
  const config = cellConfig(taskSession.config, key, dir);
  const logger = taskSession.logger.child(`${key.task}/${key.row.slug}/${key.seed}`);
  const probe: Session = { ...taskSession, config, runDir, logger };
  const withSearch = needsSearch(probe);
  const hash = cellConfigHash(config, withSearch);
  const resultPath = join(dir, 'cell-result.json');

  const finished = readCellResult(resultPath, logger);
  if (finished !== undefined && finished.configHash === hash) {
    logger.info(
      `Reusing the finished cell in ${dir}; delete its cell-result.json to recompute it.`,
    );
    return { result: finished, status: 'reused' };
  }
  if (finished !== undefined) {
    logger.info(`The config changed since ${resultPath} was written; recomputing the cell.`);
  }

  const stored = readJsonIfExists<ResolvedConfig>(runDir.config);
  const sameConfig = stored !== undefined && cellConfigHash(stored, withSearch) === hash;
  const resume = taskSession.resume && sameConfig;
  if (taskSession.resume && stored !== undefined && !sameConfig) {
    logger.warn(
      `The cell's checkpoints in ${dir} were written with another config; starting the cell over.`,
    );
  }
  if (!resume) {
    // Stale checkpoints must not be picked up by a later --resume under the new config.
    rmSync(runDir.checkpoints, { recursive: true, force: true });
    rmSync(resultPath, { force: true });
  }
  mkdirSync(dir, { recursive: true });
  await writeJson(runDir.config, config);
  const session: Session = { ...probe, resume };

  const started = Date.now();
  let scores: GsvScores | undefined;
  if (withSearch) {
    scores = await runSearch(session);
  }
  const searched = Date.now();
  const allocation = await runAllocate(session, scores === undefined ? {} : { scores });
  const allocated = Date.now();
  const set = await runTrain(session, allocation);
  const trained = Date.now();
  let evaluation: EvaluationResult;
  let trainableParameters = 0;
  try {
    for (const variable of set.variables.values()) {
      trainableParameters += variable.size;
    }
    evaluation = await runEvaluate(session, set.adapters);
  } finally {
    set.dispose();
  }
  const evaluated = Date.now();

  const { predictions: _predictions, ...summary } = evaluation;
  const lastStep = readJsonl<Record<string, unknown>>(runDir.log('train')).at(-1);
  const result: CellResult = {
    format: 'guilomo-compare-cell',
    version: CELL_FORMAT_VERSION,
    configHash: hash,
    task: key.task,
    row: key.row.label,
    slug: key.row.slug,
    seed: key.seed,
    policy: key.row.effectivePolicy,
    params: key.row.effectiveParams,
    budget: key.row.budget,
    trainableParameters,
    allocation: allocationTotals(allocation),
    evaluation: summary,
    routing: readRouting(lastStep),
    finalTrainLoss: typeof lastStep?.loss === 'number' ? lastStep.loss : null,
    seconds: {
      search: (searched - started) / 1000,
      allocate: (allocated - searched) / 1000,
      train: (trained - allocated) / 1000,
      evaluate: (evaluated - trained) / 1000,
      total: (evaluated - started) / 1000,
    },
    resumed: resume,
    finishedAt: new Date(evaluated).toISOString(),
  };
  await writeJson(resultPath, result);
  return { result, status: 'computed' };
}

function readCellResult(path: string, logger: Session['logger']): CellResult | undefined {
  let value: CellResult | undefined;
  try {
    value = readJsonIfExists<CellResult>(path);
  } catch (error) {
    logger.warn(
      `Ignoring ${path}, which is not valid JSON (${(error as Error).message}); recomputing the cell.`,
    );
    return undefined;
  }
  if (
    value !== undefined &&
    (value.format !== 'guilomo-compare-cell' || value.version !== CELL_FORMAT_VERSION)
  ) {
    logger.info(
      `Ignoring ${path}, written in another format (${String(value.format)} version ${String(value.version)}); recomputing the cell.`,
    );
    return undefined;
  }
  return value;
}

function readRouting(record: Record<string, unknown> | undefined): CellRouting | null {
  if (
    record === undefined ||
    typeof record.maxExpertShare !== 'number' ||
    typeof record.routingEntropy !== 'number'
  ) {
    return null;
  }
  return { maxExpertShare: record.maxExpertShare, routingEntropy: record.routingEntropy };
}

function allocationTotals(allocation: Allocation): CellResult['allocation'] {
  let experts = 0;
  let rankSum = 0;
  for (const entry of allocation.modules) {
    experts += entry.ranks.length;
    for (const rank of entry.ranks) {
      rankSum += rank;
    }
  }
  return {
    modules: allocation.modules.length,
    experts,
    meanRank: experts === 0 ? 0 : rankSum / experts,
  };
}
