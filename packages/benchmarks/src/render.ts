import { ConfigError } from '@guilomo/core';
import type { Example } from './example.js';
import type { PromptTemplate } from './templates.js';
import { resolvePromptTemplate } from './templates.js';

/**
 * Length limit of a rendered prompt: a number of characters, or a number of tokens under a
 * tokenizer. The token limit is `contextLength - reserveTokens`.
 */
export type PromptBudget =
  | { readonly maxChars: number }
  | {
      readonly encode: (text: string) => readonly number[];
      readonly contextLength: number;
      /** Tokens kept free after the prompt, e.g. for generated tokens. Default 0. */
      readonly reserveTokens?: number;
    };

/** A prompt after rendering and, where needed, truncation. */
export interface RenderedPrompt {
  readonly text: string;
  /** Whether any character was removed to fit the budget. */
  readonly truncated: boolean;
  /** Number of characters removed. */
  readonly droppedChars: number;
  /**
   * Whether truncation had to go past the context and question into text it normally keeps:
   * the template preamble or the options.
   */
  readonly protectedTextCut: boolean;
}

/** A training text: the prompt followed by the output. The caller appends EOS. */
export interface RenderedTraining extends RenderedPrompt {
  readonly prompt: string;
  readonly output: string;
}

/**
 * Renders the evaluation prompt of `example`. When a budget is given and the prompt is too
 * long, characters are dropped from the start of the instruction's context and question
 * part, which keeps the options and the response header. If that part is used up, characters
 * are dropped from the start of the remaining prompt (preamble first, then the options), and
 * `protectedTextCut` is set. The response header is never cut: a budget too small for it
 * raises a ConfigError.
 *
 * @example
 * const { text, truncated } = renderPrompt(example, 'compact', { maxChars: 256 });
 */
export function renderPrompt(
  example: Example,
  template: PromptTemplate | string,
  budget?: PromptBudget,
): RenderedPrompt {
  return fitPrompt(example, resolvePromptTemplate(template), '', budget);
}

/**
 * Renders the training text `prompt + output` of `example`. The budget applies to the whole
 * text, so the output is never cut, and the prompt is truncated as in {@link renderPrompt}.
 */
export function renderTraining(
  example: Example,
  template: PromptTemplate | string,
  budget?: PromptBudget,
): RenderedTraining {
  const rendered = fitPrompt(example, resolvePromptTemplate(template), example.output, budget);
  return {
    ...rendered,
    prompt: rendered.text,
    output: example.output,
    text: rendered.text + example.output,
  };
}

/**
 * Returns the smallest n in [lo, hi] for which `fits(n)` holds, assuming that dropping more
 * characters never makes the text longer. `fits(hi)` must hold.
 */
function smallestFitting(lo: number, hi: number, fits: (n: number) => boolean): number {
  let low = lo - 1;
  let high = hi;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (fits(mid)) {
      high = mid;
    } else {
      low = mid;
    }
  }
  return high;
}

function budgetFits(budget: PromptBudget): (text: string) => boolean {
  if ('maxChars' in budget) {
    return (text) => text.length <= budget.maxChars;
  }
  const limit = budget.contextLength - (budget.reserveTokens ?? 0);
  return (text) => budget.encode(text).length <= limit;
}

function fitPrompt(
  example: Example,
  template: PromptTemplate,
  suffix: string,
  budget: PromptBudget | undefined,
): RenderedPrompt {
  const { instruction, protectedFrom } = example;
  const build = (dropped: number): string =>
    template.preamble + instruction.slice(dropped) + template.responseHeader;
  const full = build(0);
  const untouched = { text: full, truncated: false, droppedChars: 0, protectedTextCut: false };
  if (budget === undefined) {
    return untouched;
  }
  const fitsBudget = budgetFits(budget);
  const fits = (prompt: string): boolean => fitsBudget(prompt + suffix);
  if (fits(full)) {
    return untouched;
  }

  const keep = Math.max(0, Math.min(protectedFrom, instruction.length));
  if (keep > 0 && fits(build(keep))) {
    const dropped = smallestFitting(1, keep, (n) => fits(build(n)));
    return {
      text: build(dropped),
      truncated: true,
      droppedChars: dropped,
      protectedTextCut: false,
    };
  }

  // The context and question are gone and the prompt is still too long, so cut from the
  // start of what is left, but never into the response header.
  const base = build(keep);
  const maxCut = base.length - template.responseHeader.length;
  if (!fits(base.slice(maxCut))) {
    const field = 'maxChars' in budget ? 'maxChars' : 'contextLength';
    throw new ConfigError(
      field,
      `the prompt budget cannot hold the response header ${JSON.stringify(template.responseHeader)}${suffix === '' ? '' : ' and the output'}; raise ${field} or reserve fewer tokens.`,
    );
  }
  const cut = smallestFitting(1, maxCut, (n) => fits(base.slice(n)));
  return {
    text: base.slice(cut),
    truncated: true,
    droppedChars: keep + cut,
    protectedTextCut: true,
  };
}
