export type {
  AllocationJson,
  AllocationJsonModule,
  AllocationJsonOptions,
  AllocationJsonTotals,
} from './allocation-json.js';
export {
  ALLOCATION_JSON_FORMAT,
  ALLOCATION_JSON_VERSION,
  fromAllocationJson,
  toAllocationJson,
} from './allocation-json.js';
export type { LayerScoreOptions, LayerScores } from './alphalora-policy.js';
export {
  alphaloraLayerScores,
  alphaloraPolicyPlugin,
  defaultAlphaloraTotal,
} from './alphalora-policy.js';
export { roundHalfEven, scaleExpertCounts } from './alphalora-scaling.js';
export type {
  AuthorFiles,
  AuthorFilesInput,
  FromAuthorFilesOptions,
  ToAuthorFilesOptions,
} from './author-files.js';
export { fromAuthorFiles, RANK_KEY_INFIX, toAuthorFiles } from './author-files.js';
export type { BudgetFill, BudgetLimits, BudgetTarget } from './budget-fill.js';
export { fillBudget, maximumParameters, minimumParameters } from './budget-fill.js';
export type { BudgetedParams } from './budgeted-policy.js';
export { budgetedPolicyPlugin, builtinAllocationPolicies, composePolicyPlugin } from './builtin.js';
export type { ComposeParams, RankFill } from './compose-policy.js';
export { composeAllocations } from './compose-policy.js';
export { allocateFromGsv, guilomoPolicyPlugin } from './guilomo-policy.js';
export type { HillEstimate } from './hill-estimator.js';
export { esdEigenvalues, estimatePlAlphaHill } from './hill-estimator.js';
export { compareModulePaths, modulePath } from './module-path.js';
export {
  MOLA_BLOCKS,
  MOLA_SHAPES,
  molaBlockOfLayer,
  molaLayerExperts,
  molaPolicyPlugin,
  parseMolaShape,
} from './mola-policy.js';
export { countParameters, moduleParameterCount } from './parameter-count.js';
export type { PolicyParams } from './params.js';
export type { AllocationPolicyRegistry, PolicySpec } from './policy-spec.js';
export type { AllocationSummary } from './summary.js';
export { summarizeAllocation } from './summary.js';
export { uniformPolicyPlugin } from './uniform-policy.js';
export type { ValidationOptions } from './validate.js';
export { AllocationValidationError, validateAllocation } from './validate.js';
