import type { Allocation, ModuleAllocation, ModuleInfo } from '@guilomo/core';
import { FormatError, formatValue } from '@guilomo/core';
import { countParameters } from './parameter-count.js';

/** Value of the `format` field of an allocation.json file. */
export const ALLOCATION_JSON_FORMAT = 'guilomo-allocation';
/** Version of the allocation.json layout written by {@link toAllocationJson}. */
export const ALLOCATION_JSON_VERSION = 1;

/** One module of an allocation.json file. `experts` equals `ranks.length`. */
export interface AllocationJsonModule {
  readonly path: string;
  readonly experts: number;
  readonly ranks: readonly number[];
  readonly topK: number;
}

/** Totals stored in an allocation.json file for readers that do not recompute them. */
export interface AllocationJsonTotals {
  readonly modules: number;
  readonly experts: number;
  /** Sum of all expert ranks. */
  readonly rank: number;
  /** Trainable parameters; present when the writer had the module dimensions. */
  readonly parameters?: number;
}

/** Content of an allocation.json file. */
export interface AllocationJson {
  readonly format: typeof ALLOCATION_JSON_FORMAT;
  readonly version: typeof ALLOCATION_JSON_VERSION;
  /** Id of the policy that produced the allocation, such as `allocation:guilomo`. */
  readonly policy?: string;
  readonly totals: AllocationJsonTotals;
  readonly modules: readonly AllocationJsonModule[];
}

/** Options of {@link toAllocationJson}. */
export interface AllocationJsonOptions {
  /** Module dimensions; when given, `totals.parameters` is written. */
  readonly modules?: readonly ModuleInfo[];
  /** Policy id to record. */
  readonly policy?: string;
}

/**
 * Converts an allocation to the allocation.json layout: the modules in order with their expert
 * count, ranks and top-k, plus totals. Serialise it with `JSON.stringify(json, null, 2)`.
 */
export function toAllocationJson(
  allocation: Allocation,
  options: AllocationJsonOptions = {},
): AllocationJson {
  const modules = allocation.modules.map((entry) => ({
    path: entry.path,
    experts: entry.ranks.length,
    ranks: [...entry.ranks],
    topK: entry.topK,
  }));
  const totals: AllocationJsonTotals = {
    modules: modules.length,
    experts: modules.reduce((sum, entry) => sum + entry.experts, 0),
    rank: modules.reduce((sum, entry) => sum + entry.ranks.reduce((a, b) => a + b, 0), 0),
    ...(options.modules === undefined
      ? {}
      : { parameters: countParameters(allocation, options.modules) }),
  };
  return {
    format: ALLOCATION_JSON_FORMAT,
    version: ALLOCATION_JSON_VERSION,
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    totals,
    modules,
  };
}

/**
 * Reads an allocation.json file, given as text or as the parsed value. Checks the format and
 * version, every module's fields, duplicate paths, and that `totals.modules`, `totals.experts`
 * and `totals.rank` match the modules. Throws a {@link FormatError} naming `source` and the
 * place of the first problem.
 */
export function fromAllocationJson(input: unknown, source = 'allocation.json'): Allocation {
  const json = typeof input === 'string' ? parseJson(input, source) : input;
  if (!isRecord(json)) {
    throw new FormatError(`${source}: expected a JSON object, received ${formatValue(json)}.`);
  }
  if (json.format !== ALLOCATION_JSON_FORMAT || json.version !== ALLOCATION_JSON_VERSION) {
    throw new FormatError(
      `${source}: expected format ${formatValue(ALLOCATION_JSON_FORMAT)} version ${ALLOCATION_JSON_VERSION}, received format ${formatValue(json.format)} version ${formatValue(json.version)}.`,
    );
  }
  if (!Array.isArray(json.modules)) {
    throw new FormatError(
      `${source}: modules must be an array, received ${formatValue(json.modules)}.`,
    );
  }
  const seen = new Set<string>();
  const modules = json.modules.map((value: unknown, i: number): ModuleAllocation => {
    const entry = readModule(value, `${source}: modules[${i}]`);
    if (seen.has(entry.path)) {
      throw new FormatError(`${source}: modules[${i}] repeats path ${formatValue(entry.path)}.`);
    }
    seen.add(entry.path);
    return entry;
  });
  checkTotals(json.totals, modules, source);
  return { modules };
}

function readModule(value: unknown, where: string): ModuleAllocation {
  if (!isRecord(value)) {
    throw new FormatError(`${where}: expected an object, received ${formatValue(value)}.`);
  }
  const { path, experts, ranks, topK } = value;
  if (typeof path !== 'string' || path.length === 0) {
    throw new FormatError(`${where}.path: expected a module path, received ${formatValue(path)}.`);
  }
  if (!Array.isArray(ranks) || ranks.length === 0) {
    throw new FormatError(
      `${where}.ranks: expected a non-empty array, received ${formatValue(ranks)}.`,
    );
  }
  const checked = ranks.map((rank: unknown, e: number) =>
    readPositiveInteger(rank, `${where}.ranks[${e}]`),
  );
  if (experts !== checked.length) {
    throw new FormatError(
      `${where}.experts is ${formatValue(experts)}, but ranks lists ${checked.length} experts for ${formatValue(path)}.`,
    );
  }
  return { path, ranks: checked, topK: readPositiveInteger(topK, `${where}.topK`) };
}

function checkTotals(totals: unknown, modules: readonly ModuleAllocation[], source: string): void {
  if (totals === undefined) {
    return;
  }
  if (!isRecord(totals)) {
    throw new FormatError(`${source}: totals must be an object, received ${formatValue(totals)}.`);
  }
  const actual: Record<string, number> = {
    modules: modules.length,
    experts: modules.reduce((sum, entry) => sum + entry.ranks.length, 0),
    rank: modules.reduce((sum, entry) => sum + entry.ranks.reduce((a, b) => a + b, 0), 0),
  };
  for (const [key, value] of Object.entries(actual)) {
    if (totals[key] !== undefined && totals[key] !== value) {
      throw new FormatError(
        `${source}: totals.${key} is ${formatValue(totals[key])}, but the modules give ${value}.`,
      );
    }
  }
}

function readPositiveInteger(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new FormatError(
      `${where}: expected an integer of at least 1, received ${formatValue(value)}.`,
    );
  }
  return value;
}

/** Parses JSON text, throwing a {@link FormatError} that names `source`. */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new FormatError(`${source}: invalid JSON (${reason}).`);
  }
}

/** Returns whether `value` is a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
