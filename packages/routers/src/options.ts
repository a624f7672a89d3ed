import type { RouterOptions } from '@guilomo/core';
import { ConfigError, formatValue } from '@guilomo/core';

/**
 * Multiplier of a load-balance loss. `n` multiplies `Σ f_i · P̄_i` by the expert count, as
 * Switch Transformer, MoLA and GuiLoMo's stage 2 do. `none` leaves it unscaled, as GuiLoMo's
 * LLaMA-2 search code does.
 */
export type BalanceScale = 'n' | 'none';

const BALANCE_SCALES: readonly BalanceScale[] = ['n', 'none'];

/** Bounds of a numeric router parameter. */
interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  /** Rejects a value equal to `min`. */
  readonly minExclusive?: boolean;
  readonly integer?: boolean;
}

/**
 * Checks `numExperts` and returns `params`, rejecting keys that the router does not read so
 * that a misspelt option fails instead of being ignored.
 */
export function readRouterParams(
  options: RouterOptions,
  routerName: string,
  allowedKeys: readonly string[],
): Readonly<Record<string, unknown>> {
  const { numExperts } = options;
  if (!Number.isInteger(numExperts) || numExperts < 1) {
    throw new ConfigError(
      'numExperts',
      `must be a positive integer, received ${formatValue(numExperts)}.`,
    );
  }
  const params = options.params ?? {};
  for (const key of Object.keys(params)) {
    if (!allowedKeys.includes(key)) {
      const allowed = allowedKeys.length === 0 ? 'none' : allowedKeys.join(', ');
      throw new ConfigError(
        `params.${key}`,
        `is not an option of router \`${routerName}\`. Allowed params: ${allowed}.`,
      );
    }
  }
  return params;
}

/** Checks that `topK` is an integer in [1, numExperts] and returns it. */
export function readTopK(options: RouterOptions): number {
  const { topK, numExperts } = options;
  if (!Number.isInteger(topK) || topK < 1 || topK > numExperts) {
    throw new ConfigError(
      'topK',
      `must be an integer in [1, numExperts = ${numExperts}], received ${formatValue(topK)}.`,
    );
  }
  return topK;
}

/** Reads a numeric parameter, or returns `fallback` when it is absent. */
export function readNumberParam(
  params: Readonly<Record<string, unknown>>,
  key: string,
  fallback: number,
  rule: NumberRule,
): number {
  const value = params[key];
  if (value === undefined) {
    return fallback;
  }
  const low = rule.min ?? Number.NEGATIVE_INFINITY;
  const high = rule.max ?? Number.POSITIVE_INFINITY;
  const valid =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (rule.integer !== true || Number.isInteger(value)) &&
    (rule.minExclusive === true ? value > low : value >= low) &&
    value <= high;
  if (!valid) {
    throw new ConfigError(
      `params.${key}`,
      `must be ${describeRule(rule)}, received ${formatValue(value)}.`,
    );
  }
  return value;
}

/**
 * Reads the balance-loss scale: `params.balanceScale` when the user set it, else the caller's
 * `RouterOptions.balanceScale` (the trainer sets it per stage), else `n`.
 */
export function readBalanceScale(
  params: Readonly<Record<string, unknown>>,
  fromOptions?: BalanceScale,
): BalanceScale {
  const value = params.balanceScale;
  if (value === undefined) {
    return fromOptions ?? 'n';
  }
  const scale = BALANCE_SCALES.find((allowed) => allowed === value);
  if (scale === undefined) {
    throw new ConfigError(
      'params.balanceScale',
      `must be one of ${BALANCE_SCALES.map((s) => `'${s}'`).join(', ')}, received ${formatValue(value)}.`,
    );
  }
  return scale;
}

/** Returns the factor that `balanceScale` applies to `Σ f_i · P̄_i`. */
export function balanceFactor(scale: BalanceScale, numExperts: number): number {
  return scale === 'n' ? numExperts : 1;
}

function describeRule(rule: NumberRule): string {
  const kind = rule.integer === true ? 'an integer' : 'a finite number';
  const parts: string[] = [];
  if (rule.min !== undefined) {
    parts.push(`${rule.minExclusive === true ? '>' : '>='} ${rule.min}`);
  }
  if (rule.max !== undefined) {
    parts.push(`<= ${rule.max}`);
  }
  return parts.length === 0 ? kind : `${kind} ${parts.join(' and ')}`;
}
