import { performance } from 'node:perf_hooks';
import type { Example } from '@guilomo/benchmarks';
import { evaluateTask, loadTask } from '@guilomo/benchmarks';
import type { ModuleAllocation } from '@guilomo/core';
import { ConfigError, Rng } from '@guilomo/core';
import { createTrainAdapters } from '../adapters.js';
import type { ResolvedConfig } from '../config/types.js';
import { createScoringModel } from '../scoring-model.js';
import type { Session } from '../session.js';

/** Scoring protocols that the eval benchmark times. */
export type EvalScoring = 'loglikelihood' | 'generation';

/** Throughput of one scoring protocol on the bundled OpenBookQA subset. */
export interface EvalThroughput {
  readonly scoring: EvalScoring;
  readonly examples: number;
  readonly seconds: number;
  readonly examplesPerSecond: number;
  /** Accuracy of the untrained adapters, which only shows that the examples were scored. */
  readonly accuracy: number;
  /** Tokens generated at most per example, for generation scoring. */
  readonly maxNewTokens?: number;
}

/** Options of {@link measureEvalThroughput}. */
export interface EvalThroughputOptions {
  readonly scoring: EvalScoring;
  /** Evaluation examples scored in the timed run. */
  readonly examples: number;
  /** Adapter shape (`adapter.maxExperts`, `adapter.maxRank`, `adapter.topK`) and eval settings. */
  readonly config: ResolvedConfig;
}

/** Examples scored once before the timed run, so that one-time set-up is not timed. */
const WARMUP_EXAMPLES = 2;

/**
 * Times `evaluateTask` on the first examples of the bundled OpenBookQA evaluation split, with
 * fresh stage-2 LoRA-MoE adapters on every target (B = 0, so the scores equal the base model's;
 * the cost is the adapted model's).
 */
export async function measureEvalThroughput(
  session: Session,
  options: EvalThroughputOptions,
): Promise<EvalThroughput> {
  const { config } = options;
  const split = await loadTask('openbookqa', 'eval');
  if (split.examples.length === 0) {
    throw new ConfigError(
      'bench.evalExamples',
      'cannot be met: the bundled OpenBookQA evaluation split is empty.',
    );
  }
  const examples: Example[] = split.examples.slice(0, options.examples);
  const targets = session.model.resolveTargets(config.adapter.targets);
  const allocation: ModuleAllocation[] = targets.map((module) => ({
    path: module.path,
    ranks: Array.from({ length: config.adapter.maxExperts }, () => config.adapter.maxRank),
    topK: config.adapter.topK,
  }));
  const set = createTrainAdapters(
    allocation,
    targets,
    config,
    session.registry,
    new Rng(config.run.seed),
  );
  try {
    const scoringModel = createScoringModel(session.model, session.tokenizer, set.adapters);
    const evaluate = (subset: Example[]) =>
      evaluateTask(scoringModel, subset, {
        template: config.data.template,
        scoring: options.scoring,
        maxNewTokens: config.eval.maxNewTokens,
        task: 'openbookqa',
        logger: session.logger.child('eval'),
      });
    await evaluate(examples.slice(0, WARMUP_EXAMPLES));
    session.logger.info(
      `Timing ${options.scoring} scoring of ${examples.length} OpenBookQA examples.`,
    );
    const started = performance.now();
    const result = await evaluate(examples);
    const seconds = (performance.now() - started) / 1000;
    return {
      scoring: options.scoring,
      examples: result.total,
      seconds,
      examplesPerSecond: result.total / seconds,
      accuracy: result.accuracy,
      ...(options.scoring === 'generation' ? { maxNewTokens: config.eval.maxNewTokens } : {}),
    };
  } finally {
    set.dispose();
  }
}
