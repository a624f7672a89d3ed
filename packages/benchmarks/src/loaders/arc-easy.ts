import type { LoadOptions, Split, TaskSplit } from '../example.js';
import { parseAi2Question } from './ai2-question.js';
import { loadJsonRecords } from './json-records.js';

/** ARC-Easy files per split. The ARC test split has public answers, so evaluation uses it (2,376). */
export const ARC_EASY_FILES: Readonly<Record<Split, readonly string[]>> = {
  train: ['ARC-V1-Feb2018_ARC-V1-Feb2018-2_ARC-Easy_ARC-Easy-Train.jsonl'],
  eval: ['ARC-V1-Feb2018_ARC-V1-Feb2018-2_ARC-Easy_ARC-Easy-Test.jsonl'],
};

/** Loads ARC-Easy (3- to 5-way multiple choice, AI2 JSONL layout) from `dataDir`. */
export function loadArcEasy(
  dataDir: string,
  split: Split,
  options: LoadOptions = {},
): Promise<TaskSplit> {
  return loadJsonRecords({
    task: 'arc-easy',
    split,
    dataDir,
    defaultFiles: ARC_EASY_FILES[split],
    options,
    parse: (value) => parseAi2Question(value),
  });
}
