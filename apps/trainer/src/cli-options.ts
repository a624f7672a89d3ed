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
    const placeholder = spec.type === 'bool' ? '<true|false>' : spec.type === 'enum' ? `<${spec.values.join('|')}>` : spec.type === 'jsonList' ? '<names|json>' : `<${'unit' in spec && spec.unit !== undefined ? spec.unit : spec.type}>`;
    const defaultText = spec.type === 'list' ? spec.default.join(',') : spec.type === 'json' || spec.type === 'jsonList' ? JSON.stringify(spec.default) : String(spec.default);
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
