export { defaultDataDir } from './default-data.js';
export type { EvaluateOptions, EvaluationResult, Prediction, ScoringMethod } from './evaluate.js';
export { evaluateTask } from './evaluate.js';
export type {
  Example,
  ExampleKind,
  InvalidRowPolicy,
  LoadOptions,
  RowIssue,
  Split,
  TaskSplit,
} from './example.js';
export { answerToLabel, extractAnswer, extractResponse, FAILED } from './extract.js';
export type { GenerationScoringOptions } from './generation.js';
export { defaultMaxNewTokens, scoreByGeneration } from './generation.js';
export { ARC_EASY_FILES, loadArcEasy } from './loaders/arc-easy.js';
export { BOOLQ_FILES, BOOLQ_LABEL_WORDS, loadBoolq } from './loaders/boolq.js';
export { COLA_FILES, COLA_LABEL_WORDS, loadCola } from './loaders/cola.js';
export { COMMONSENSEQA_FILES, loadCommonsenseQa } from './loaders/commonsenseqa.js';
export type {
  ClassificationFieldMap,
  JsonlFieldMap,
  JsonlLoadOptions,
  MultipleChoiceFieldMap,
} from './loaders/generic-jsonl.js';
export { loadJsonl } from './loaders/generic-jsonl.js';
export { loadMrpc, MRPC_FILES, MRPC_LABEL_WORDS } from './loaders/mrpc.js';
export { loadOpenBookQa, OPENBOOKQA_FILES } from './loaders/openbookqa.js';
export { loadRte, RTE_FILES, RTE_LABEL_WORDS } from './loaders/rte.js';
export { loadScienceQa, SCIENCEQA_FILES } from './loaders/scienceqa.js';
export type { CandidateSource, LogLikelihoodScoringOptions } from './loglikelihood.js';
export { scoreByLogLikelihood } from './loglikelihood.js';
export type { ConfusionCounts } from './metrics.js';
export { accuracy, binaryF1, confusionCounts, matthewsCorrelation } from './metrics.js';
export type { ClassificationFields, MultipleChoiceFields } from './records.js';
export {
  buildClassificationExample,
  buildMultipleChoiceExample,
  classificationOutput,
  multipleChoiceOutput,
  OPTION_LETTERS,
} from './records.js';
export type { PromptBudget, RenderedPrompt, RenderedTraining } from './render.js';
export { renderPrompt, renderTraining } from './render.js';
export type { ExampleScore, LogLikelihoodRequest, ScoringModel } from './scoring-model.js';
export { RowError } from './source-rows.js';
export type { LoadTaskOptions, MetricName, TaskInfo, TaskLoader, TaskName } from './tasks.js';
export { getTask, isTaskName, loadTask, PAPER_TASKS, TASKS } from './tasks.js';
export type { PromptTemplate, PromptTemplateName } from './templates.js';
export {
  ALPACA_TEMPLATE,
  COMPACT_TEMPLATE,
  PROMPT_TEMPLATES,
  resolvePromptTemplate,
} from './templates.js';
