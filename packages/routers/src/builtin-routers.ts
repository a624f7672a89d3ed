import type { RouterPlugin } from '@guilomo/core';
import { expertChoiceRouterPlugin } from './expert-choice-router.js';
import { softRouterPlugin } from './soft-router.js';
import { switchRouterPlugin } from './switch-router.js';
import { topKRouterPlugin } from './top-k-router.js';
import { topPRouterPlugin } from './top-p-router.js';

/**
 * Every router plugin of this package, for an application to register.
 *
 * @example
 * const registry = createRegistry();
 * for (const plugin of builtinRouters) {
 *   registry.register(plugin);
 * }
 */
export const builtinRouters: readonly RouterPlugin[] = [
  topKRouterPlugin,
  topPRouterPlugin,
  softRouterPlugin,
  switchRouterPlugin,
  expertChoiceRouterPlugin,
];
