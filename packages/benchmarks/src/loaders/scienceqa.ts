import { basename } from 'node:path';
import { formatValue } from '@guilomo/core';
import type { Example, LoadOptions, Split, TaskSplit } from '../example.js';
import {
  buildMultipleChoiceExample,
  OPTION_LETTERS,
  requireOptionCount,
  resolveOptionIndex,
} from '../records.js';
import { getField, RowError, requireArray, requireString } from '../source-rows.js';
import type { RecordContext } from './json-records.js';
import { isJsonArrayFile, loadJsonRecords } from './json-records.js';

/**
 * ScienceQA files per split. Train is the MoLA authors' 200 + 200 sample of text-only
 * training items (their `test` sample is left out because it is drawn from the test split).
 * Evaluation is the text-only part of the test split (2,224 of 4,241 items) in LLaVA's
 * CQM-A conversation file.
 */
export const SCIENCEQA_FILES: Readonly<Record<Split, readonly string[]>> = {
  train: ['mola_sampled/train.jsonl', 'mola_sampled/validation.jsonl'],
  eval: ['llava_test_CQM-A.json'],
};

const CONTEXT_PREFIX = 'Context: ';

/**
 * Loads ScienceQA. Files ending in `.json` are read as LLaVA conversation records
 * `{id, image?, conversations: [{value: prompt}, {value: letter}]}`, and other files as
 * Hugging Face ScienceQA records `{question, choices, answer, hint, image}`. Items with an
 * image are recorded in `dropped`, because only the text-only subset is evaluated.
 */
export function loadScienceQa(
  dataDir: string,
  split: Split,
  options: LoadOptions = {},
): Promise<TaskSplit> {
  return loadJsonRecords({
    task: 'scienceqa',
    split,
    dataDir,
    defaultFiles: SCIENCEQA_FILES[split],
    options,
    parse: (value, context) =>
      isJsonArrayFile(context.file)
        ? parseLlavaRecord(value, context)
        : parseHfRecord(value, context),
  });
}

function hasImage(value: unknown): boolean {
  const image = getField(value, 'image');
  return image !== undefined && image !== null;
}

function parseHfRecord(value: unknown, context: RecordContext): Example | null {
  if (hasImage(value)) {
    context.drop('item has an image; only text-only items are kept');
    return null;
  }
  const question = requireString(value, 'question');
  const count = requireArray(value, 'choices').length;
  requireOptionCount(count, 'choices');
  const options: string[] = [];
  for (let i = 0; i < count; i++) {
    options.push(requireString(value, `choices.${i}`));
  }
  const hint = getField(value, 'hint');
  if (hint !== undefined && hint !== null && typeof hint !== 'string') {
    throw new RowError('hint', `must be a string, got ${formatValue(hint)}`);
  }
  return buildMultipleChoiceExample({
    id: `${basename(context.file)}:${context.line}`,
    context: hint ?? '',
    question,
    options,
    label: resolveOptionIndex(getField(value, 'answer'), 'answer', count),
  });
}

/**
 * Parses a LLaVA CQM-A record. The prompt is `[Context: {hint}\n]{question}\n` followed by
 * `{L}. {option}` lines from the last line that starts with `A. `, and the reply is the gold
 * letter.
 */
function parseLlavaRecord(value: unknown, context: RecordContext): Example | null {
  if (hasImage(value)) {
    context.drop('item has an image; only text-only items are kept');
    return null;
  }
  const id = requireString(value, 'id');
  const prompt = requireString(value, 'conversations.0.value');
  const reply = requireString(value, 'conversations.1.value').trim();
  const lines = prompt.split('\n');
  const first = lines.findLastIndex((line) => line.startsWith('A. '));
  if (first < 0) {
    throw new RowError('conversations.0.value', 'has no option line starting with "A. "');
  }
  const options = readOptionLines(lines.slice(first));
  requireOptionCount(options.length, 'conversations.0.value');
  const { hint, question } = splitContext(lines.slice(0, first));
  if (question.trim() === '') {
    throw new RowError('conversations.0.value', 'has no question before the options');
  }
  return buildMultipleChoiceExample({
    id,
    context: hint,
    question,
    options,
    label: resolveOptionIndex(reply, 'conversations.1.value', options.length),
  });
}

/**
 * Reads option lines `A. ...`, `B. ...` in order. A line that does not start the next letter
 * continues the previous option, because some options span lines (a letter closing with the
 * name on its own line, or a poem).
 */
function readOptionLines(lines: readonly string[]): string[] {
  const options: string[] = [];
  for (const line of lines) {
    const marker = `${OPTION_LETTERS.charAt(options.length)}. `;
    if (options.length < OPTION_LETTERS.length && line.startsWith(marker)) {
      options.push(line.slice(marker.length));
    } else {
      options[options.length - 1] = `${options[options.length - 1] ?? ''}\n${line}`;
    }
  }
  return options;
}

/**
 * Splits the lines before the options into hint and question. Both may span several lines,
 * and the file does not mark where the hint ends. The question is taken to start at the last
 * line that ends with "?" (or is the last line when none does), which reproduces the hint and
 * question fields of every test item that also appears in the MoLA sample.
 */
function splitContext(lines: readonly string[]): { hint: string; question: string } {
  const firstLine = lines[0] ?? '';
  if (!firstLine.startsWith(CONTEXT_PREFIX)) {
    return { hint: '', question: lines.join('\n') };
  }
  let start = lines.length - 1;
  for (let i = lines.length - 1; i >= 1; i--) {
    if ((lines[i] ?? '').trimEnd().endsWith('?')) {
      start = i;
      break;
    }
  }
  if (start < 1) {
    return { hint: '', question: lines.join('\n') };
  }
  const hint = lines.slice(0, start).join('\n').slice(CONTEXT_PREFIX.length);
  return { hint, question: lines.slice(start).join('\n') };
}
