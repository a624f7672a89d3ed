import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger, PluginBase, Registry } from '@guilomo/core';
import { ConfigError, RegistryError } from '@guilomo/core';

/**
 * Loads user plugin modules and registers what they export. A module may export a function
 * `register(registry)`, or plugin objects (any export with `kind`, `name` and `apiVersion`,
 * including arrays of them and the default export).
 */
export async function loadPluginModules(registry: Registry, paths: readonly string[], logger: Logger): Promise<void> {
  for (const path of paths) {
    const url = pathToFileURL(resolve(path)).href;
    let moduleExports: Record<string, unknown>;
    try {
      moduleExports = (await import(url)) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError('run.plugins', `cannot load plugin module ${path}: ${(error as Error).message}`, { cause: error });
    }
    const register = moduleExports.register;
    if (typeof register === 'function') {
      (register as (registry: Registry) => void)(registry);
      logger.info(`Registered plugins from ${path} through its register() function.`);
      continue;
    }
    const plugins = Object.values(moduleExports).flatMap((value) => (Array.isArray(value) ? value : [value])).filter(isPlugin);
    if (plugins.length === 0) {
      throw new ConfigError(
        'run.plugins',
        `${path} exports no plugin: export objects with kind, name and apiVersion, or a register(registry) function.`,
      );
    }
    for (const plugin of new Set(plugins)) {
      if (plugin.kind !== 'router' && plugin.kind !== 'allocation') {
        throw new RegistryError(`Plugin ${plugin.kind}:${plugin.name} from ${path} has unknown kind \`${plugin.kind}\`; the trainer uses router and allocation plugins.`);
      }
      // The kind was checked above; the plugin's hooks are checked when the trainer calls them.
      registry.register(plugin as Parameters<Registry['register']>[0]);
      logger.info(`Registered ${plugin.kind}:${plugin.name} from ${path}.`);
    }
  }
}

function isPlugin(value: unknown): value is PluginBase {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PluginBase).kind === 'string' &&
    typeof (value as PluginBase).name === 'string' &&
    'apiVersion' in value
  );
}
