import { fork } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@guilomo/core';
import { ConfigError, GuiLoMoError } from '@guilomo/core';
import { defaultModelPaths } from '@guilomo/models';
import { writeJson } from '../run-dir.js';
import type { Session } from '../session.js';
import type { EvalThroughput } from './eval-throughput.js';
import type { BenchJob, BenchJobResult } from './jobs.js';
import { BENCH_TOP_K, planJobs, readBenchModes, runBenchJob, SCALING_EXPERTS } from './jobs.js';
import type { StepMeasurement } from './measure.js';
import { formatBenchMarkdown } from './report.js';
import type { StepMode } from './steps.js';
import type { BlasInfo } from './threads.js';
import { setBenchThreads } from './threads.js';
import type { TorchAvailability, TorchMeasurement } from './torch-reference.js';
import { findTorchReference, runTorchReference } from './torch-reference.js';
import type { WorkerMessage, WorkerRequest } from './worker-protocol.js';

/** Options of {@link runBench}. */
export interface BenchOptions {
  /**
   * Runs each job in a child process, so that peak RSS and the wasm heap are per job, as they
   * are for the PyTorch reference. Default: true when the compiled worker (`worker.js`) exists,
   * which it does not when the sources run directly, as in the tests.
   */
  readonly isolate?: boolean;
  /** Command line shown in the report. Default: this process's arguments. */
  readonly command?: string;
}

/** One timed step kind: ours and, when it ran, the PyTorch reference. */
export interface StepRow {
  readonly mode: StepMode;
  readonly experts: number;
  readonly ours: StepMeasurement;
  readonly torch?: TorchMeasurement;
  /** Our tokens/s divided by PyTorch's. */
  readonly ratio?: number;
}

/** Everything one `guilomo bench` invocation measured, as written to `bench-results.json`. */
export interface BenchReport {
  readonly command: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly node: string;
    readonly loadAverageStart: readonly number[];
    readonly loadAverageEnd: readonly number[];
  };
  readonly backend: string;
  readonly blas: BlasInfo;
  readonly isolated: boolean;
  readonly settings: {
    readonly batch: number;
    readonly seq: number;
    readonly experts: number;
    readonly rank: number;
    readonly topK: number;
    readonly iters: number;
    readonly warmup: number;
    readonly threads: number;
    readonly seed: number;
    readonly clipNorm: number;
  };
  readonly torch: { readonly ran: boolean; readonly reason?: string };
  /** train, search and search2 at `bench.experts`, in the order they ran. */
  readonly steps: readonly StepRow[];
  /** Train steps of the scaling benchmark and the cost ratio of the largest to the smallest. */
  readonly scaling?: {
    readonly rows: readonly StepRow[];
    readonly costRatio: number;
    readonly torchCostRatio?: number;
  };
  readonly eval: readonly EvalThroughput[];
  /** Paths of the JSON and Markdown files written into the run folder. */
  readonly files: readonly string[];
}

const WORKER_PATH = fileURLToPath(new URL('./worker.js', import.meta.url));

/**
 * Runs the benchmarks of `bench.modes` on the session's model, each timed step kind next to the
 * PyTorch reference when `bench.torch` allows, and writes `bench-results.json` and
 * `bench-results.md` into the run folder.
 */
export async function runBench(session: Session, options: BenchOptions = {}): Promise<BenchReport> {
  const { config, logger } = session;
  const modes = readBenchModes(config);
  if (config.bench.seq > session.model.config.seqLen) {
    throw new ConfigError(
      'bench.seq',
      `must be at most the model's context of ${session.model.config.seqLen} tokens, received ${config.bench.seq}.`,
    );
  }
  const isolate = options.isolate ?? existsSync(WORKER_PATH);
  const startedAt = new Date().toISOString();
  const loadAverageStart = loadavg();
  const blas = await setBenchThreads(config, session.backend, logger);
  const timesSteps = modes.some((mode) => mode !== 'eval');
  const torch: TorchAvailability = timesSteps
    ? findTorchReference(config)
    : { available: false, reason: 'no step benchmark selected' };
  if (!torch.available) {
    logger.info(`PyTorch reference skipped: ${torch.reason}.`);
  }

  const steps: StepRow[] = [];
  const scalingRows: StepRow[] = [];
  const evals: EvalThroughput[] = [];
  for (const mode of modes) {
    for (const job of planJobs([mode], config)) {
      const result = isolate ? await runInWorker(session, job) : await runBenchJob(session, job);
      if (result.kind === 'eval') {
        evals.push(result.throughput);
        continue;
      }
      const row = await withTorch(session, torch, result.measurement, result.experts);
      (mode === 'scaling' ? scalingRows : steps).push(row);
    }
  }

  const report: BenchReport = {
    command: options.command ?? process.argv.slice(1).join(' '),
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      loadAverageStart,
      loadAverageEnd: loadavg(),
    },
    backend: session.backend,
    blas,
    isolated: isolate,
    settings: {
      batch: config.bench.batch,
      seq: config.bench.seq,
      experts: config.bench.experts,
      rank: config.bench.rank,
      topK: BENCH_TOP_K,
      iters: config.bench.iters,
      warmup: config.bench.warmup,
      threads: config.bench.threads,
      seed: config.run.seed,
      clipNorm: config.train.clipNorm,
    },
    torch: torch.available ? { ran: true } : { ran: false, reason: torch.reason },
    steps,
    ...(scalingRows.length === SCALING_EXPERTS.length
      ? { scaling: scalingSummary(scalingRows) }
      : {}),
    eval: evals,
    files: [
      join(session.runDir.root, 'bench-results.json'),
      join(session.runDir.root, 'bench-results.md'),
    ],
  };
  await writeJson(report.files[0] as string, report);
  writeFileSync(report.files[1] as string, formatBenchMarkdown(report));
  logger.info(`Benchmark results written to ${report.files.join(' and ')}.`);
  return report;
}

