import { GuiLoMoError, NumericError } from '@guilomo/core';
import type { Example } from './example.js';
import { OPTION_LETTERS } from './records.js';
import { renderPrompt } from './render.js';
import type { ExampleScore, LogLikelihoodRequest, ScoringModel } from './scoring-model.js';
import type { PromptTemplate } from './templates.js';
import { resolvePromptTemplate } from './templates.js';

/**
 * Source of the continuations that are scored: the candidate outputs (`Answer: The answer is B.`,
 * `Answer: entailment`) or the bare option texts and label words, closer to lm-eval's tasks.
 */
export type CandidateSource = 'outputs' | 'options';

/** Options of {@link scoreByLogLikelihood}. */
export interface LogLikelihoodScoringOptions {
  /** Continuations to score. Default `outputs`. */
  readonly candidates?: CandidateSource;
}

/** Index of the largest value; the first one on ties. */
function argMax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) {
    if ((values[i] ?? Number.NEGATIVE_INFINITY) > (values[best] ?? Number.NEGATIVE_INFINITY)) {
      best = i;
    }
  }
  return best;
}

function answerAt(example: Example, index: number): string {
  return example.kind === 'multiple-choice'
    ? OPTION_LETTERS.charAt(index)
    : (example.options[index] ?? '');
}

/** The requests of one example and the function that turns their results into its score. */
export interface PreparedLogLikelihood {
  readonly requests: readonly LogLikelihoodRequest[];
  readonly finish: (logLikelihoods: readonly number[]) => ExampleScore;
}

/**
 * Builds the log-likelihood requests of one example, one per candidate, so that callers can
 * send the requests of several examples in one call. See {@link scoreByLogLikelihood}.
 */
export function prepareLogLikelihood(
  model: ScoringModel,
  example: Example,
  template: PromptTemplate | string,
  options: LogLikelihoodScoringOptions = {},
): PreparedLogLikelihood {
  const candidates = options.candidates === 'options' ? example.options : example.choices;
  const reserveTokens = Math.max(...candidates.map((text) => model.encode(text).length));
  const prompt = renderPrompt(example, resolvePromptTemplate(template), {
    encode: (text) => model.encode(text),
    contextLength: model.contextLength,
    reserveTokens,
  });
  const promptIds = model.encode(prompt.text);
  let truncated = prompt.truncated;
  const requests: LogLikelihoodRequest[] = candidates.map((text, i) => {
    const continuation = model.encode(prompt.text + text).slice(promptIds.length);
    if (continuation.length === 0) {
      throw new GuiLoMoError(
        `Example ${example.id}: candidate ${i} ${JSON.stringify(text)} encodes to no tokens after the prompt.`,
      );
    }
    const overflow = promptIds.length + continuation.length - model.contextLength;
    if (overflow > 0) {
      truncated = true;
      return { context: promptIds.slice(overflow), continuation };
    }
    return { context: promptIds, continuation };
  });

  const finish = (logLikelihoods: readonly number[]): ExampleScore => {
    if (logLikelihoods.length !== requests.length) {
      throw new GuiLoMoError(
        `ScoringModel.logLikelihoods returned ${logLikelihoods.length} values for ${requests.length} requests (example ${example.id}).`,
      );
    }
    if (logLikelihoods.some((value) => Number.isNaN(value))) {
      throw new NumericError(
        `ScoringModel.logLikelihoods returned NaN for example ${example.id}: ${logLikelihoods.join(', ')}.`,
      );
    }
    const perCharacter = logLikelihoods.map(
      (value, i) => value / Math.max(1, (candidates[i] ?? '').length),
    );
    const best = argMax(logLikelihoods);
    const bestNorm = argMax(perCharacter);
    return {
      prediction: answerAt(example, best),
      predictedLabel: best,
      truncated,
      logLikelihoods,
      predictionNorm: answerAt(example, bestNorm),
      predictedLabelNorm: bestNorm,
    };
  };
  return { requests, finish };
}

/**
 * Scores one example by option log-likelihood (the lm-evaluation-harness protocol). Each
 * candidate is scored as a continuation of the prompt. The continuation tokens are
 * `encode(prompt + candidate)` after the first `encode(prompt).length` tokens, as lm-eval
 * splits them. `prediction` is the argmax of the summed log-probability (`acc`) and
 * `predictionNorm` the argmax of the log-probability per character (`acc_norm`), the first
 * candidate on ties. If a request is still longer than the context, context tokens are
 * dropped from the left.
 */
export async function scoreByLogLikelihood(
  model: ScoringModel,
  example: Example,
  template: PromptTemplate | string,
  options: LogLikelihoodScoringOptions = {},
): Promise<ExampleScore> {
  const prepared = prepareLogLikelihood(model, example, template, options);
  return prepared.finish(await model.logLikelihoods(prepared.requests));
}
