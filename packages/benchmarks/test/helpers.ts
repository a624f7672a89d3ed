import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogLikelihoodRequest, ScoringModel } from '../src/index.js';

/** The real benchmark files, next to the repository root. */
export const SHARED_DATA = fileURLToPath(new URL('../../../../shared/data', import.meta.url));

/** Returns the folder of one task under the shared data root. */
export function sharedTaskDir(task: string): string {
  return join(SHARED_DATA, task);
}

/** Writes `files` into a fresh temporary folder, runs `fn` with its path and removes it. */
export async function withTempFiles<T>(
  files: Readonly<Record<string, string>>,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'guilomo-benchmarks-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      await writeFile(join(dir, name), text, 'utf8');
    }
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Options of {@link FakeModel}. */
export interface FakeModelOptions {
  readonly contextLength?: number;
  /** Text the model generates after a prompt. Default: no text. */
  readonly respond?: (prompt: string) => string;
  /** Log-likelihood of a continuation after a context. Default: 0. */
  readonly score?: (context: string, continuation: string) => number;
}

/**
 * Deterministic character-level ScoringModel: one token per UTF-16 code unit, no BOS. It
 * records every request so that tests can check what the scorers send.
 */
export class FakeModel implements ScoringModel {
  readonly contextLength: number;
  readonly generateCalls: { context: string; maxNewTokens: number }[] = [];
  readonly scoreCalls: LogLikelihoodRequest[][] = [];
  private readonly respond: (prompt: string) => string;
  private readonly score: (context: string, continuation: string) => number;

  constructor(options: FakeModelOptions = {}) {
    this.contextLength = options.contextLength ?? 4096;
    this.respond = options.respond ?? (() => '');
    this.score = options.score ?? (() => 0);
  }

  encode(text: string): number[] {
    return Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
  }

  decode(ids: readonly number[]): string {
    return String.fromCharCode(...ids);
  }

  async logLikelihoods(requests: readonly LogLikelihoodRequest[]): Promise<number[]> {
    this.scoreCalls.push([...requests]);
    return requests.map((r) => this.score(this.decode(r.context), this.decode(r.continuation)));
  }

  async generate(context: readonly number[], maxNewTokens: number): Promise<number[]> {
    const prompt = this.decode(context);
    this.generateCalls.push({ context: prompt, maxNewTokens });
    return this.encode(this.respond(prompt)).slice(0, maxNewTokens);
  }
}
