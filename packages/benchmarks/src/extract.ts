import type { Example } from './example.js';
import { OPTION_LETTERS } from './records.js';
import type { PromptTemplate } from './templates.js';

/** Prediction recorded when no valid answer can be read from a generation. */
export const FAILED = 'FAILED';

/**
 * Returns the text after the last occurrence of the template's response marker, or the whole
 * text when the marker does not occur. A model returns only new tokens, so the marker is
 * usually in the prompt and absent from the generation.
 */
export function extractResponse(decoded: string, template: PromptTemplate): string {
  const at = decoded.lastIndexOf(template.responseMarker);
  return at < 0 ? decoded : decoded.slice(at + template.responseMarker.length);
}

/**
 * Reads the predicted answer from a response. Multiple-choice answers need exactly one match
 * of `The answer is ([A-Z])`, and classification answers need `Answer: ([\w\s]+)` whose first
 * match, trimmed, is one of the label words. Anything else returns {@link FAILED}.
 */
export function extractAnswer(response: string, example: Example): string {
  if (example.kind === 'multiple-choice') {
    const matches = [...response.matchAll(/The answer is ([A-Z])/g)];
    const letter = matches.length === 1 ? matches[0]?.[1] : undefined;
    return letter ?? FAILED;
  }
  const match = /Answer: ([\w\s]+)/.exec(response);
  const word = match?.[1]?.trim();
  return word !== undefined && example.options.includes(word) ? word : FAILED;
}

/**
 * Returns the label index of an extracted answer, or null for FAILED and for letters beyond
 * the example's options.
 */
export function answerToLabel(answer: string, example: Example): number | null {
  if (answer === FAILED) {
    return null;
  }
  const index =
    example.kind === 'multiple-choice'
      ? OPTION_LETTERS.indexOf(answer)
      : example.options.indexOf(answer);
  return index >= 0 && index < example.options.length ? index : null;
}
