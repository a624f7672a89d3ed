import { ConfigError, formatValue } from '@guilomo/core';

/** Bounds accepted by {@link checkNumber}. Every bound is optional. */
export interface NumberRule {
  readonly min?: number;
  readonly greaterThan?: number;
  readonly lessThan?: number;
  readonly integer?: boolean;
}

/**
 * Throws a {@link ConfigError} naming `field` unless `value` is a finite number inside the
 * bounds of `rule`. Returns the value so that callers can validate while assigning.
 */
export function checkNumber(field: string, value: unknown, rule: NumberRule = {}): number {
  const allowed = describeRule(rule);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ConfigError(
      field,
      `must be a finite number (${allowed}), received ${formatValue(value)}.`,
    );
  }
  const inRange =
    (rule.min === undefined || value >= rule.min) &&
    (rule.greaterThan === undefined || value > rule.greaterThan) &&
    (rule.lessThan === undefined || value < rule.lessThan) &&
    (rule.integer !== true || Number.isInteger(value));
  if (!inRange) {
    throw new ConfigError(field, `must be ${allowed}, received ${formatValue(value)}.`);
  }
  return value;
}

/**
 * Throws a {@link ConfigError} naming `field` unless `value` is one of `allowed`.
 */
export function checkChoice<T extends string>(
  field: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    const list = allowed.map((item) => formatValue(item)).join(', ');
    throw new ConfigError(field, `must be one of ${list}, received ${formatValue(value)}.`);
  }
  return value as T;
}

function describeRule(rule: NumberRule): string {
  const parts: string[] = [];
  if (rule.integer === true) {
    parts.push('an integer');
  }
  if (rule.min !== undefined) {
    parts.push(`>= ${rule.min}`);
  }
  if (rule.greaterThan !== undefined) {
    parts.push(`> ${rule.greaterThan}`);
  }
  if (rule.lessThan !== undefined) {
    parts.push(`< ${rule.lessThan}`);
  }
  return parts.length === 0 ? 'any finite number' : parts.join(', ');
}
