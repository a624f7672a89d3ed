export type {
  AdamWOptions,
  AdamWSerializedState,
  AdamWState,
  ResolvedAdamWOptions,
} from './adamw.js';
export { AdamW, disposeAdamWState, resolveAdamWOptions } from './adamw.js';
export type { Batch, BatchCursor, BatchIteratorOptions } from './batch-iterator.js';
export { BatchIterator } from './batch-iterator.js';
export type {
  BatchPair,
  BatchPairCursor,
  BatchPairIteratorOptions,
  PairingScheme,
} from './batch-pairs.js';
export { BatchPairIterator, PAIRING_SCHEMES } from './batch-pairs.js';
export type {
  BilevelMode,
  BilevelSearchOptions,
  InnerOptimizerOptions,
  OuterOptimizerOptions,
  ResolvedBilevelConfig,
} from './bilevel-config.js';
export { BILEVEL_MODES, resolveBilevelConfig, UNROLLED_STEPS } from './bilevel-config.js';
export type { BilevelStepMetrics, ExportStateOptions } from './bilevel-search.js';
export { BilevelSearch } from './bilevel-search.js';
export type { ClippedGradients } from './clip-by-global-norm.js';
export { clipByGlobalNorm, globalNorm } from './clip-by-global-norm.js';
export type {
  ConstantScheduleOptions,
  LinearScheduleOptions,
  LrSchedule,
  LrScheduleOptions,
  ResolvedLrScheduleOptions,
} from './lr-schedule.js';
export { createLrSchedule, resolveLrScheduleOptions } from './lr-schedule.js';
export type { DartsGradientOptions, OuterGradient, UnrolledStep } from './outer-gradient.js';
export {
  dartsOuterGradient,
  disposeOuterGradient,
  firstOrderOuterGradient,
} from './outer-gradient.js';
export type { BilevelProblem } from './problem.js';
export type { ReferenceGradientOptions } from './reference-outer-gradient.js';
export { referenceOuterGradient } from './reference-outer-gradient.js';
export type { BilevelSearchMeta, BilevelSearchState } from './search-state.js';
export { BILEVEL_STATE_FORMAT, BILEVEL_STATE_VERSION } from './search-state.js';
export type { SerializedTensors } from './serialized-tensors.js';
export type {
  TrainValidationSplit,
  TrainValidationSplitOptions,
} from './train-validation-split.js';
export { splitTrainValidation } from './train-validation-split.js';
