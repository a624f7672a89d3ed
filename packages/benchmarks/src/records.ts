import { formatValue } from '@guilomo/core';
import type { Example } from './example.js';
import { RowError } from './source-rows.js';

/** Option letters in order. A multiple-choice record has at most 26 options. */
export const OPTION_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Label words must match the extraction pattern `Answer: ([\w\s]+)` in full. */
const LABEL_WORD_PATTERN = /^\w[\w ]*\w$|^\w$/;

/** Returns the output that names option `letter`, e.g. `Answer: The answer is B.`. */
export function multipleChoiceOutput(letter: string): string {
  return `Answer: The answer is ${letter}.`;
}

/** Returns the output that names a classification label, e.g. `Answer: entailment`. */
export function classificationOutput(word: string): string {
  return `Answer: ${word}`;
}

/** Source fields of a multiple-choice record. */
export interface MultipleChoiceFields {
  readonly id: string;
  /** Background text, e.g. the ScienceQA hint. An empty or blank context is written as N/A. */
  readonly context: string;
  readonly question: string;
  readonly options: readonly string[];
  /** Index of the correct option. */
  readonly label: number;
}

/**
 * Builds a multiple-choice example in the authors' format:
 * `Context: {ctx}\nQuestion: {q}\nOptions: (A) {o0} (B) {o1} ...\n`, with output
 * `Answer: The answer is {L}.`. Raises a RowError for too few or too many options or an
 * out-of-range label.
 */
export function buildMultipleChoiceExample(fields: MultipleChoiceFields): Example {
  const { options, label } = fields;
  requireOptionCount(options.length, 'choices');
  if (!Number.isInteger(label) || label < 0 || label >= options.length) {
    throw new RowError(
      'answer',
      `must select one of the ${options.length} options, got index ${label}`,
    );
  }
  const letters = options.map((_, i) => OPTION_LETTERS.charAt(i));
  const context = fields.context.trim() === '' ? 'N/A' : fields.context;
  const body = `Context: ${context}\nQuestion: ${fields.question}\n`;
  const optionsLine = `Options: ${options.map((text, i) => `(${letters[i]}) ${text}`).join(' ')}\n`;
  const choices = letters.map(multipleChoiceOutput);
  return {
    id: fields.id,
    kind: 'multiple-choice',
    instruction: body + optionsLine,
    output: choices[label] ?? '',
    answer: letters[label] ?? '',
    choices,
    options,
    label,
    protectedFrom: body.length,
  };
}

/** Source fields of a classification record. */
export interface ClassificationFields {
  readonly id: string;
  /** Named input texts in prompt order, e.g. `[['Premise', p], ['Hypothesis', h]]`. */
  readonly inputs: readonly (readonly [name: string, text: string])[];
  /** Task question written after the inputs. */
  readonly question: string;
  /** Label words in label order. */
  readonly labelWords: readonly string[];
  readonly label: number;
}

/**
 * Builds a classification example: one `{name}: {text}` line per input, then
 * `Question: {question}\nOptions: {w0}, {w1}\n`, with output `Answer: {word}`. Truncation
 * may shorten the inputs but keeps the question and the options.
 */
export function buildClassificationExample(fields: ClassificationFields): Example {
  const { labelWords, label } = fields;
  if (!Number.isInteger(label) || label < 0 || label >= labelWords.length) {
    throw new RowError(
      'label',
      `must select one of ${formatValue(labelWords)}, got index ${label}`,
    );
  }
  const body = fields.inputs.map(([name, text]) => `${name}: ${text}\n`).join('');
  const tail = `Question: ${fields.question}\nOptions: ${labelWords.join(', ')}\n`;
  const choices = labelWords.map(classificationOutput);
  return {
    id: fields.id,
    kind: 'classification',
    instruction: body + tail,
    output: choices[label] ?? '',
    answer: labelWords[label] ?? '',
    choices,
    options: labelWords,
    label,
    protectedFrom: body.length,
  };
}

/**
 * Returns whether `word` can be a label word: ASCII letters, digits or underscores separated
 * by single spaces, so that the generation scorer's pattern captures it whole.
 */
export function isValidLabelWord(word: string): boolean {
  return LABEL_WORD_PATTERN.test(word) && !word.includes('  ');
}

/** Raises a RowError naming `field` unless a record has 2 to 26 options. */
export function requireOptionCount(count: number, field: string): void {
  if (count < 2 || count > OPTION_LETTERS.length) {
    throw new RowError(field, `must have 2 to ${OPTION_LETTERS.length} options, got ${count}`);
  }
}

/**
 * Resolves a raw answer field to an option index. Numbers are indices. Strings are matched
 * against the option labels when given (AI2 files use `A`-`E` or `1`-`4`), and otherwise must
 * be a single letter.
 */
export function resolveOptionIndex(
  raw: unknown,
  field: string,
  optionCount: number,
  optionLabels?: readonly string[],
): number {
  if (raw === undefined || raw === null) {
    throw new RowError(field, 'is missing');
  }
  let index = -1;
  if (typeof raw === 'number' && Number.isInteger(raw)) {
    index = raw;
  } else if (typeof raw === 'string' && optionLabels !== undefined) {
    index = optionLabels.indexOf(raw.trim());
  } else if (typeof raw === 'string' && /^[A-Z]$/.test(raw.trim())) {
    index = OPTION_LETTERS.indexOf(raw.trim());
  }
  if (index < 0 || index >= optionCount) {
    const allowed =
      optionLabels === undefined
        ? `an index 0-${optionCount - 1} or a letter A-${OPTION_LETTERS.charAt(optionCount - 1)}`
        : `one of the option labels ${formatValue(optionLabels)}`;
    throw new RowError(field, `must be ${allowed}, got ${formatValue(raw)}`);
  }
  return index;
}
