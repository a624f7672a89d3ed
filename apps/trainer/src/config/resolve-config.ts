import { readFileSync } from 'node:fs';
import { ConfigError, formatValue } from '@guilomo/core';
import { parse as parseYaml } from 'yaml';
import type { ConfigPath, FieldSpec } from './fields.js';
import { CONFIG_FIELDS, TASK_NAMES } from './fields.js';
import type { ResolvedConfig } from './types.js';

type FlatConfig = Record<ConfigPath, unknown>;

/**
 * Reads a JSON or YAML config file into a nested object. Errors name the file and the parser's
 * message.
 */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('--config', `cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError('--config', `${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
  if (parsed == null) {
    return {};
  }
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('--config', `${path} must contain a mapping of sections (run, data, search, ...), received ${formatValue(parsed)}.`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Resolves the full configuration: defaults, then the config file's values, then command-line
 * values (strings, parsed per field type). Every value is validated before any work starts, and
 * unknown keys are errors that list the valid keys of their section.
 */
export function resolveConfig(
  fileConfig: Record<string, unknown> = {},
  overrides: Partial<Record<ConfigPath, unknown>> = {},
): ResolvedConfig {
  const flat = {} as FlatConfig;
  for (const [path, spec] of Object.entries(CONFIG_FIELDS) as [ConfigPath, FieldSpec][]) {
    flat[path] = spec.default;
  }
  for (const [path, value] of flattenFileConfig(fileConfig)) {
    flat[path] = checkValue(path, value, false);
  }
  for (const [path, value] of Object.entries(overrides) as [ConfigPath, unknown][]) {
    if (!(path in CONFIG_FIELDS)) {
      const section = path.split('.')[0] ?? '';
      const valid = Object.keys(CONFIG_FIELDS).filter((p) => p.startsWith(`${section}.`));
      const hint = valid.length > 0 ? `Valid fields of \`${section}\`: ${valid.join(', ')}.` : `Valid fields: ${Object.keys(CONFIG_FIELDS).join(', ')}.`;
      throw new ConfigError(path, `is not a known field. ${hint}`);
    }
    if (value !== undefined) {
      flat[path] = checkValue(path, value, typeof value === 'string');
    }
  }
  checkCombinations(flat);
  return Object.freeze(nest(flat)) as unknown as ResolvedConfig;
}

function flattenFileConfig(fileConfig: Record<string, unknown>): [ConfigPath, unknown][] {
  const sections = new Set(Object.keys(CONFIG_FIELDS).map((path) => path.split('.')[0]));
  const entries: [ConfigPath, unknown][] = [];
  for (const [section, body] of Object.entries(fileConfig)) {
    if (!sections.has(section)) {
      throw new ConfigError(section, `is not a config section. Valid sections: ${[...sections].join(', ')}.`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ConfigError(section, `must be a mapping of fields, received ${formatValue(body)}.`);
    }
    for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
      const path = `${section}.${key}`;
      if (!(path in CONFIG_FIELDS)) {
        const valid = Object.keys(CONFIG_FIELDS).filter((p) => p.startsWith(`${section}.`)).map((p) => p.slice(section.length + 1));
        throw new ConfigError(path, `is not a known field. Valid fields of \`${section}\`: ${valid.join(', ')}.`);
      }
      entries.push([path as ConfigPath, value]);
    }
  }
  return entries;
}

/** Validates one value against its field spec; `fromText` parses command-line strings first. */
export function checkValue(path: ConfigPath, raw: unknown, fromText: boolean): unknown {
  const spec: FieldSpec = CONFIG_FIELDS[path];
  switch (spec.type) {
    case 'int':
    case 'number': {
      const value = fromText ? Number(raw) : raw;
      if (typeof value !== 'number' || !Number.isFinite(value) || (fromText && String(raw).trim() === '')) {
        throw new ConfigError(path, `must be a number, received ${formatValue(raw)}.`);
      }
      if (spec.type === 'int' && !Number.isInteger(value)) {
        throw new ConfigError(path, `must be an integer, received ${formatValue(raw)}.`);
      }
      const exclusiveMin = spec.type === 'number' && spec.exclusiveMin === true;
      if (spec.min !== undefined && (exclusiveMin ? value <= spec.min : value < spec.min)) {
        throw new ConfigError(path, `must be ${exclusiveMin ? '>' : '>='} ${spec.min}, received ${formatValue(raw)}.`);
      }
      if (spec.max !== undefined && value > spec.max) {
        throw new ConfigError(path, `must be <= ${spec.max}, received ${formatValue(raw)}.`);
      }
      return value;
    }
    case 'enum': {
      if (typeof raw !== 'string' || !spec.values.includes(raw)) {
        throw new ConfigError(path, `must be one of ${spec.values.join(', ')}; received ${formatValue(raw)}.`);
      }
      return raw;
    }
    case 'string': {
      if (typeof raw !== 'string') {
        throw new ConfigError(path, `must be a string, received ${formatValue(raw)}.`);
      }
      return raw;
    }
    case 'bool': {
      if (typeof raw === 'boolean') {
        return raw;
      }
      if (fromText && (raw === 'true' || raw === 'false')) {
        return raw === 'true';
      }
      throw new ConfigError(path, `must be true or false, received ${formatValue(raw)}.`);
    }
    case 'list': {
      const list = fromText && typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '') : raw;
      if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
        throw new ConfigError(path, `must be a list of strings (comma-separated on the command line), received ${formatValue(raw)}.`);
      }
      return list;
    }
    case 'json': {
      let value = raw;
      if (fromText && typeof raw === 'string') {
        try {
          value = JSON.parse(raw);
        } catch (error) {
          throw new ConfigError(path, `must be a JSON object, received ${formatValue(raw)} (${(error as Error).message}).`);
        }
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new ConfigError(path, `must be an object, received ${formatValue(raw)}.`);
      }
      return value;
    }
    case 'jsonList': {
      let value = raw;
      if (fromText && typeof raw === 'string') {
        const text = raw.trim();
        if (text.startsWith('[')) {
          try {
            value = JSON.parse(text);
          } catch (error) {
            throw new ConfigError(path, `must be a JSON array or comma-separated names, received ${formatValue(raw)} (${(error as Error).message}).`);
          }
        } else {
          value = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
        }
      }
      if (!Array.isArray(value)) {
        throw new ConfigError(path, `must be a list (a JSON array, or comma-separated names on the command line), received ${formatValue(raw)}.`);
      }
      return value;
    }
  }
}

function checkCombinations(flat: FlatConfig): void {
  const compareTasks = flat['compare.tasks'] as string[];
  compareTasks.forEach((task, index) => {
    if (!(TASK_NAMES as readonly string[]).includes(task)) {
      throw new ConfigError('compare.tasks', `contains the unknown task ${formatValue(task)}. Valid tasks: ${TASK_NAMES.join(', ')}.`);
    }
    if (compareTasks.indexOf(task) !== index) {
      throw new ConfigError('compare.tasks', `lists ${task} more than once (${compareTasks.join(',')}). List each task once.`);
    }
  });
  const topK = flat['adapter.topK'] as number;
  const maxExperts = flat['adapter.maxExperts'] as number;
  if (topK > maxExperts) {
    throw new ConfigError('adapter.topK', `must be <= adapter.maxExperts (${maxExperts}), received ${topK}.`);
  }
  if (topK > 2 && flat['allocation.policy'] === 'guilomo') {
    throw new ConfigError(
      'adapter.topK',
      `must be <= 2 with the guilomo policy, whose expert mask always keeps at least 2 experts, received ${topK}.`,
    );
  }
}

function nest(flat: FlatConfig): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [path, value] of Object.entries(flat)) {
    const [section, key] = path.split('.') as [string, string];
    out[section] ??= {};
    (out[section] as Record<string, unknown>)[key] = value;
  }
  return out;
}
