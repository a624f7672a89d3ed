import { ConfigError } from '@guilomo/core';
import type { ResolvedConfig } from '../config/types.js';
import type { Session } from '../session.js';
import type { EvalScoring, EvalThroughput } from './eval-throughput.js';
import { measureEvalThroughput } from './eval-throughput.js';
import type { StepMeasurement } from './measure.js';
import { measureSteps } from './measure.js';
import type { StepMode } from './steps.js';
import { createBenchStep } from './steps.js';

/** Benchmarks that `bench.modes` can list. */
export const BENCH_MODES = ['train', 'search', 'search2', 'scaling', 'eval'] as const;
export type BenchMode = (typeof BENCH_MODES)[number];

/** Expert counts of the scaling benchmark, whose cost ratio is reported. */
export const SCALING_EXPERTS = [2, 16] as const;

/** Routing width of every benchmark, as in the PyTorch reference's default. */
export const BENCH_TOP_K = 2;

/** One unit of benchmark work, run in its own process by default. */
export type BenchJob =
  | { readonly kind: 'step'; readonly mode: StepMode; readonly experts: number }
  | { readonly kind: 'eval'; readonly scoring: EvalScoring };

/** Result of a {@link BenchJob}. */
export type BenchJobResult =
  | { readonly kind: 'step'; readonly experts: number; readonly measurement: StepMeasurement }
  | { readonly kind: 'eval'; readonly throughput: EvalThroughput };

/** Returns the modes of `bench.modes`, or throws a ConfigError naming an unknown one. */
export function readBenchModes(config: ResolvedConfig): BenchMode[] {
  const modes: BenchMode[] = [];
  for (const mode of config.bench.modes) {
    if (!(BENCH_MODES as readonly string[]).includes(mode)) {
      throw new ConfigError(
        'bench.modes',
        `contains the unknown mode ${JSON.stringify(mode)}. Valid modes: ${BENCH_MODES.join(', ')}.`,
      );
    }
    if (!modes.includes(mode as BenchMode)) {
      modes.push(mode as BenchMode);
    }
  }
  if (modes.length === 0) {
    throw new ConfigError(
      'bench.modes',
      `is empty. List at least one of ${BENCH_MODES.join(', ')}.`,
    );
  }
  return modes;
}

/** Lists the jobs of the selected modes, in the order they run. */
export function planJobs(modes: readonly BenchMode[], config: ResolvedConfig): BenchJob[] {
  const jobs: BenchJob[] = [];
  for (const mode of modes) {
    if (mode === 'scaling') {
      for (const experts of SCALING_EXPERTS) {
        jobs.push({ kind: 'step', mode: 'train', experts });
      }
    } else if (mode === 'eval') {
      jobs.push(
        { kind: 'eval', scoring: 'loglikelihood' },
        { kind: 'eval', scoring: 'generation' },
      );
    } else {
      jobs.push({ kind: 'step', mode, experts: config.bench.experts });
    }
  }
  return jobs;
}

/**
 * Returns the config a benchmark step uses: every projection adapted with `experts` experts of
 * rank `bench.rank` and top-2 routing, the other settings as resolved.
 */
export function stepConfig(config: ResolvedConfig, experts: number): ResolvedConfig {
  return {
    ...config,
    adapter: {
      ...config.adapter,
      targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'],
      maxExperts: experts,
      maxRank: config.bench.rank,
      topK: BENCH_TOP_K,
    },
  };
}

/** Runs one job in this process on the session's model. */
export async function runBenchJob(session: Session, job: BenchJob): Promise<BenchJobResult> {
  const { bench } = session.config;
  if (job.kind === 'eval') {
    const throughput = await measureEvalThroughput(session, {
      scoring: job.scoring,
      examples: bench.evalExamples,
      config: stepConfig(session.config, bench.experts),
    });
    return { kind: 'eval', throughput };
  }
  const config = stepConfig(session.config, job.experts);
  const targets = session.model.resolveTargets(config.adapter.targets);
  const step = createBenchStep(job.mode, {
    model: session.model,
    targets,
    registry: session.registry,
    config,
    batch: bench.batch,
    length: bench.seq,
    seed: session.config.run.seed,
  });
  try {
    session.logger.info(
      `Timing ${job.mode} with ${job.experts} experts: ${bench.warmup} warm-up and ${bench.iters} timed steps.`,
    );
    const total = bench.warmup + bench.iters;
    const measurement = measureSteps(step, {
      warmup: bench.warmup,
      iters: bench.iters,
      tokensPerStep: bench.batch * bench.seq,
      onStep: (index, ms) => {
        session.progress({ phase: `bench ${job.mode}`, step: index + 1, total, metrics: { ms } });
      },
    });
    return { kind: 'step', experts: job.experts, measurement };
  } finally {
    step.dispose();
  }
}
