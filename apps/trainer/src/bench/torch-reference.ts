import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, FormatError, GuiLoMoError } from '@guilomo/core';
import type { ResolvedConfig } from '../config/types.js';
import type { StepMode } from './steps.js';

/** The PyTorch reference benchmark: interpreter and script. */
export interface TorchReference {
  readonly python: string;
  readonly script: string;
}

/** Whether the reference can run, and why not when it cannot. */
export type TorchAvailability =
  | { readonly available: true; readonly reference: TorchReference }
  | { readonly available: false; readonly reason: string };

/** Median timing of the PyTorch reference, read from the last JSON line it prints. */
export interface TorchMeasurement {
  readonly mode: StepMode;
  readonly tokensPerSecond: number;
  readonly msPerStep: number;
  readonly msMin: number;
  readonly msMax: number;
  readonly peakRssMb: number;
  readonly threads: number;
  readonly torchVersion: string;
  /** Shared BLAS libraries that the process loaded, as the script reports them. */
  readonly blas: string;
  readonly lossFirst: number;
  readonly lossLast: number;
}

/** Arguments of one reference run. */
export interface TorchRunOptions {
  readonly mode: StepMode;
  readonly threads: number;
  readonly batch: number;
  readonly seq: number;
  readonly experts: number;
  readonly rank: number;
  readonly topK: number;
  readonly iters: number;
  readonly warmup: number;
  /** llama2.c checkpoint, so that both sides run the same model file. */
  readonly model: string;
  /** Global gradient-norm clip of the inner step (0 = off). */
  readonly clipNorm: number;
}

/** Returns the script path used when `bench.torchScript` is empty. */
export function defaultTorchScript(): string {
  // Five levels up from src/bench or dist/bench of apps/trainer is the folder that contains the
  // repository, and the reference material is in `shared/` beside the repository.
  return fileURLToPath(new URL('../../../../../shared/bench/torch_reference.py', import.meta.url));
}

/**
 * Checks that `bench.python` imports torch and that the script exists. With `bench.torch` =
 * `on`, a missing piece is a ConfigError, and with `auto` it is returned as the reason to skip.
 */
export function findTorchReference(config: ResolvedConfig): TorchAvailability {
  const { torch, python, torchScript } = config.bench;
  if (torch === 'off') {
    return { available: false, reason: 'bench.torch is off' };
  }
  const script = torchScript === '' ? defaultTorchScript() : torchScript;
  const unavailable = (
    field: 'bench.python' | 'bench.torchScript',
    reason: string,
  ): TorchAvailability => {
    if (torch === 'on') {
      throw new ConfigError(
        field,
        `${reason}. Set bench.torch to auto or off to benchmark without the PyTorch reference.`,
      );
    }
    return { available: false, reason };
  };
  if (!existsSync(script)) {
    return unavailable('bench.torchScript', `the reference script ${script} does not exist`);
  }
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120_000 });
  if (probe.error !== undefined) {
    return unavailable('bench.python', `${python} could not be started: ${probe.error.message}`);
  }
  if (probe.status !== 0) {
    const detail = probe.stderr.trim().split('\n').pop() ?? '';
    return unavailable('bench.python', `${python} cannot import torch (${detail})`);
  }
  return { available: true, reference: { python, script } };
}

/** Returns the command-line arguments of one reference run. */
export function torchArguments(script: string, options: TorchRunOptions): string[] {
  return [
    script,
    '--mode',
    options.mode,
    '--threads',
    String(options.threads),
    '--batch',
    String(options.batch),
    '--seq',
    String(options.seq),
    '--experts',
    String(options.experts),
    '--rank',
    String(options.rank),
    '--topk',
    String(options.topK),
    '--iters',
    String(options.iters),
    '--warmup',
    String(options.warmup),
    '--clip-norm',
    String(options.clipNorm),
    '--model',
    options.model,
  ];
}

/** Parses the reference's last JSON line. Throws a FormatError when it is missing or incomplete. */
export function parseTorchOutput(stdout: string, mode: StepMode): TorchMeasurement {
  const lines = stdout.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(last) as Record<string, unknown>;
  } catch {
    throw new FormatError(
      `The PyTorch reference printed no JSON result line. Its last line was ${JSON.stringify(last.slice(0, 200))}.`,
    );
  }
  const number = (key: string): number => {
    const value = parsed[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new FormatError(
        `The PyTorch reference result has no numeric "${key}": ${last.slice(0, 200)}`,
      );
    }
    return value;
  };
  return {
    mode,
    tokensPerSecond: number('tokens_per_s'),
    msPerStep: number('ms_per_iter'),
    msMin: number('ms_min'),
    msMax: number('ms_max'),
    peakRssMb: number('peak_rss_mb'),
    threads: number('threads'),
    torchVersion: String(parsed.torch ?? 'unknown'),
    blas: String(parsed.blas ?? 'unknown'),
    lossFirst: number('ce_first'),
    lossLast: number('ce_last'),
  };
}

// Debian selects the pthread OpenBLAS as libblas.so.3 once libopenblas-dev is installed (for the
// kernels package). PyTorch's own OpenMP threads then compete with OpenBLAS's pthreads: on the
// 2-core development machine its train step took 1,184 ms instead of 290 ms with the OpenMP
// build. The reference therefore loads the OpenMP build when Debian's libopenblas0-openmp is
// installed, as the reference set-up prescribes.
const OPENMP_OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

function torchEnvironment(): NodeJS.ProcessEnv {
  if (!existsSync(`${OPENMP_OPENBLAS_DIR}/libblas.so.3`)) {
    return process.env;
  }
  const current = process.env.LD_LIBRARY_PATH;
  return {
    ...process.env,
    LD_LIBRARY_PATH:
      current === undefined || current === ''
        ? OPENMP_OPENBLAS_DIR
        : `${OPENMP_OPENBLAS_DIR}:${current}`,
  };
}

/** Runs the reference once as a child process and returns its measurement. */
export function runTorchReference(
  reference: TorchReference,
  options: TorchRunOptions,
): Promise<TorchMeasurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(reference.python, torchArguments(reference.script, options), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: torchEnvironment(),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error) => {
      reject(
        new GuiLoMoError(
          `The PyTorch reference could not be started with ${reference.python}: ${error.message}`,
        ),
      );
    });
    child.on('close', (code) => {
      if (code !== 0) {
        const tail = stderr.trim().split('\n').slice(-3).join(' | ');
        reject(
          new GuiLoMoError(
            `The PyTorch reference (--mode ${options.mode}) exited with code ${code}: ${tail}`,
          ),
        );
        return;
      }
      try {
        resolve(parseTorchOutput(stdout, options.mode));
      } catch (error) {
        reject(error);
      }
    });
  });
}
