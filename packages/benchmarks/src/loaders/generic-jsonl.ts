import { basename, dirname, resolve } from 'node:path';
import { ConfigError, formatValue } from '@guilomo/core';
import type { Example, InvalidRowPolicy, Split, TaskSplit } from '../example.js';
import {
  buildClassificationExample,
  buildMultipleChoiceExample,
  isValidLabelWord,
  requireOptionCount,
  resolveOptionIndex,
} from '../records.js';
import { getField, RowError, requireString } from '../source-rows.js';
import type { RecordContext } from './json-records.js';
import { loadJsonRecords } from './json-records.js';

/**
 * Field paths of a multiple-choice dataset. Paths are dotted (`question.stem`), and numeric
 * parts index arrays.
 */
export interface MultipleChoiceFieldMap {
  readonly format: 'multiple-choice';
  readonly question: string;
  /**
   * Options as an array of strings, an array of `{text, label}` objects, or an object of
   * parallel arrays `{text: [...], label: [...]}` (the Hugging Face ARC and OpenBookQA layout).
   */
  readonly choices: string;
  /** The answer as an option index, a letter, or one of the option labels. */
  readonly answer: string;
  /** Optional background text. Absent or empty contexts are written as N/A. */
  readonly context?: string;
  /** Optional record id. Default: file name and line. */
  readonly id?: string;
}

/** Field paths and labels of a classification dataset. */
export interface ClassificationFieldMap {
  readonly format: 'classification';
  /** Input texts in prompt order, each written as a `{name}: {text}` line. */
  readonly inputs: readonly { readonly name: string; readonly field: string }[];
  /** Task question written after the inputs, e.g. `Does the premise entail the hypothesis?`. */
  readonly question: string;
  readonly label: string;
  /** Label words in label order. Each must be words of letters, digits or `_` split by single spaces. */
  readonly labelWords: readonly string[];
  /**
   * Raw label values in label order, e.g. `['entailment', 'not_entailment']`. Default: numbers
   * are label indices, booleans are 0 (false) and 1 (true), and strings must equal a label word.
   */
  readonly labelValues?: readonly (string | number | boolean)[];
  /** Optional record id. Default: file name and line. */
  readonly id?: string;
}

/** Field mapping from JSON records to examples, used by {@link loadJsonl}. */
export type JsonlFieldMap = MultipleChoiceFieldMap | ClassificationFieldMap;

/** Options of {@link loadJsonl}. */
export interface JsonlLoadOptions {
  /** Task name recorded in the split. Default `jsonl`. */
  readonly task?: string;
  /** Split recorded in the result. Default `eval`. */
  readonly split?: Split;
  /** Policy for malformed rows. Default `error`. */
  readonly onInvalidRow?: InvalidRowPolicy;
}

/**
 * Loads a dataset in the Hugging Face `datasets` JSON Lines layout (one JSON object per line,
 * or a `.json` file with one array) through a field mapping.
 *
 * @example
 * const split = await loadJsonl('data/sciq.jsonl', {
 *   format: 'multiple-choice', question: 'question', choices: 'choices', answer: 'answer',
 * });
 */
export function loadJsonl(
  file: string,
  fields: JsonlFieldMap,
  options: JsonlLoadOptions = {},
): Promise<TaskSplit> {
  if (fields.format === 'classification') {
    validateClassificationFields(fields);
  }
  return loadJsonRecords({
    task: options.task ?? 'jsonl',
    split: options.split ?? 'eval',
    dataDir: dirname(resolve(file)),
    defaultFiles: [resolve(file)],
    options: options.onInvalidRow === undefined ? {} : { onInvalidRow: options.onInvalidRow },
    parse: (value, context) =>
      fields.format === 'multiple-choice'
        ? parseMultipleChoice(value, fields, context)
        : parseClassification(value, fields, context),
  });
}

function validateClassificationFields(fields: ClassificationFieldMap): void {
  if (fields.labelWords.length < 2) {
    throw new ConfigError(
      'fields.labelWords',
      `needs at least 2 label words, got ${formatValue(fields.labelWords)}.`,
    );
  }
  for (const word of fields.labelWords) {
    if (!isValidLabelWord(word)) {
      throw new ConfigError(
        'fields.labelWords',
        `contains ${formatValue(word)}; use letters, digits or "_" with single spaces between words, so that answers can be extracted.`,
      );
    }
  }
  if (fields.labelValues !== undefined && fields.labelValues.length !== fields.labelWords.length) {
    throw new ConfigError(
      'fields.labelValues',
      `must have one value per label word (${fields.labelWords.length}), got ${fields.labelValues.length}.`,
    );
  }
}

