import type { AllocationPolicyPlugin } from './allocation.js';
import type { RouterPlugin } from './routing.js';

/** Version of the plugin contract. A plugin built for another version is rejected. */
export const PLUGIN_API_VERSION = 1;

/** Fields every plugin object carries. The registry id is `${kind}:${name}`. */
export interface PluginBase<K extends string = string> {
  readonly kind: K;
  /** Kebab-case name, unique within its kind, such as `top-k`. */
  readonly name: string;
  readonly apiVersion: typeof PLUGIN_API_VERSION;
  /** One-line description shown by `list` commands. */
  readonly description?: string;
}

/**
 * Maps each plugin kind to its plugin type. Packages that add a kind extend it by declaration
 * merging: `declare module '@guilomo/core' { interface PluginKindMap { foo: FooPlugin } }`.
 */
export interface PluginKindMap {
  router: RouterPlugin;
  allocation: AllocationPolicyPlugin;
}

/** A plugin kind known to the type system. */
export type PluginKind = keyof PluginKindMap & string;

/** Registry id of a plugin, such as `router:top-k`. */
export type PluginId<K extends PluginKind = PluginKind> = `${K}:${string}`;
