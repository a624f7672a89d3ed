export { switchBalanceLoss } from './balance-loss.js';
export { builtinRouters } from './builtin-routers.js';
export type { ExpertChoiceRouterParams } from './expert-choice-router.js';
export {
  expertChoiceCapacity,
  expertChoiceMask,
  expertChoiceRouterPlugin,
} from './expert-choice-router.js';
export { withoutGradient } from './no-gradient.js';
export type { BalanceScale } from './options.js';
export type { RoutingHealth } from './routing-health.js';
export { routedSlotShare, routingHealth, summarizeExpertShare } from './routing-health.js';
export { normalizeRows } from './row-ops.js';
export type { SoftRouterParams } from './soft-router.js';
export { softBalanceLoss, softRouterPlugin } from './soft-router.js';
export type { SwitchRouterParams } from './switch-router.js';
export { routerZLoss, switchCapacityMask, switchRouterPlugin } from './switch-router.js';
export type { TopKRouterParams } from './top-k-router.js';
export { topKRouterPlugin, topKSelectionMask } from './top-k-router.js';
export type { TopPRouterParams } from './top-p-router.js';
export { topPRouterPlugin, topPSelectionMask } from './top-p-router.js';
