import { RegistryError } from './errors.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import type { PluginBase, PluginKindMap } from './plugin.js';
import { PLUGIN_API_VERSION } from './plugin.js';

const ID_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** Options of {@link Registry.register}. */
export interface RegisterOptions {
  /** Replace a plugin already registered under the same id. A warning is logged. */
  readonly override?: boolean;
}

/**
 * Plugin registry keyed by `kind:name`. Registration is explicit: packages export plugins and
 * the application registers them. The map type `M` fixes the plugin type of each kind, so
 * `get('router', 'top-k')` returns a `RouterPlugin` without casts.
 *
 * @example
 * const registry = createRegistry();
 * registry.register(topKRouterPlugin);
 * const router = registry.get('router', 'top-k').create({ numExperts: 8, topK: 2 });
 */
export class Registry<M extends { [K in keyof M]: PluginBase } = PluginKindMap> {
  private readonly plugins = new Map<string, PluginBase>();

  constructor(private readonly logger: Logger = silentLogger) {}

  /** Registers a plugin. A duplicate id is an error unless `options.override` is set. */
  register<K extends keyof M & string>(
    plugin: M[K] & { readonly kind: K },
    options: RegisterOptions = {},
  ): void {
    validatePlugin(plugin);
    const id = `${plugin.kind}:${plugin.name}`;
    if (this.plugins.has(id)) {
      if (options.override !== true) {
        throw new RegistryError(
          `Plugin \`${id}\` is already registered. Pass { override: true } to replace it.`,
        );
      }
      this.logger.warn(`Plugin \`${id}\` replaced by an explicit override.`);
    }
    this.plugins.set(id, plugin);
  }

  /** Returns the plugin registered as `kind:name`, or throws listing the ids of that kind. */
  get<K extends keyof M & string>(kind: K, name: string): M[K] {
    const plugin = this.plugins.get(`${kind}:${name}`);
    if (plugin === undefined) {
      const known = this.list(kind);
      const hint =
        known.length === 0
          ? `No plugin of kind \`${kind}\` is registered.`
          : `Registered: ${known.join(', ')}.`;
      throw new RegistryError(`Plugin \`${kind}:${name}\` is not registered. ${hint}`);
    }
    return plugin as M[K];
  }

  /** Returns the plugin for a full id such as `router:top-k`. */
  getById<K extends keyof M & string>(id: `${K}:${string}`): M[K] {
    const colon = id.indexOf(':');
    if (colon <= 0) {
      throw new RegistryError(`Invalid plugin id ${JSON.stringify(id)}: expected \`kind:name\`.`);
    }
    return this.get(id.slice(0, colon) as K, id.slice(colon + 1));
  }

  has(kind: keyof M & string, name: string): boolean {
    return this.plugins.has(`${kind}:${name}`);
  }

  /** Lists registered ids, sorted, optionally for one kind only. */
  list(kind?: keyof M & string): string[] {
    const ids = [...this.plugins.keys()];
    const selected = kind === undefined ? ids : ids.filter((id) => id.startsWith(`${kind}:`));
    return selected.sort();
  }

  /** Removes a plugin. Returns whether it was registered. */
  unregister(kind: keyof M & string, name: string): boolean {
    return this.plugins.delete(`${kind}:${name}`);
  }
}

/** Creates an empty registry for the built-in plugin kinds. */
export function createRegistry(logger?: Logger): Registry {
  return new Registry(logger);
}

function validatePlugin(plugin: PluginBase): void {
  if (typeof plugin !== 'object' || plugin === null) {
    throw new RegistryError(`A plugin must be an object, received ${String(plugin)}.`);
  }
  if (typeof plugin.kind !== 'string' || !ID_PATTERN.test(plugin.kind)) {
    throw new RegistryError(
      `Plugin kind ${JSON.stringify(plugin.kind)} is invalid: use kebab-case, such as \`router\`.`,
    );
  }
  if (typeof plugin.name !== 'string' || !ID_PATTERN.test(plugin.name)) {
    throw new RegistryError(
      `Plugin name ${JSON.stringify(plugin.name)} of kind \`${plugin.kind}\` is invalid: use kebab-case, such as \`top-k\`.`,
    );
  }
  if (plugin.apiVersion !== PLUGIN_API_VERSION) {
    throw new RegistryError(
      `Plugin \`${plugin.kind}:${plugin.name}\` targets apiVersion ${String(plugin.apiVersion)}, but this registry supports ${PLUGIN_API_VERSION}.`,
    );
  }
}
