import type { LoadOptions, Split, TaskSplit } from '../example.js';
import { parseAi2Question } from './ai2-question.js';
import { loadJsonRecords } from './json-records.js';

/**
 * OpenBookQA (Main) files per split. The same names are used by the full release and by the
 * subset shipped in this package's assets folder, so one loader reads both.
 */
export const OPENBOOKQA_FILES: Readonly<Record<Split, readonly string[]>> = {
  train: ['OpenBookQA-V1-Sep2018_Data_Main_OpenBookQA_train.jsonl'],
  eval: ['OpenBookQA-V1-Sep2018_Data_Main_test.jsonl'],
};

/** Loads OpenBookQA (4-way multiple choice, AI2 JSONL layout) from `dataDir`. Eval is test (500). */
export function loadOpenBookQa(
  dataDir: string,
  split: Split,
  options: LoadOptions = {},
): Promise<TaskSplit> {
  return loadJsonRecords({
    task: 'openbookqa',
    split,
    dataDir,
    defaultFiles: OPENBOOKQA_FILES[split],
    options,
    parse: (value) => parseAi2Question(value),
  });
}
