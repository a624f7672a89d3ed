import type { Command } from 'commander';
import { Option } from 'commander';
import type { ConfigPath, FieldSpec } from './config/fields.js';
import { CONFIG_FIELDS } from './config/fields.js';

/** Sections whose fields each command accepts. */
export const COMMAND_SECTIONS: Readonly<Record<string, readonly string[]>> = {
  search: ['run', 'model', 'data', 'adapter', 'search'],
  allocate: ['run', 'model', 'adapter', 'allocation'],
  train: ['run', 'model', 'data', 'adapter', 'train'],
  eval: ['run', 'model', 'data', 'adapter', 'eval'],
  run: ['run', 'model', 'data', 'adapter', 'search', 'allocation', 'train', 'eval'],
  compare: ['run', 'model', 'data', 'adapter', 'search', 'train', 'eval', 'compare'],
  bench: ['run', 'bench'],
};

/** Converts a config path such as `search.innerLr` to its flag, `--search-inner-lr`. */
export function flagOf(path: ConfigPath): string {
  return `--${path.replace('.', '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Converts a config path to the attribute name commander stores its flag under. */
function attributeOf(path: ConfigPath): string {
  return flagOf(path)
    .slice(2)
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Adds one option per config field of the command's sections, with unit and default in the help. */
export function addConfigOptions(command: Command, sections: readonly string[]): Command {
  for (const [path, spec] of Object.entries(CONFIG_FIELDS) as [ConfigPath, FieldSpec][]) {
    if (!sections.includes(path.split('.')[0] as string)) {
      continue;
    }
    const placeholder = placeholderOf(spec);
    const defaultText = defaultTextOf(spec);
    // The unit is already the placeholder (`<steps>`); help texts that end in a bracket keep it there.
    const unit = 'unit' in spec && spec.unit !== undefined && spec.unit !== 'path' && !spec.help.endsWith(')') ? ` (${spec.unit})` : '';
    command.addOption(new Option(`${flagOf(path)} ${placeholder}`, `${spec.help}${unit}. Default: ${defaultText === '' ? '(empty)' : defaultText}`));
  }
  return command;
}

/** Collects the config values given as flags, keyed by config path, as raw strings. */
export function readConfigFlags(options: Record<string, unknown>): Partial<Record<ConfigPath, unknown>> {
  const out: Partial<Record<ConfigPath, unknown>> = {};
  for (const path of Object.keys(CONFIG_FIELDS) as ConfigPath[]) {
    const value = options[attributeOf(path)];
    if (value !== undefined) {
      out[path] = value;
    }
  }
  return out;
}

/** Returns the value placeholder shown after a flag, such as `<steps>` or `<wasm|cpu>`. */
function placeholderOf(spec: FieldSpec): string {
  switch (spec.type) {
    case 'bool':
      return '<true|false>';
    case 'enum':
      return `<${spec.values.join('|')}>`;
    case 'jsonList':
      return '<names|json>';
    default:
      return `<${'unit' in spec && spec.unit !== undefined ? spec.unit : spec.type}>`;
  }
}

/** Returns a field's default as the help text shows it. */
function defaultTextOf(spec: FieldSpec): string {
  switch (spec.type) {
    case 'list':
      return spec.default.join(',');
    case 'json':
    case 'jsonList':
      return JSON.stringify(spec.default);
    default:
      return String(spec.default);
  }
}
