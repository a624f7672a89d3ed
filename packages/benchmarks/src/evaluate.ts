import type { Logger, ProgressCallback } from '@guilomo/core';
import { ConfigError, formatValue, GuiLoMoError, silentLogger } from '@guilomo/core';
import type { Example, TaskSplit } from './example.js';
import { FAILED } from './extract.js';
import { scoreByGeneration } from './generation.js';
import type { CandidateSource } from './loglikelihood.js';
import { prepareLogLikelihood } from './loglikelihood.js';
import { accuracy, binaryF1, matthewsCorrelation } from './metrics.js';
import type { ExampleScore, ScoringModel } from './scoring-model.js';
import type { MetricName } from './tasks.js';
import { isTaskName, TASKS } from './tasks.js';
import type { PromptTemplate } from './templates.js';
import { resolvePromptTemplate } from './templates.js';

/** Scoring protocol: greedy generation read by a regular expression, or option log-likelihood. */
export type ScoringMethod = 'generation' | 'loglikelihood';

const SCORING_METHODS: readonly ScoringMethod[] = ['generation', 'loglikelihood'];

const DEFAULT_BATCH_SIZE = 8;

/** Options of {@link evaluateTask}. */
export interface EvaluateOptions {
  /** Prompt template or its name (`alpaca`, `compact`). */
  readonly template: PromptTemplate | string;
  readonly scoring: ScoringMethod;
  /** Evaluate only the first `limit` examples. Default: all. */
  readonly limit?: number;
  /** Generation scoring: tokens to generate at most. Default: longest candidate output + 8. */
  readonly maxNewTokens?: number;
  /** Log-likelihood scoring: continuations to score. Default `outputs`. */
  readonly candidates?: CandidateSource;
  /**
   * Log-likelihood scoring: examples whose requests go to the model in one
   * `logLikelihoods` call. Default 8.
   */
  readonly batchSize?: number;
  /**
   * Metrics beyond accuracy to compute (`f1` and `mcc` need two options per example). Default:
   * the task's metrics from {@link TASKS} when the task is known, otherwise accuracy only.
   */
  readonly metrics?: readonly MetricName[];
  /** Label index of the positive class for F1 and MCC. Default: the task's, otherwise 1. */
  readonly positiveLabel?: number;
  /** Task name for results and progress. Default: the split's task, otherwise `custom`. */
  readonly task?: string;
  readonly onProgress?: ProgressCallback;
  readonly logger?: Logger;
}

/** The score of one example together with its gold answer. */
export interface Prediction extends ExampleScore {
  readonly id: string;
  /** Gold answer (option letter or label word). */
  readonly gold: string;
  readonly goldLabel: number;
  readonly correct: boolean;
  /** Log-likelihood scoring: whether the length-normalised prediction is correct. */
  readonly correctNorm?: boolean;
}

/** Metrics and per-example predictions of one evaluation. Rates are fractions from 0 to 1. */
export interface EvaluationResult {
  readonly task: string;
  readonly scoring: ScoringMethod;
  readonly template: string;
  readonly total: number;
  readonly correct: number;
  /** Generations from which no valid answer could be read. */
  readonly failed: number;
  /** Examples whose prompt was shortened to fit the model's context. */
  readonly truncated: number;
  readonly accuracy: number;
  /** Log-likelihood scoring: accuracy of the per-character normalised prediction (`acc_norm`). */
  readonly accuracyNorm?: number;
  readonly f1?: number;
  readonly mcc?: number;
  readonly predictions: readonly Prediction[];
}

function validateOptions(options: EvaluateOptions): void {
  if (!SCORING_METHODS.includes(options.scoring)) {
    throw new ConfigError(
      'scoring',
      `must be one of ${SCORING_METHODS.join(', ')}, got ${formatValue(options.scoring)}.`,
    );
  }
  for (const field of ['limit', 'batchSize'] as const) {
    const value = options[field];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new ConfigError(field, `must be a positive integer, got ${formatValue(value)}.`);
    }
  }
}

/**
 * Returns binary label predictions for F1 and MCC. A failed prediction counts as the label
 * that is not gold, so that it can never improve a metric.
 */
function binaryPredictions(predictions: readonly Prediction[]): number[] {
  return predictions.map((p) => p.predictedLabel ?? 1 - p.goldLabel);
}

/**
 * Scores `examples` with `model` and returns accuracy, the task's extra metrics, counts of
 * failed and truncated examples, and every prediction. Emits one `eval` progress event before
 * the first example and one after each.
 *
 * @example
 * const split = await loadTask('openbookqa', 'eval');
 * const result = await evaluateTask(model, split, { template: 'compact', scoring: 'loglikelihood', limit: 50 });
 */
