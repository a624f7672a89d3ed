import { basename } from 'node:path';
import { formatValue } from '@guilomo/core';
import type { Example, LoadOptions, Split, TaskSplit } from '../example.js';
import { buildClassificationExample } from '../records.js';
import { getField, RowError, requireString } from '../source-rows.js';
import type { RecordContext } from './json-records.js';
import { isJsonArrayFile, loadJsonRecords } from './json-records.js';

/**
 * BoolQ files per split. Train is the LLM-Adapters JSON file (questions without passages);
 * evaluation uses the SuperGLUE val JSONL (3,270, with passages), because test is unlabelled.
 */
export const BOOLQ_FILES: Readonly<Record<Split, readonly string[]>> = {
  train: ['llm-adapters_boolq_train.json'],
  eval: ['SuperGlue_BoolQ_val.jsonl'],
};

/** BoolQ label words in label order: false is no, true is yes. */
export const BOOLQ_LABEL_WORDS = ['no', 'yes'] as const;

const ADAPTERS_QUESTION = /question: ([\s\S]*?)\n\nAnswer format: true\/false\s*$/;

/**
 * Loads BoolQ. Files ending in `.json` are read as LLM-Adapters records
 * `{instruction, answer: "true" | "false"}`, whose instruction wraps the question, and other
 * files as SuperGLUE JSONL `{question, passage, label: boolean, idx}`. A record without a
 * passage gets no passage line in its prompt.
 */
export function loadBoolq(
  dataDir: string,
  split: Split,
  options: LoadOptions = {},
): Promise<TaskSplit> {
  return loadJsonRecords({
    task: 'boolq',
    split,
    dataDir,
    defaultFiles: BOOLQ_FILES[split],
    options,
    parse: (value, context) =>
      isJsonArrayFile(context.file)
        ? parseAdaptersRecord(value, context)
        : parseSuperGlueRecord(value, context),
  });
}

function parseSuperGlueRecord(value: unknown, context: RecordContext): Example {
  const question = requireString(value, 'question');
  const passage = requireString(value, 'passage');
  const label = getField(value, 'label');
  if (typeof label !== 'boolean') {
    throw new RowError(
      'label',
      label === undefined ? 'is missing' : `must be true or false, got ${formatValue(label)}`,
    );
  }
  const idx = getField(value, 'idx');
  return buildBoolqExample(
    `${basename(context.file)}:${typeof idx === 'number' ? idx : context.line}`,
    question,
    passage,
    label,
  );
}

function parseAdaptersRecord(value: unknown, context: RecordContext): Example {
  const instruction = requireString(value, 'instruction');
  const match = ADAPTERS_QUESTION.exec(instruction);
  if (match === null || match[1] === undefined) {
    throw new RowError(
      'instruction',
      'must end with "question: {question}\\n\\nAnswer format: true/false"',
    );
  }
  const answer = requireString(value, 'answer').trim();
  if (answer !== 'true' && answer !== 'false') {
    throw new RowError('answer', `must be "true" or "false", got ${formatValue(answer)}`);
  }
  return buildBoolqExample(
    `${basename(context.file)}:${context.line}`,
    match[1],
    '',
    answer === 'true',
  );
}

function buildBoolqExample(id: string, question: string, passage: string, label: boolean): Example {
  const text = question.trim().replace(/\?+$/, '');
  return buildClassificationExample({
    id,
    inputs: passage.trim() === '' ? [] : [['Passage', passage]],
    question: `${text}?`,
    labelWords: BOOLQ_LABEL_WORDS,
    label: label ? 1 : 0,
  });
}
