import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_SECTIONS, flagOf } from '../src/cli-options.js';
import type { ConfigPath, FieldSpec } from '../src/config/fields.js';
import { CONFIG_FIELDS } from '../src/index.js';
import type { CliResult } from './helpers.js';
import {
  buildCliIfStale,
  makeTempDir,
  readJsonLines,
  removeTempDir,
  runCli,
  TINY_FLAGS,
} from './helpers.js';

const COMMON_FLAGS = ['--config <path>', '--resume', '--quiet', '--json', '--verbose', '--help'];

/** Formats a field's default the way `--help` prints it after "Default: ". */
function defaultText(spec: FieldSpec): string {
  const value = spec.default;
  const text =
    spec.type === 'list'
      ? (value as readonly string[]).join(',')
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  return text === '' ? '(empty)' : text;
}

/**
 * Splits a command's help into one entry per option, keyed by its flags and placeholder (for
 * example `--search-steps <steps>`), with wrapped description lines joined.
 */
function optionEntries(help: string): Map<string, string> {
  const blocks: string[][] = [];
  const optionsPart = help.split(/^Options:$/m)[1] ?? '';
  for (const line of optionsPart.split('\n')) {
    if (/^ {2}-/.test(line)) {
      blocks.push([line.trim()]);
    } else if (line.trim() !== '') {
      blocks.at(-1)?.push(line.trim());
    }
  }
  const entries = new Map<string, string>();
  for (const block of blocks) {
    // Commander pads the flags column with at least two spaces before the description.
    const head = (block[0] as string).split(/ {2,}/)[0] as string;
    entries.set(head, block.join(' ').replace(/\s+/g, ' '));
  }
  return entries;
}

/** Parses the stdout lines of a `--json` run. A line that is not JSON fails the test with its text. */
function jsonLines(result: CliResult): Record<string, unknown>[] {
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`stdout line is not JSON: ${line}`);
      }
    });
}

function commandNames(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)]
    .map((match) => match[1] as string)
    .filter((name) => name !== 'help');
}

describe('guilomo CLI', () => {
  let dir: string;

  beforeAll(() => {
    buildCliIfStale();
    dir = makeTempDir('cli');
  }, 180_000);

  afterAll(() => {
    removeTempDir(dir);
  });

  describe('--help', () => {
    const top = () => runCli(['--help']);

    it('lists the pipeline commands', () => {
      const result = top();
      expect(result.status).toBe(0);
      expect(commandNames(result.stdout)).toEqual(
        expect.arrayContaining(['search', 'allocate', 'train', 'eval', 'run']),
      );
    });

    it('lists every option of every command with its default', () => {
      const names = commandNames(top().stdout);
      for (const name of names) {
        const result = runCli([name, '--help']);
        expect(result.status, `${name} --help`).toBe(0);
        const entries = optionEntries(result.stdout);
        const heads = [...entries.keys()].join('\n');
        for (const flag of COMMON_FLAGS) {
          expect(heads, `${name}: ${flag}`).toContain(flag);
        }
        const sections = COMMAND_SECTIONS[name] ?? [];
        const paths = (Object.keys(CONFIG_FIELDS) as ConfigPath[]).filter((path) =>
          sections.includes(path.split('.')[0] as string),
        );
        expect(paths.length, `${name} has config options`).toBeGreaterThan(0);
        for (const path of paths) {
          const spec: FieldSpec = CONFIG_FIELDS[path];
          const flag = flagOf(path);
          const entry = [...entries].find(([head]) => head.startsWith(`${flag} <`))?.[1];
          expect(entry, `${name} --help lists ${flag}`).toBeDefined();
          expect(entry, `${name} ${flag}`).toContain(`Default: ${defaultText(spec)}`);
        }
      }
    }, 60_000);
  });

  describe('errors', () => {
    it('rejects a flag value that is no number', () => {
      const result = runCli(['search', '--search-steps', 'abc', '--run-out', join(dir, 'abc')]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(
        'error: ConfigError: `search.steps`: must be a number, received "abc".',
      );
      expect(result.stdout).toBe('');
    });

    it('rejects an unknown config section', () => {
      const path = join(dir, 'typo.yaml');
      writeFileSync(path, 'serach:\n  steps: 2\n');
      const result = runCli(['run', '--config', path, '--run-out', join(dir, 'typo')]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(
        '`serach`: is not a config section. Valid sections: run, model, data, adapter, search',
      );
    });

    it('rejects an unknown router early', () => {
      const result = runCli([
        'run',
        ...TINY_FLAGS,
        '--adapter-router',
        'top-q',
        '--run-out',
        join(dir, 'router'),
      ]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(
        '`adapter.router`: no router plugin is registered as "top-q". Registered: expert-choice, soft, switch, top-k, top-p.',
      );
      expect(result.stdout).not.toContain('loaded llama2.c model');
    });

    it('suggests the closest flag for a typo', () => {
      const result = runCli(['run', '--serch-steps', '2']);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("error: unknown option '--serch-steps'");
      expect(result.stderr).toContain('--search-steps');
    });

    it('rejects --quiet with --json', () => {
      const result = runCli(['eval', '--quiet', '--json']);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/option '-q, --quiet' cannot be used with option '--json'/);
    });
  });

  describe('--json with a stop and a resume', () => {
    let stopped: CliResult;
    let finished: CliResult;
    let out: string;

    beforeAll(() => {
      out = join(dir, 'json-run');
      const flags = [
        ...TINY_FLAGS,
        '--adapter-targets',
        'q',
        '--data-eval-limit',
        '2',
        '--run-out',
        out,
        '--json',
      ];
      stopped = runCli(['run', ...flags, '--run-stop-after', '1'], 90_000);
      finished = runCli(['run', ...flags, '--resume'], 90_000);
    }, 180_000);

    it('writes only JSON lines to stdout', () => {
      for (const result of [stopped, finished]) {
        const lines = jsonLines(result);
        expect(lines.length).toBeGreaterThan(3);
        for (const line of lines) {
          expect(['log', 'progress', 'result']).toContain(line.type);
        }
        expect(result.stderr).toBe('');
      }
    });

    it('ends a stopped run with a result line', () => {
      expect(stopped.status).toBe(0);
      const lines = jsonLines(stopped);
      expect(lines.at(-1)).toEqual({
        type: 'result',
        label: 'run',
        stopped: 'search',
        step: 1,
        total: 2,
      });
      expect(lines).toContainEqual(
        expect.objectContaining({
          type: 'log',
          level: 'warn',
          message: expect.stringContaining('Continue with --resume'),
        }),
      );
    });

    it('ends a finished run with its results', () => {
      expect(finished.status).toBe(0);
      const lines = jsonLines(finished);
      const last = lines.at(-1);
      expect(last).toMatchObject({
        type: 'result',
        label: 'run',
        task: 'openbookqa',
        total: 2,
        runFolder: out,
      });
      expect(typeof last?.accuracy).toBe('number');
      expect(lines.filter((line) => line.type === 'result')).toHaveLength(1);
      expect(lines).toContainEqual(
        expect.objectContaining({ type: 'log', message: 'Resuming the search at step 1 of 2.' }),
      );
      expect(lines).toContainEqual(
        expect.objectContaining({ type: 'progress', phase: 'train', step: 2, total: 2 }),
      );
      expect(readJsonLines(join(out, 'search-log.jsonl')).map((record) => record.step)).toEqual([
        1, 2,
      ]);
    });
  });
});
