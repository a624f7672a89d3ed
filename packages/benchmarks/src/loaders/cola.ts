import { basename } from 'node:path';
import { formatValue } from '@guilomo/core';
import type { LoadOptions, Split, TaskSplit } from '../example.js';
import { buildClassificationExample } from '../records.js';
import { RowError } from '../source-rows.js';
import { loadTsvSplit } from './tsv-split.js';

/**
 * CoLA files per split. The staged copy divides the GLUE train set (8,551 sentences) into
 * `train` (7,250) and `val` (1,301), so the train split reads both. Evaluation uses the GLUE
 * dev set (1,043), because the test labels are not public.
 */
export const COLA_FILES: Readonly<Record<Split, readonly string[]>> = {
  train: ['data_CoLA_train.tsv', 'data_CoLA_val.tsv'],
  eval: ['data_CoLA_dev.tsv'],
};

/** CoLA label words in label order: 0 is unacceptable, 1 is acceptable. */
export const COLA_LABEL_WORDS = ['unacceptable', 'acceptable'] as const;

/**
 * Loads the Corpus of Linguistic Acceptability from its original headerless TSV files with the
 * columns source, label, original label mark and sentence.
 */
export function loadCola(
  dataDir: string,
  split: Split,
  options: LoadOptions = {},
): Promise<TaskSplit> {
  return loadTsvSplit({
    task: 'cola',
    split,
    dataDir,
    defaultFiles: COLA_FILES[split],
    options,
    parse: (cells, context) => {
      if (cells.length !== 4) {
        throw new RowError(
          '(row)',
          `must have 4 tab-separated columns (source, label, mark, sentence), got ${cells.length}`,
        );
      }
      const [, label = '', , sentence = ''] = cells;
      if (label !== '0' && label !== '1') {
        throw new RowError('label', `must be 0 or 1, got ${formatValue(label)}`);
      }
      if (sentence.trim() === '') {
        throw new RowError('sentence', 'is empty');
      }
      return buildClassificationExample({
        id: `${basename(context.file)}:${context.line}`,
        inputs: [['Sentence', sentence]],
        question: 'Is this sentence grammatically acceptable?',
        labelWords: COLA_LABEL_WORDS,
        label: Number(label),
      });
    },
  });
}
