import type { ModuleInfo, Registry } from '@guilomo/core';
import { ConfigError } from '@guilomo/core';
import type { LlamaModel } from '@guilomo/models';
import type { ResolvedConfig } from './config/types.js';

/**
 * Throws a ConfigError unless `adapter.router` and `allocation.policy` name registered plugins,
 * so that a typo fails before the model loads instead of in the middle of a run.
 */
export function checkPluginNames(registry: Registry, config: ResolvedConfig): void {
  const checks = [
    { field: 'adapter.router', kind: 'router', name: config.adapter.router },
    { field: 'allocation.policy', kind: 'allocation', name: config.allocation.policy },
  ] as const;
  for (const { field, kind, name } of checks) {
    if (!registry.has(kind, name)) {
      const registered = registry.list(kind).map((id) => id.slice(kind.length + 1));
      throw new ConfigError(
        field,
        `no ${kind} plugin is registered as ${JSON.stringify(name)}. Registered: ${registered.join(', ')}. ` +
          'To use your own, list its module in run.plugins.',
      );
    }
  }
  // Creating the policy validates its params now, instead of after a search of several minutes.
  registry.get('allocation', config.allocation.policy).create(config.allocation.params);
  registry.get('router', config.adapter.router).create({
    numExperts: config.adapter.maxExperts,
    topK: config.adapter.topK,
    params: config.adapter.routerParams,
  });
}

/** Resolves `adapter.targets` to modules. Its errors name the config field `adapter.targets`. */
export function resolveConfiguredTargets(
  model: LlamaModel,
  targets: readonly string[],
): ModuleInfo[] {
  try {
    return model.resolveTargets(targets);
  } catch (error) {
    if (error instanceof ConfigError && error.field === 'targets') {
      throw new ConfigError('adapter.targets', error.message.slice('`targets`: '.length), {
        cause: error,
      });
    }
    throw error;
  }
}
