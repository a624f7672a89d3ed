import type { Logger, ProgressCallback, ProgressEvent } from '@guilomo/core';
import { ConfigError, formatValue, silentLogger } from '@guilomo/core';

/** Create parameters of an allocation policy plugin, as the plugin contract passes them. */
export type PolicyParams = Readonly<Record<string, unknown>>;

/** Bounds and default of an integer parameter. */
export interface IntegerRule {
  readonly min: number;
  readonly max?: number;
  /** Value used when the parameter is absent. */
  readonly fallback: number;
}

/**
 * Throws a {@link ConfigError} for a parameter name that the policy does not read, so that a
 * misspelt option fails loudly instead of being ignored.
 */
export function assertKnownParams(
  params: PolicyParams,
  policyId: string,
  allowed: readonly string[],
): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) {
      const known = allowed.length === 0 ? 'none' : allowed.join(', ');
      throw new ConfigError(
        `${policyId}.${key}`,
        `unknown parameter. Parameters of ${policyId}: ${known}.`,
      );
    }
  }
}

/** Reads an integer parameter within `[rule.min, rule.max]`, or `rule.fallback` when absent. */
export function readInteger(
  params: PolicyParams,
  policyId: string,
  field: string,
  rule: IntegerRule,
): number {
  const value = params[field];
  if (value === undefined) {
    return rule.fallback;
  }
  return checkInteger(value, `${policyId}.${field}`, rule.min, rule.max);
}

/** Reads an optional integer parameter within `[min, max]`, or `undefined` when absent. */
export function readOptionalInteger(
  params: PolicyParams,
  policyId: string,
  field: string,
  min: number,
  max?: number,
): number | undefined {
  const value = params[field];
  if (value === undefined) {
    return undefined;
  }
  return checkInteger(value, `${policyId}.${field}`, min, max);
}

/** Reads a finite number parameter greater than `exclusiveMin`, or `fallback` when absent. */
export function readNumber(
  params: PolicyParams,
  policyId: string,
  field: string,
  exclusiveMin: number,
  fallback: number,
): number {
  const value = params[field];
  if (value === undefined) {
    return fallback;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= exclusiveMin) {
    throw new ConfigError(
      `${policyId}.${field}`,
      `expected a finite number greater than ${exclusiveMin}, received ${formatValue(value)}.`,
    );
  }
  return value;
}

/** Reads a string parameter that must be one of `allowed`, or `fallback` when absent. */
export function readChoice<T extends string>(
  params: PolicyParams,
  policyId: string,
  field: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = params[field];
  if (value === undefined) {
    return fallback;
  }
  const match = allowed.find((choice) => choice === value);
  if (match === undefined) {
    throw new ConfigError(
      `${policyId}.${field}`,
      `expected one of ${allowed.map((choice) => JSON.stringify(choice)).join(', ')}, received ${formatValue(value)}.`,
    );
  }
  return match;
}

/** Checks that `value` is an integer in `[min, max]` and returns it. */
export function checkInteger(value: unknown, field: string, min: number, max?: number): number {
  const inRange =
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= min &&
    (max === undefined || value <= max);
  if (!inRange) {
    const range = max === undefined ? `at least ${min}` : `from ${min} to ${max}`;
    throw new ConfigError(field, `expected an integer ${range}, received ${formatValue(value)}.`);
  }
  return value;
}

/** Reads an optional `logger` parameter, a {@link Logger}, or the silent logger when absent. */
export function readLogger(params: PolicyParams, policyId: string): Logger {
  const value = params.logger;
  if (value === undefined) {
    return silentLogger;
  }
  if (!isLogger(value)) {
    throw new ConfigError(
      `${policyId}.logger`,
      `expected a Logger from createLogger() in @guilomo/core, received ${formatValue(value)}.`,
    );
  }
  return value;
}

function isLogger(value: unknown): value is Logger {
  return (
    typeof value === 'object' &&
    value !== null &&
    'debug' in value &&
    typeof value.debug === 'function' &&
    'info' in value &&
    typeof value.info === 'function' &&
    'warn' in value &&
    typeof value.warn === 'function' &&
    'child' in value &&
    typeof value.child === 'function'
  );
}

/** Reads an optional `onProgress` callback, or a callback that does nothing when absent. */
export function readProgress(params: PolicyParams, policyId: string): ProgressCallback {
  const value = params.onProgress;
  if (value === undefined) {
    return () => {};
  }
  if (typeof value !== 'function') {
    throw new ConfigError(
      `${policyId}.onProgress`,
      `expected a function (event: ProgressEvent) => void, received ${formatValue(value)}.`,
    );
  }
  return (event: ProgressEvent) => {
    Reflect.apply(value, undefined, [event]);
  };
}
