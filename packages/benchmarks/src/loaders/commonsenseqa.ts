import type { LoadOptions, Split, TaskSplit } from '../example.js';
import { parseAi2Question } from './ai2-question.js';
import { loadJsonRecords } from './json-records.js';

/** CommonsenseQA files per split. The test file has no answers, so evaluation uses dev (1,221). */
export const COMMONSENSEQA_FILES: Readonly<Record<Split, readonly string[]>> = {
  train: ['dataset_CSQA_train_rand_split.jsonl'],
  eval: ['dataset_CSQA_dev_rand_split.jsonl'],
};

/** Loads CommonsenseQA (5-way multiple choice, AI2 JSONL layout) from `dataDir`. */
export function loadCommonsenseQa(
  dataDir: string,
  split: Split,
  options: LoadOptions = {},
): Promise<TaskSplit> {
  return loadJsonRecords({
    task: 'commonsenseqa',
    split,
    dataDir,
    defaultFiles: COMMONSENSEQA_FILES[split],
    options,
    parse: (value) => parseAi2Question(value),
  });
}
