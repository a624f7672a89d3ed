import { join } from 'node:path';
import { ConfigError, formatValue } from '@guilomo/core';
import { defaultDataDir } from './default-data.js';
import type { ExampleKind, LoadOptions, Split, TaskSplit } from './example.js';
import { ARC_EASY_FILES, loadArcEasy } from './loaders/arc-easy.js';
import { BOOLQ_FILES, loadBoolq } from './loaders/boolq.js';
import { COLA_FILES, loadCola } from './loaders/cola.js';
import { COMMONSENSEQA_FILES, loadCommonsenseQa } from './loaders/commonsenseqa.js';
import { loadMrpc, MRPC_FILES } from './loaders/mrpc.js';
import { loadOpenBookQa, OPENBOOKQA_FILES } from './loaders/openbookqa.js';
import { loadRte, RTE_FILES } from './loaders/rte.js';
import { loadScienceQa, SCIENCEQA_FILES } from './loaders/scienceqa.js';

/** Names of the tasks with a loader. */
export type TaskName =
  | 'mrpc'
  | 'cola'
  | 'rte'
  | 'scienceqa'
  | 'commonsenseqa'
  | 'openbookqa'
  | 'arc-easy'
  | 'boolq';

/** Metrics a task reports. `accuracyNorm` exists only under log-likelihood scoring. */
export type MetricName = 'accuracy' | 'accuracyNorm' | 'f1' | 'mcc';

/** Signature shared by the task loaders. */
export type TaskLoader = (
  dataDir: string,
  split: Split,
  options?: LoadOptions,
) => Promise<TaskSplit>;

/** Description of one benchmark task. */
export interface TaskInfo {
  readonly name: TaskName;
  readonly title: string;
  /** Task name in lm-evaluation-harness, or null when it has none. */
  readonly lmEvalName: string | null;
  readonly kind: ExampleKind;
  /** Metrics to report, in order. */
  readonly metrics: readonly MetricName[];
  /** Label index of the positive class, for tasks that report F1 or MCC. */
  readonly positiveLabel?: number;
  /** Folder of the task's files under a data root. */
  readonly directory: string;
  /** Default files per split, relative to the task folder. */
  readonly files: Readonly<Record<Split, readonly string[]>>;
  /** Number of evaluation examples with the default files. */
  readonly evalSize: number;
  /** Whether the GuiLoMo paper reports the task. */
  readonly inPaper: boolean;
  readonly load: TaskLoader;
}

/** The benchmark tasks, with the six tasks of the GuiLoMo paper first, in its table order. */
export const TASKS: Readonly<Record<TaskName, TaskInfo>> = {
  mrpc: {
    name: 'mrpc',
    title: 'MRPC (paraphrase)',
    lmEvalName: 'mrpc',
    kind: 'classification',
    metrics: ['accuracy', 'f1'],
    positiveLabel: 1,
    directory: 'mrpc',
    files: MRPC_FILES,
    evalSize: 1725,
    inPaper: true,
    load: loadMrpc,
  },
  cola: {
    name: 'cola',
    title: 'CoLA (acceptability)',
    lmEvalName: 'cola',
    kind: 'classification',
    metrics: ['accuracy', 'mcc'],
    positiveLabel: 1,
    directory: 'cola',
    files: COLA_FILES,
    evalSize: 1043,
    inPaper: true,
    load: loadCola,
  },
  rte: {
    name: 'rte',
    title: 'RTE (entailment)',
    lmEvalName: 'rte',
    kind: 'classification',
    metrics: ['accuracy'],
    directory: 'rte',
    files: RTE_FILES,
    evalSize: 277,
    inPaper: true,
    load: loadRte,
  },
  scienceqa: {
    name: 'scienceqa',
    title: 'ScienceQA (text-only)',
    lmEvalName: null,
    kind: 'multiple-choice',
    metrics: ['accuracy'],
    directory: 'scienceqa',
    files: SCIENCEQA_FILES,
    evalSize: 2224,
    inPaper: true,
    load: loadScienceQa,
  },
  commonsenseqa: {
    name: 'commonsenseqa',
    title: 'CommonsenseQA',
    lmEvalName: 'commonsense_qa',
    kind: 'multiple-choice',
    metrics: ['accuracy'],
    directory: 'commonsenseqa',
    files: COMMONSENSEQA_FILES,
    evalSize: 1221,
    inPaper: true,
    load: loadCommonsenseQa,
  },
  openbookqa: {
    name: 'openbookqa',
    title: 'OpenBookQA',
    lmEvalName: 'openbookqa',
    kind: 'multiple-choice',
    metrics: ['accuracy', 'accuracyNorm'],
    directory: 'openbookqa',
    files: OPENBOOKQA_FILES,
    evalSize: 500,
    inPaper: true,
    load: loadOpenBookQa,
  },
  'arc-easy': {
    name: 'arc-easy',
    title: 'ARC-Easy',
    lmEvalName: 'arc_easy',
    kind: 'multiple-choice',
    metrics: ['accuracy', 'accuracyNorm'],
    directory: 'arc-easy',
    files: ARC_EASY_FILES,
    evalSize: 2376,
    inPaper: false,
    load: loadArcEasy,
  },
  boolq: {
    name: 'boolq',
    title: 'BoolQ',
    lmEvalName: 'boolq',
    kind: 'classification',
    metrics: ['accuracy'],
    directory: 'boolq',
    files: BOOLQ_FILES,
    evalSize: 3270,
    inPaper: false,
    load: loadBoolq,
  },
};

/** The six tasks of the GuiLoMo paper, in its table order. */
export const PAPER_TASKS: readonly TaskName[] = [
  'mrpc',
  'cola',
  'rte',
  'scienceqa',
  'commonsenseqa',
  'openbookqa',
];

/** Returns whether `name` is a task in {@link TASKS}. */
export function isTaskName(name: string): name is TaskName {
  return Object.hasOwn(TASKS, name);
}

/** Returns the task called `name`, or raises a ConfigError that lists the task names. */
export function getTask(name: string): TaskInfo {
  if (!isTaskName(name)) {
    throw new ConfigError(
      'task',
      `unknown task ${formatValue(name)}; use one of ${Object.keys(TASKS).join(', ')}.`,
    );
  }
  return TASKS[name];
}

/** Options of {@link loadTask}. */
export interface LoadTaskOptions extends LoadOptions {
  /**
   * Folder with one subfolder per task, named as `TaskInfo.directory`. Default
   * {@link defaultDataDir}, which ships only `openbookqa`.
   */
  readonly dataRoot?: string;
}

/**
 * Loads one split of a task from `{dataRoot}/{task directory}`.
 *
 * @example
 * const test = await loadTask('openbookqa', 'eval');
 * test.examples.length; // 500
 */
export function loadTask(
  name: string,
  split: Split,
  options: LoadTaskOptions = {},
): Promise<TaskSplit> {
  const task = getTask(name);
  const { dataRoot = defaultDataDir(), ...loadOptions } = options;
  return task.load(join(dataRoot, task.directory), split, loadOptions);
}
