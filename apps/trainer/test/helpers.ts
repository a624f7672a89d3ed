import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogRecord, ProgressEvent } from '@guilomo/core';
import { createLogger, readSafetensorsFile } from '@guilomo/core';
import type { ConfigPath } from '../src/config/fields.js';
import type { ResolvedConfig } from '../src/index.js';
import { openSession, resolveConfig } from '../src/index.js';
import type { Session } from '../src/session.js';

/** Root of the trainer app (apps/trainer). */
export const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Benchmark files of the tasks other than the bundled OpenBookQA subset, next to the repository. */
export const sharedDataDir = resolve(appRoot, '../../../shared/data');

/** Compiled CLI entry point. */
export const cliPath = join(appRoot, 'dist', 'cli.js');

/**
 * Settings that keep a real run on the bundled BabyLlama and OpenBookQA subset to a few
 * seconds: wasm backend, short sequences, a handful of examples and steps. The OpenBLAS
 * kernels stay off so that the tests do not depend on a native build.
 */
export function tinyConfig(
  out: string,
  overrides: Partial<Record<ConfigPath, unknown>> = {},
): ResolvedConfig {
  return resolveConfig(
    {},
    {
      'run.out': out,
      'run.backend': 'wasm',
      'run.openblas': false,
      'data.trainLimit': 16,
      'data.evalLimit': 4,
      'data.maxLength': 96,
      'search.steps': 2,
      'search.batchSize': 2,
      'train.steps': 2,
      'train.batchSize': 2,
      ...overrides,
    },
  );
}

/** The same tiny settings as command-line flags, for the spawned CLI. */
export const TINY_FLAGS: readonly string[] = [
  '--run-backend',
  'wasm',
  '--run-openblas',
  'false',
  '--data-train-limit',
  '16',
  '--data-eval-limit',
  '4',
  '--data-max-length',
  '96',
  '--search-steps',
  '2',
  '--search-batch-size',
  '2',
  '--train-steps',
  '2',
  '--train-batch-size',
  '2',
];

/** Log records and progress events collected from a session. */
export interface Captured {
  readonly records: LogRecord[];
  readonly events: ProgressEvent[];
}

/** Opens a session whose logger and progress callback collect into arrays. */
export async function openCapturedSession(
  config: ResolvedConfig,
  options: { resume?: boolean; withoutData?: boolean } = {},
): Promise<{ session: Session } & Captured> {
  const records: LogRecord[] = [];
  const events: ProgressEvent[] = [];
  const logger = createLogger({ level: 'debug', sink: (record) => records.push(record) });
  const session = await openSession({
    config,
    logger,
    progress: (event) => events.push(event),
    resume: options.resume === true,
    ...(options.withoutData === true ? { withoutData: true } : {}),
  });
  return { session, records, events };
}

/** Creates a fresh temporary folder. Remove it with {@link removeTempDir}. */
export function makeTempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `guilomo-trainer-${label}-`));
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function readJson<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function readJsonLines(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Reads every tensor of a safetensors file as shape plus float32 values. */
export async function readTensors(
  path: string,
): Promise<Map<string, { shape: readonly number[]; data: Float32Array }>> {
  const { tensors } = await readSafetensorsFile(path);
  const out = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, tensor] of Object.entries(tensors)) {
    if (!(tensor.data instanceof Float32Array)) {
      throw new Error(`${path}: tensor ${name} is not float32.`);
    }
    out.set(name, { shape: tensor.shape, data: tensor.data });
  }
  return out;
}

/** Result of a spawned CLI command. */
export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the compiled CLI with `args` from the app folder, with a time limit. */
export function runCli(args: readonly string[], timeoutMs = 60_000): CliResult {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: appRoot,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  if (result.error !== undefined) {
    throw result.error;
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Compiles the CLI into dist/ unless dist/cli.js is newer than every source file. Tests run
 * from the sources, but the CLI tests spawn the compiled entry point. Call it from one test
 * file only, because test files run in parallel and two builds would write the same files.
 */
export function buildCliIfStale(): void {
  if (isBuildCurrent()) {
    return;
  }
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: appRoot,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (result.status !== 0) {
    throw new Error(
      `Building the CLI failed (exit ${result.status}):\n${result.stdout}${result.stderr}`,
    );
  }
}

function isBuildCurrent(): boolean {
  let built: number;
  try {
    built = statSync(cliPath).mtimeMs;
  } catch {
    return false;
  }
  return newestMtime(join(appRoot, 'src')) <= built;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}
