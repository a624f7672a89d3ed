export {
  ACTIVE_EXPERT_BIAS,
  expertMask,
  expertMaskFromScores,
  MASKED_EXPERT_BIAS,
} from './expert-mask.js';
export type { GsvInit } from './gsv-init.js';
export { GSV_INITS, gsvInitialValues } from './gsv-init.js';
export type { GsvSet, GsvSetOptions } from './gsv-set.js';
export { createGsvSet } from './gsv-set.js';
export type { GsvModifierOptions } from './modifiers.js';
export { createGsvModifiers } from './modifiers.js';
export { RANK_FLOOR, rankMask, rankMaskFromScores, rankMaskRows } from './rank-mask.js';
export type { GsvAllocation } from './read-allocation.js';
export { allocationFromValues, readAllocation } from './read-allocation.js';
