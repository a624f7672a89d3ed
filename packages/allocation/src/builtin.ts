import type { AllocationPolicyPlugin } from '@guilomo/core';
import { alphaloraPolicyPlugin } from './alphalora-policy.js';
import { createBudgetedPolicyPlugin } from './budgeted-policy.js';
import { createComposePolicyPlugin } from './compose-policy.js';
import { guilomoPolicyPlugin } from './guilomo-policy.js';
import { molaPolicyPlugin } from './mola-policy.js';
import { uniformPolicyPlugin } from './uniform-policy.js';

/**
 * `allocation:budgeted`. Nested policy specs in its parameters resolve through the `registry`
 * parameter first, then among {@link builtinAllocationPolicies}.
 */
export const budgetedPolicyPlugin: AllocationPolicyPlugin = createBudgetedPolicyPlugin(
  () => builtinAllocationPolicies,
);

/**
 * `allocation:compose`. Nested policy specs in its parameters resolve through the `registry`
 * parameter first, then among {@link builtinAllocationPolicies}.
 */
export const composePolicyPlugin: AllocationPolicyPlugin = createComposePolicyPlugin(
  () => builtinAllocationPolicies,
);

/**
 * Every allocation policy of this package. Importing the package registers nothing, so register
 * these explicitly.
 *
 * @example
 * const registry = createRegistry();
 * for (const plugin of builtinAllocationPolicies) {
 *   registry.register(plugin);
 * }
 */
export const builtinAllocationPolicies: readonly AllocationPolicyPlugin[] = [
  guilomoPolicyPlugin,
  uniformPolicyPlugin,
  molaPolicyPlugin,
  alphaloraPolicyPlugin,
  budgetedPolicyPlugin,
  composePolicyPlugin,
];