function recordId(value: unknown, path: string | undefined, context: RecordContext): string {
  if (path === undefined) {
    return `${basename(context.file)}:${context.line}`;
  }
  const id = getField(value, path);
  if (typeof id !== 'string' && typeof id !== 'number') {
    throw new RowError(
      path,
      id === undefined ? 'is missing' : `must be a string or number, got ${formatValue(id)}`,
    );
  }
  return String(id);
}

function readChoices(value: unknown, path: string): { texts: string[]; labels?: string[] } {
  const raw = getField(value, path);
  if (Array.isArray(raw)) {
    const texts: string[] = [];
    const labels: string[] = [];
    raw.forEach((item, i) => {
      if (typeof item === 'string') {
        texts.push(item);
      } else {
        texts.push(requireString(value, `${path}.${i}.text`));
        labels.push(requireString(value, `${path}.${i}.label`));
      }
    });
    return labels.length === texts.length && labels.length > 0 ? { texts, labels } : { texts };
  }
  const textArray = getField(raw, 'text');
  if (Array.isArray(textArray)) {
    const texts = textArray.map((_, i) => requireString(value, `${path}.text.${i}`));
    const labelArray = getField(raw, 'label');
    if (!Array.isArray(labelArray)) {
      return { texts };
    }
    return { texts, labels: labelArray.map((_, i) => requireString(value, `${path}.label.${i}`)) };
  }
  throw new RowError(
    path,
    raw === undefined
      ? 'is missing'
      : `must be an array of options or {text, label} arrays, got ${formatValue(raw)}`,
  );
}

function parseMultipleChoice(
  value: unknown,
  fields: MultipleChoiceFieldMap,
  context: RecordContext,
): Example {
  const question = requireString(value, fields.question);
  const { texts, labels } = readChoices(value, fields.choices);
  requireOptionCount(texts.length, fields.choices);
  const rawAnswer = getField(value, fields.answer);
  const label =
    labels !== undefined && typeof rawAnswer === 'string' && labels.includes(rawAnswer.trim())
      ? labels.indexOf(rawAnswer.trim())
      : resolveOptionIndex(rawAnswer, fields.answer, texts.length);
  const contextValue = fields.context === undefined ? undefined : getField(value, fields.context);
  if (contextValue !== undefined && contextValue !== null && typeof contextValue !== 'string') {
    throw new RowError(fields.context ?? '', `must be a string, got ${formatValue(contextValue)}`);
  }
  return buildMultipleChoiceExample({
    id: recordId(value, fields.id, context),
    context: contextValue ?? '',
    question,
    options: texts,
    label,
  });
}

function resolveLabel(raw: unknown, fields: ClassificationFieldMap): number {
  if (raw === undefined || raw === null) {
    throw new RowError(fields.label, 'is missing');
  }
  let index = -1;
  if (fields.labelValues !== undefined) {
    index = (fields.labelValues as readonly unknown[]).indexOf(raw);
  } else if (typeof raw === 'number') {
    index = Number.isInteger(raw) ? raw : -1;
  } else if (typeof raw === 'boolean') {
    index = fields.labelWords.length === 2 ? Number(raw) : -1;
  } else if (typeof raw === 'string') {
    index = fields.labelWords.indexOf(raw);
  }
  if (index < 0 || index >= fields.labelWords.length) {
    const allowed =
      fields.labelValues === undefined
        ? `one of ${formatValue(fields.labelWords)} or a label index 0-${fields.labelWords.length - 1}`
        : `one of ${formatValue(fields.labelValues)}`;
    throw new RowError(fields.label, `must be ${allowed}, got ${formatValue(raw)}`);
  }
  return index;
}

function parseClassification(
  value: unknown,
  fields: ClassificationFieldMap,
  context: RecordContext,
): Example {
  const inputs = fields.inputs.map(
    ({ name, field }) => [name, requireString(value, field)] as const,
  );
  return buildClassificationExample({
    id: recordId(value, fields.id, context),
    inputs,
    question: fields.question,
    labelWords: fields.labelWords,
    label: resolveLabel(getField(value, fields.label), fields),
  });
}