/** Runs the PyTorch reference for the same step kind and expert count, when it is available. */
async function withTorch(
  session: Session,
  torch: TorchAvailability,
  ours: StepMeasurement,
  experts: number,
): Promise<StepRow> {
  if (!torch.available) {
    return { mode: ours.mode, experts, ours };
  }
  const { bench, model, train } = session.config;
  session.logger.info(`Timing the PyTorch reference: --mode ${ours.mode} with ${experts} experts.`);
  const measurement = await runTorchReference(torch.reference, {
    mode: ours.mode,
    threads: bench.threads,
    batch: bench.batch,
    seq: bench.seq,
    experts,
    rank: bench.rank,
    topK: BENCH_TOP_K,
    iters: bench.iters,
    warmup: bench.warmup,
    model: model.checkpoint === '' ? defaultModelPaths().checkpoint : model.checkpoint,
    clipNorm: train.clipNorm,
  });
  return {
    mode: ours.mode,
    experts,
    ours,
    torch: measurement,
    ratio: ours.tokensPerSecond / measurement.tokensPerSecond,
  };
}

function scalingSummary(rows: readonly StepRow[]): NonNullable<BenchReport['scaling']> {
  const smallest = rows[0] as StepRow;
  const largest = rows[rows.length - 1] as StepRow;
  const costRatio = largest.ours.msPerStep / smallest.ours.msPerStep;
  if (smallest.torch === undefined || largest.torch === undefined) {
    return { rows, costRatio };
  }
  return { rows, costRatio, torchCostRatio: largest.torch.msPerStep / smallest.torch.msPerStep };
}

/** Runs one job in a child process and forwards its log records and progress events. */
function runInWorker(session: Session, job: BenchJob): Promise<BenchJobResult> {
  const { logger } = session;
  return new Promise((resolve, reject) => {
    const child = fork(WORKER_PATH, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    const settle = (action: () => void) => {
      if (!settled) {
        settled = true;
        action();
      }
    };
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'log') {
        forwardRecord(logger, message.record);
      } else if (message.type === 'progress') {
        session.progress(message.event);
      } else if (message.type === 'result') {
        settle(() => resolve(message.result));
      } else {
        settle(() =>
          reject(
            new GuiLoMoError(
              `Benchmark job ${describeJob(job)} failed in its worker: ${message.name}: ${message.message}`,
            ),
          ),
        );
      }
    });
    child.on('error', (error) => {
      settle(() =>
        reject(
          new GuiLoMoError(
            `Benchmark worker for ${describeJob(job)} could not run: ${error.message}`,
          ),
        ),
      );
    });
    child.on('exit', (code, signal) => {
      settle(() =>
        reject(
          new GuiLoMoError(
            `Benchmark worker for ${describeJob(job)} exited with ${signal ?? `code ${code}`} before it sent a result.`,
          ),
        ),
      );
    });
    const request: WorkerRequest = { config: session.config, job, logLevel: logger.level };
    child.send(request);
  });
}

function forwardRecord(
  logger: Logger,
  record: {
    level: 'error' | 'warn' | 'info' | 'debug';
    prefix: string;
    message: string;
    fields?: Readonly<Record<string, unknown>>;
  },
): void {
  const target = record.prefix === '' ? logger : logger.child(record.prefix);
  target[record.level](record.message, record.fields);
}

function describeJob(job: BenchJob): string {
  return job.kind === 'eval' ? `eval (${job.scoring})` : `${job.mode} with ${job.experts} experts`;
}
