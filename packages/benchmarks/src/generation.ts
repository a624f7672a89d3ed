import { ConfigError, formatValue } from '@guilomo/core';
import type { Example } from './example.js';
import { answerToLabel, extractAnswer, extractResponse } from './extract.js';
import { renderPrompt } from './render.js';
import type { ExampleScore, ScoringModel } from './scoring-model.js';
import type { PromptTemplate } from './templates.js';
import { resolvePromptTemplate } from './templates.js';

/** Options of {@link scoreByGeneration}. */
export interface GenerationScoringOptions {
  /** Tokens to generate at most. Default {@link defaultMaxNewTokens}. */
  readonly maxNewTokens?: number;
}

/** Extra tokens allowed beyond the longest candidate output, for spaces or a stray token. */
const GENERATION_MARGIN = 8;

/**
 * Returns the default generation length for an example: the longest candidate output in tokens
 * plus 8. The GuiLoMo authors generate up to 128 tokens with a 4,096-token context, but on a
 * short-context model every generated token is taken from the prompt budget, and the answer
 * is complete after the output's length.
 */
export function defaultMaxNewTokens(model: ScoringModel, example: Example): number {
  const longest = Math.max(...example.choices.map((choice) => model.encode(choice).length));
  return longest + GENERATION_MARGIN;
}

/**
 * Scores one example by greedy generation (the GuiLoMo authors' protocol): renders the prompt
 * with `maxNewTokens` tokens kept free, generates, takes the response after the template's
 * marker and reads the answer with {@link extractAnswer}.
 */
export async function scoreByGeneration(
  model: ScoringModel,
  example: Example,
  template: PromptTemplate | string,
  options: GenerationScoringOptions = {},
): Promise<ExampleScore> {
  const resolved = resolvePromptTemplate(template);
  const maxNewTokens = options.maxNewTokens ?? defaultMaxNewTokens(model, example);
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1 || maxNewTokens >= model.contextLength) {
    throw new ConfigError(
      'maxNewTokens',
      `must be an integer from 1 to ${model.contextLength - 1} (below the model's context length), got ${formatValue(maxNewTokens)}.`,
    );
  }
  const prompt = renderPrompt(example, resolved, {
    encode: (text) => model.encode(text),
    contextLength: model.contextLength,
    reserveTokens: maxNewTokens,
  });
  const generated = await model.generate(model.encode(prompt.text), maxNewTokens);
  const response = extractResponse(model.decode(generated), resolved);
  const prediction = extractAnswer(response, example);
  return {
    prediction,
    predictedLabel: answerToLabel(prediction, example),
    truncated: prompt.truncated,
    response,
  };
}
