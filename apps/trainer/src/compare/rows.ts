import type { Registry } from '@guilomo/core';
import { ConfigError, formatValue } from '@guilomo/core';

/** One method (row) of a comparison: an allocation policy with its parameters. */
export interface CompareRow {
  /** Name shown in the tables. */
  readonly label: string;
  /** Folder name of the row's cells, unique within the comparison. */
  readonly slug: string;
  /** Allocation policy name, without the `allocation:` prefix. */
  readonly policy: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** Whether `compare.matchBudget` may re-fit the row with the budgeted policy. */
  readonly match: boolean;
}

/**
 * Relation of a row's trainable-parameter count to the budget: `own` (its policy's own count,
 * no matching requested or the row opts out), `matched` (re-fitted with the budgeted policy) or
 * `reference` (the row is the budget's reference allocation itself).
 */
export type BudgetStatus = 'own' | 'matched' | 'reference';

/** A row with the policy that its cells actually run. */
export interface PlannedRow extends CompareRow {
  readonly budget: BudgetStatus;
  readonly effectivePolicy: string;
  readonly effectiveParams: Readonly<Record<string, unknown>>;
}

/** A policy reference as the budgeted policy reads it. */
export interface PolicyRef {
  readonly policy: string;
  readonly params: Readonly<Record<string, unknown>>;
}

type RowPreset = Omit<CompareRow, 'slug'>;

/**
 * The rows of GuiLoMo's main table. Plain LoRA is one rank-8 expert with top-1 routing, which
 * the trainer builds as a LoRA without router, so it never takes part in budget matching.
 */
export const ROW_PRESETS: Readonly<Record<string, RowPreset>> = {
  lora: {
    label: 'LoRA',
    policy: 'uniform',
    params: { experts: 1, rank: 8, topK: 1 },
    match: false,
  },
  'moe-lora': {
    label: 'MoE-LoRA 8×8',
    policy: 'uniform',
    params: { experts: 8, rank: 8 },
    match: true,
  },
  'mola-5555': { label: 'MoLA 5555', policy: 'mola', params: { shape: '5555' }, match: true },
  'mola-2468': { label: 'MoLA 2468', policy: 'mola', params: { shape: '2468' }, match: true },
  'mola-8642': { label: 'MoLA 8642', policy: 'mola', params: { shape: '8642' }, match: true },
  'mola-8228': { label: 'MoLA 8228', policy: 'mola', params: { shape: '8228' }, match: true },
  alphalora: { label: 'AlphaLoRA', policy: 'alphalora', params: {}, match: true },
  guilomo: { label: 'GuiLoMo', policy: 'guilomo', params: {}, match: true },
};

const FIELD = 'compare.rows';
const ROW_KEYS = ['label', 'policy', 'params', 'match'];

/**
 * Parses `compare.rows`. An entry is a preset name (see {@link ROW_PRESETS}), an allocation
 * policy name, `policy:{json params}`, or an object `{ label?, policy, params?, match? }`. Each
 * policy must be registered and accept its parameters, and labels and folder names must be
 * unique. Otherwise it throws a ConfigError naming the entry.
 */
export function parseCompareRows(entries: readonly unknown[], registry: Registry): CompareRow[] {
  if (entries.length === 0) {
    throw new ConfigError(
      FIELD,
      `is empty. List at least one row, for example ${Object.keys(ROW_PRESETS).join(',')}.`,
    );
  }
  const rows = entries.map((entry, index) => parseRow(entry, index));
  const labels = new Map<string, number>();
  const slugs = new Map<string, number>();
  rows.forEach((row, index) => {
    checkPolicy(row, index, registry);
    const sameLabel = labels.get(row.label);
    if (sameLabel !== undefined) {
      throw new ConfigError(
        FIELD,
        `entries ${sameLabel} and ${index} have the same label ${formatValue(row.label)}. Give each row its own label.`,
      );
    }
    const sameSlug = slugs.get(row.slug);
    if (sameSlug !== undefined) {
      throw new ConfigError(
        FIELD,
        `entries ${sameSlug} and ${index} map to the same folder name ${formatValue(row.slug)}. Give one of them a label that differs in letters or digits.`,
      );
    }
    labels.set(row.label, index);
    slugs.set(row.slug, index);
  });
  return rows;
}

function parseRow(entry: unknown, index: number): CompareRow {
  if (typeof entry === 'string') {
    return parseRowText(entry.trim(), index);
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new ConfigError(
      `${FIELD}[${index}]`,
      `must be a preset name, a policy name or an object { label, policy, params, match }, received ${formatValue(entry)}.`,
    );
  }
  const record = entry as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!ROW_KEYS.includes(key)) {
      throw new ConfigError(
        `${FIELD}[${index}].${key}`,
        `is not a row field. Valid fields: ${ROW_KEYS.join(', ')}.`,
      );
    }
  }
  const policy = readPolicyName(record.policy, `${FIELD}[${index}].policy`);
  const params = readParams(record.params, `${FIELD}[${index}].params`);
  const label = record.label === undefined ? defaultLabel(policy, params) : record.label;
  if (typeof label !== 'string' || label.trim() === '') {
    throw new ConfigError(
      `${FIELD}[${index}].label`,
      `must be a non-empty string, received ${formatValue(label)}.`,
    );
  }
  const match = record.match ?? true;
  if (typeof match !== 'boolean') {
    throw new ConfigError(
      `${FIELD}[${index}].match`,
      `must be true or false, received ${formatValue(match)}.`,
    );
  }
  return { label: label.trim(), slug: slugOf(label, index), policy, params, match };
}

