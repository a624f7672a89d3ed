import type { AllocationPolicy, AllocationPolicyPlugin } from '@guilomo/core';
import { ConfigError, formatValue, RegistryError } from '@guilomo/core';
import type { PolicyParams } from './params.js';

/**
 * Reference to an allocation policy inside another policy's parameters, such as
 * `{ policy: 'mola', params: { shape: '2468' } }`. `policy` is the plugin name, with or without
 * the `allocation:` prefix.
 */
export interface PolicySpec {
  readonly policy: string;
  readonly params?: PolicyParams;
}

/**
 * The part of a plugin registry that policy specs are resolved through. The `Registry` class of
 * `@guilomo/core` satisfies it, so user plugins registered there are found.
 */
export interface AllocationPolicyRegistry {
  has(kind: 'allocation', name: string): boolean;
  get(kind: 'allocation', name: string): AllocationPolicyPlugin;
}

const PREFIX = 'allocation:';

/** Checks that `value` is a {@link PolicySpec} and returns it; `field` names it in errors. */
export function readPolicySpec(value: unknown, field: string): PolicySpec {
  if (typeof value !== 'object' || value === null || !('policy' in value)) {
    throw new ConfigError(
      field,
      `expected a policy spec { policy: string, params?: object }, such as { policy: 'uniform', params: { experts: 8, rank: 8 } }; received ${formatValue(value)}.`,
    );
  }
  const policy = value.policy;
  if (typeof policy !== 'string' || policy.length === 0) {
    throw new ConfigError(
      `${field}.policy`,
      `expected a policy name, received ${formatValue(policy)}.`,
    );
  }
  const params = 'params' in value ? value.params : undefined;
  if (params === undefined) {
    return { policy };
  }
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new ConfigError(
      `${field}.params`,
      `expected an object, received ${formatValue(params)}.`,
    );
  }
  return { policy, params: { ...params } };
}

/** Reads the optional `registry` parameter of a policy that resolves nested policy specs. */
export function readRegistry(
  params: PolicyParams,
  policyId: string,
): AllocationPolicyRegistry | undefined {
  const value = params.registry;
  if (value === undefined) {
    return undefined;
  }
  if (!isPolicyRegistry(value)) {
    throw new ConfigError(
      `${policyId}.registry`,
      `expected a Registry from createRegistry() in @guilomo/core (an object with has() and get()), received ${formatValue(value)}.`,
    );
  }
  return value;
}

function isPolicyRegistry(value: unknown): value is AllocationPolicyRegistry {
  return (
    typeof value === 'object' &&
    value !== null &&
    'has' in value &&
    typeof value.has === 'function' &&
    'get' in value &&
    typeof value.get === 'function'
  );
}

/**
 * Creates the policy a spec names. The registry is asked first, so a user plugin registered
 * under a built-in name replaces it. Otherwise the spec resolves among `builtins`. Call this at
 * allocate time so that plugins registered after the outer policy was created are found.
 */
export function resolvePolicySpec(
  spec: PolicySpec,
  registry: AllocationPolicyRegistry | undefined,
  builtins: readonly AllocationPolicyPlugin[],
  field: string,
): AllocationPolicy {
  const name = spec.policy.startsWith(PREFIX) ? spec.policy.slice(PREFIX.length) : spec.policy;
  let plugin: AllocationPolicyPlugin | undefined;
  if (registry?.has('allocation', name)) {
    plugin = registry.get('allocation', name);
  } else {
    plugin = builtins.find((candidate) => candidate.name === name);
  }
  if (plugin === undefined) {
    const known = builtins.map((candidate) => candidate.name).join(', ');
    const where =
      registry === undefined ? 'no registry was passed' : 'the registry has no such plugin';
    throw new RegistryError(
      `${field}: allocation policy ${formatValue(spec.policy)} is not found (${where}). Built-in policies: ${known}.`,
    );
  }
  return plugin.create(spec.params ?? {});
}
