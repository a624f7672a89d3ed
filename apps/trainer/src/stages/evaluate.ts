import { writeFileSync } from 'node:fs';
import type { EvaluationResult } from '@guilomo/benchmarks';
import { evaluateTask } from '@guilomo/benchmarks';
import type { LinearAdapter } from '@guilomo/core';
import { writeJson } from '../run-dir.js';
import { createScoringModel } from '../scoring-model.js';
import type { Session } from '../session.js';

/**
 * Evaluates the model (with adapters when given, else the base model) on the session's
 * evaluation examples, and writes `eval-results.json` and per-example predictions.
 */
export async function runEvaluate(session: Session, adapters: ReadonlyMap<string, LinearAdapter> | undefined, label = 'adapted'): Promise<EvaluationResult> {
  const { config, runDir, logger } = session;
  const scoringModel = createScoringModel(session.model, session.tokenizer, adapters);
  const started = Date.now();
  const result = await evaluateTask(scoringModel, [...session.evalExamples], {
    template: config.data.template,
    scoring: config.eval.scoring,
    maxNewTokens: config.eval.maxNewTokens,
    task: config.data.task,
    onProgress: session.progress,
    logger: logger.child('eval'),
  });
  const seconds = (Date.now() - started) / 1000;
  const { predictions, ...summary } = result;
  await writeJson(runDir.evaluation, { ...summary, model: label, seconds, examplesPerSecond: result.total / Math.max(seconds, 1e-9) });
  writeFileSync(runDir.predictions, predictions.map((p) => JSON.stringify(p)).join('\n') + (predictions.length > 0 ? '\n' : ''));
  logger.info(
    `Evaluation on ${config.data.task} (${config.eval.scoring}): accuracy ${(result.accuracy * 100).toFixed(2)}% over ${result.total} examples` +
      `${result.f1 === undefined ? '' : `, F1 ${(result.f1 * 100).toFixed(2)}`}${result.mcc === undefined ? '' : `, MCC ${result.mcc.toFixed(4)}`}, ${result.failed} failed, ${result.truncated} truncated.`,
  );
  return result;
}