function parseRowText(text: string, index: number): CompareRow {
  const preset = ROW_PRESETS[text];
  if (preset !== undefined) {
    return { ...preset, slug: text };
  }
  const separator = text.indexOf(':{');
  const name = separator < 0 ? text : text.slice(0, separator);
  const policy = readPolicyName(name, `${FIELD}[${index}]`);
  let params: Readonly<Record<string, unknown>> = {};
  if (separator >= 0) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.slice(separator + 1));
    } catch (error) {
      throw new ConfigError(
        `${FIELD}[${index}]`,
        `has invalid JSON parameters in ${formatValue(text)}: ${(error as Error).message}.`,
      );
    }
    params = readParams(parsed, `${FIELD}[${index}]`);
  }
  return { label: text, slug: slugOf(text, index), policy, params, match: true };
}

function readPolicyName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(
      field,
      `must be an allocation policy name or a row preset (${Object.keys(ROW_PRESETS).join(', ')}), received ${formatValue(value)}.`,
    );
  }
  const name = value.trim();
  return name.startsWith('allocation:') ? name.slice('allocation:'.length) : name;
}

function readParams(value: unknown, field: string): Readonly<Record<string, unknown>> {
  if (value === undefined) {
    return {};
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(
      field,
      `must be an object of policy parameters, received ${formatValue(value)}.`,
    );
  }
  return value as Readonly<Record<string, unknown>>;
}

/** Checks that the policy is registered and accepts the parameters, before any cell runs. */
function checkPolicy(row: CompareRow, index: number, registry: Registry): void {
  if (!registry.has('allocation', row.policy)) {
    const known = registry.list('allocation').join(', ');
    throw new ConfigError(
      `${FIELD}[${index}]`,
      `names the allocation policy ${formatValue(row.policy)}, which is not registered. Registered policies: ${known}. Row presets: ${Object.keys(ROW_PRESETS).join(', ')}.`,
    );
  }
  registry.get('allocation', row.policy).create(row.params);
}

function defaultLabel(policy: string, params: Readonly<Record<string, unknown>>): string {
  return Object.keys(params).length === 0 ? policy : `${policy} ${JSON.stringify(params)}`;
}

/** Folder name of a label: lower-case letters and digits joined by `-`. */
export function slugOf(label: string, index: number): string {
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug === '' ? `row-${index}` : slug;
}

/** Checks `compare.budgetOf`: a registered policy with optional parameters. */
export function readBudgetReference(
  value: Readonly<Record<string, unknown>>,
  registry: Registry,
): PolicyRef {
  const field = 'compare.budgetOf';
  for (const key of Object.keys(value)) {
    if (key !== 'policy' && key !== 'params') {
      throw new ConfigError(
        `${field}.${key}`,
        "is not a policy spec field. A spec is { policy, params }, such as { policy: 'mola', params: { shape: '2468' } }.",
      );
    }
  }
  const policy = readPolicyName(value.policy, `${field}.policy`);
  const params = readParams(value.params, `${field}.params`);
  if (!registry.has('allocation', policy)) {
    throw new ConfigError(
      `${field}.policy`,
      `names ${formatValue(policy)}, which is not registered. Registered policies: ${registry.list('allocation').join(', ')}.`,
    );
  }
  registry.get('allocation', policy).create(params);
  return { policy, params };
}

/**
 * Decides what each row runs. Without matching, every row runs its own policy. With matching,
 * the row equal to the reference stays as it is. Rows that opt out (`match: false`, or a policy
 * that is already `budgeted`) keep their own count. All other rows become `budgeted`, with the
 * reference as `budgetOf` and the row's policy as `base`.
 */
export function planRows(
  rows: readonly CompareRow[],
  matchBudget: boolean,
  reference: PolicyRef,
): PlannedRow[] {
  return rows.map((row): PlannedRow => {
    const own: PlannedRow = {
      ...row,
      budget: 'own',
      effectivePolicy: row.policy,
      effectiveParams: row.params,
    };
    if (!matchBudget) {
      return own;
    }
    if (
      row.policy === reference.policy &&
      canonicalJson(row.params) === canonicalJson(reference.params)
    ) {
      return { ...own, budget: 'reference' };
    }
    if (!row.match || row.policy === 'budgeted') {
      return own;
    }
    return {
      ...row,
      budget: 'matched',
      effectivePolicy: 'budgeted',
      effectiveParams: {
        budgetOf: { policy: reference.policy, params: reference.params },
        base: { policy: row.policy, params: row.params },
      },
    };
  });
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => [key, sortKeys(record[key])]),
    );
  }
  return value;
}
