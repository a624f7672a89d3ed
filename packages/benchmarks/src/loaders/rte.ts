import { basename } from 'node:path';
import { formatValue } from '@guilomo/core';
import type { LoadOptions, Split, TaskSplit } from '../example.js';
import { buildClassificationExample } from '../records.js';
import { getField, RowError, requireString } from '../source-rows.js';
import { loadJsonRecords } from './json-records.js';

/** RTE files per split (SuperGLUE JSONL). The test file is unlabelled, so evaluation uses val (277). */
export const RTE_FILES: Readonly<Record<Split, readonly string[]>> = {
  train: ['SuperGlue_RTE_train.jsonl'],
  eval: ['SuperGlue_RTE_val.jsonl'],
};

/** RTE label words in the SuperGLUE label order: 0 is entailment, 1 is not entailment. */
export const RTE_LABEL_WORDS = ['entailment', 'not entailment'] as const;

const SOURCE_LABELS = ['entailment', 'not_entailment'];

/** Loads RTE from SuperGLUE JSONL records `{premise, hypothesis, label, idx}`. */
export function loadRte(
  dataDir: string,
  split: Split,
  options: LoadOptions = {},
): Promise<TaskSplit> {
  return loadJsonRecords({
    task: 'rte',
    split,
    dataDir,
    defaultFiles: RTE_FILES[split],
    options,
    parse: (value, context) => {
      const premise = requireString(value, 'premise');
      const hypothesis = requireString(value, 'hypothesis');
      const rawLabel = getField(value, 'label');
      const label = typeof rawLabel === 'string' ? SOURCE_LABELS.indexOf(rawLabel) : -1;
      if (label < 0) {
        const problem =
          rawLabel === undefined
            ? 'is missing'
            : `must be "entailment" or "not_entailment", got ${formatValue(rawLabel)}`;
        throw new RowError('label', problem);
      }
      const idx = getField(value, 'idx');
      return buildClassificationExample({
        id: `${basename(context.file)}:${typeof idx === 'number' || typeof idx === 'string' ? idx : context.line}`,
        inputs: [
          ['Premise', premise],
          ['Hypothesis', hypothesis],
        ],
        question: 'Does the premise entail the hypothesis?',
        labelWords: RTE_LABEL_WORDS,
        label,
      });
    },
  });
}
