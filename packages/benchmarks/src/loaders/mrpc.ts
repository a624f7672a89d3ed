import { basename } from 'node:path';
import { FormatError, formatValue } from '@guilomo/core';
import type { LoadOptions, Split, TaskSplit } from '../example.js';
import { buildClassificationExample } from '../records.js';
import { RowError } from '../source-rows.js';
import { loadTsvSplit } from './tsv-split.js';

/** MRPC files per split. The test labels are public, so evaluation uses test (1,725). */
export const MRPC_FILES: Readonly<Record<Split, readonly string[]>> = {
  train: ['msr_paraphrase_train.txt'],
  eval: ['msr_paraphrase_test.txt'],
};

/** MRPC label words in label order: `Quality` 0 is not equivalent, 1 is equivalent. */
export const MRPC_LABEL_WORDS = ['not equivalent', 'equivalent'] as const;

const HEADER = ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'];

/**
 * Loads the Microsoft Research Paraphrase Corpus from its original TSV files (header
 * `Quality #1 ID #2 ID #1 String #2 String`). Rows whose two IDs are -1 are not part of the
 * corpus, so they are recorded in `dropped`: one redistributed train file appends four such
 * made-up pairs, and without them the train split has 4,076 pairs.
 */
export function loadMrpc(
  dataDir: string,
  split: Split,
  options: LoadOptions = {},
): Promise<TaskSplit> {
  return loadTsvSplit({
    task: 'mrpc',
    split,
    dataDir,
    defaultFiles: MRPC_FILES[split],
    options,
    readHeader: (first, file) => {
      const cells = first.text.split('\t').map((cell) => cell.trim());
      if (cells.length !== HEADER.length || cells.some((cell, i) => cell !== HEADER[i])) {
        throw new FormatError(
          `${file} line ${first.line}: expected the MRPC header ${formatValue(HEADER.join('\t'))}, got ${formatValue(first.text)}.`,
        );
      }
      return true;
    },
    parse: (cells, context) => {
      if (cells.length !== HEADER.length) {
        throw new RowError(
          '(row)',
          `must have ${HEADER.length} tab-separated columns, got ${cells.length}`,
        );
      }
      const [quality = '', id1 = '', id2 = '', sentence1 = '', sentence2 = ''] = cells;
      if (quality !== '0' && quality !== '1') {
        throw new RowError('Quality', `must be 0 or 1, got ${formatValue(quality)}`);
      }
      for (const [field, id] of [
        ['#1 ID', id1],
        ['#2 ID', id2],
      ] as const) {
        if (!/^-?\d+$/.test(id)) {
          throw new RowError(field, `must be an integer, got ${formatValue(id)}`);
        }
      }
      if (id1 === '-1' && id2 === '-1') {
        context.drop('made-up pair with IDs -1, not part of MRPC');
        return null;
      }
      for (const [field, text] of [
        ['#1 String', sentence1],
        ['#2 String', sentence2],
      ] as const) {
        if (text.trim() === '') {
          throw new RowError(field, 'is empty');
        }
      }
      return buildClassificationExample({
        id: `${basename(context.file)}:${id1}-${id2}`,
        inputs: [
          ['Sentence 1', sentence1],
          ['Sentence 2', sentence2],
        ],
        question: 'Do the two sentences mean the same thing?',
        labelWords: MRPC_LABEL_WORDS,
        label: Number(quality),
      });
    },
  });
}