export async function evaluateTask(
  model: ScoringModel,
  examples: readonly Example[] | TaskSplit,
  options: EvaluateOptions,
): Promise<EvaluationResult> {
  validateOptions(options);
  const template = resolvePromptTemplate(options.template);
  const split = 'examples' in examples ? examples : undefined;
  const task = options.task ?? split?.task ?? 'custom';
  const info = isTaskName(task) ? TASKS[task] : undefined;
  const metrics = options.metrics ?? info?.metrics ?? ['accuracy'];
  const positiveLabel = options.positiveLabel ?? info?.positiveLabel ?? 1;
  const all = split === undefined ? (examples as readonly Example[]) : split.examples;
  const selected = options.limit === undefined ? all : all.slice(0, options.limit);
  const needsBinary = metrics.includes('f1') || metrics.includes('mcc');
  const nonBinary = selected.find((example) => example.options.length !== 2);
  if (needsBinary && nonBinary !== undefined) {
    throw new ConfigError(
      'metrics',
      `f1 and mcc need two options per example, but example ${nonBinary.id} has ${nonBinary.options.length}; remove them from metrics.`,
    );
  }
  const logger = options.logger ?? silentLogger;
  const total = selected.length;
  logger.info('evaluation started', {
    task,
    examples: total,
    scoring: options.scoring,
    template: template.name,
  });
  options.onProgress?.({ phase: 'eval', step: 0, total, detail: task });

  const predictions: Prediction[] = [];
  let correct = 0;
  const record = (example: Example, score: ExampleScore): void => {
    const isCorrect = score.predictedLabel === example.label;
    correct += isCorrect ? 1 : 0;
    predictions.push({
      ...score,
      id: example.id,
      gold: example.answer,
      goldLabel: example.label,
      correct: isCorrect,
      ...(score.predictedLabelNorm === undefined
        ? {}
        : { correctNorm: score.predictedLabelNorm === example.label }),
    });
    if (score.prediction === FAILED) {
      logger.debug('no answer found in the generation', {
        task,
        id: example.id,
        response: score.response,
      });
    }
    options.onProgress?.({
      phase: 'eval',
      step: predictions.length,
      total,
      metrics: { accuracy: correct / predictions.length },
      detail: task,
    });
  };

  if (options.scoring === 'generation') {
    await scoreGenerations(model, selected, template, options, record);
  } else {
    await scoreLogLikelihoods(model, selected, template, options, record);
  }
  return summarise(
    task,
    options.scoring,
    template.name,
    predictions,
    metrics,
    positiveLabel,
    logger,
  );
}

type RecordScore = (example: Example, score: ExampleScore) => void;

async function scoreGenerations(
  model: ScoringModel,
  examples: readonly Example[],
  template: PromptTemplate,
  options: EvaluateOptions,
  record: RecordScore,
): Promise<void> {
  const generation =
    options.maxNewTokens === undefined ? {} : { maxNewTokens: options.maxNewTokens };
  for (const example of examples) {
    record(example, await scoreByGeneration(model, example, template, generation));
  }
}

/** Scores examples in batches, sending the requests of `batchSize` examples per model call. */
async function scoreLogLikelihoods(
  model: ScoringModel,
  examples: readonly Example[],
  template: PromptTemplate,
  options: EvaluateOptions,
  record: RecordScore,
): Promise<void> {
  const scoring = options.candidates === undefined ? {} : { candidates: options.candidates };
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  for (let start = 0; start < examples.length; start += batchSize) {
    const batch = examples.slice(start, start + batchSize).map((example) => ({
      example,
      prepared: prepareLogLikelihood(model, example, template, scoring),
    }));
    const requests = batch.flatMap((item) => item.prepared.requests);
    const values = await model.logLikelihoods(requests);
    if (values.length !== requests.length) {
      throw new GuiLoMoError(
        `ScoringModel.logLikelihoods returned ${values.length} values for ${requests.length} requests.`,
      );
    }
    let offset = 0;
    for (const { example, prepared } of batch) {
      const count = prepared.requests.length;
      record(example, prepared.finish(values.slice(offset, offset + count)));
      offset += count;
    }
  }
}

function summarise(
  task: string,
  scoring: ScoringMethod,
  template: string,
  predictions: readonly Prediction[],
  metrics: readonly MetricName[],
  positiveLabel: number,
  logger: Logger,
): EvaluationResult {
  const gold = predictions.map((p) => p.goldLabel);
  const predicted = predictions.map((p) => p.predictedLabel ?? -1);
  const failed = predictions.filter((p) => p.prediction === FAILED).length;
  const truncated = predictions.filter((p) => p.truncated).length;
  const result: EvaluationResult = {
    task,
    scoring,
    template,
    total: predictions.length,
    correct: predictions.filter((p) => p.correct).length,
    failed,
    truncated,
    accuracy: accuracy(predicted, gold),
    ...(scoring === 'loglikelihood'
      ? {
          accuracyNorm: accuracy(
            predictions.map((p) => p.predictedLabelNorm ?? -1),
            gold,
          ),
        }
      : {}),
    ...(metrics.includes('f1')
      ? { f1: binaryF1(binaryPredictions(predictions), gold, positiveLabel) }
      : {}),
    ...(metrics.includes('mcc')
      ? { mcc: matthewsCorrelation(binaryPredictions(predictions), gold, positiveLabel) }
      : {}),
    predictions,
  };
  if (truncated > 0) {
    logger.warn(
      `${truncated} of ${predictions.length} prompts were truncated to fit the model's context`,
      { task },
    );
  }
  logger.info('evaluation finished', {
    task,
    accuracy: result.accuracy,
    correct: result.correct,
    total: result.total,
    failed,
    truncated,
  });
  return result;
}
