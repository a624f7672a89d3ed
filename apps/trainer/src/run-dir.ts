import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@guilomo/core';

/** File layout of a run folder. Every writer goes through these paths. */
export class RunDir {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  ensure(): void {
    for (const dir of [this.root, this.checkpoints, this.figures]) {
      mkdirSync(dir, { recursive: true });
    }
  }

  get config(): string {
    return join(this.root, 'config.json');
  }
  get checkpoints(): string {
    return join(this.root, 'checkpoints');
  }
  get figures(): string {
    return join(this.root, 'figures');
  }
  log(phase: string): string {
    return join(this.root, `${phase}-log.jsonl`);
  }
  checkpoint(phase: string): string {
    return join(this.checkpoints, phase);
  }
  get gsv(): string {
    return join(this.root, 'gsv.safetensors');
  }
  get allocation(): string {
    return join(this.root, 'allocation.json');
  }
  get authorExperts(): string {
    return join(this.root, 'expert.json');
  }
  get authorRanks(): string {
    return join(this.root, 'rank.json');
  }
  get adapterDir(): string {
    return join(this.root, 'adapter');
  }
  get evaluation(): string {
    return join(this.root, 'eval-results.json');
  }
  get predictions(): string {
    return join(this.root, 'eval-predictions.jsonl');
  }
  get reportMarkdown(): string {
    return join(this.root, 'report.md');
  }
  get reportHtml(): string {
    return join(this.root, 'report.html');
  }
}

/** Writes pretty JSON atomically: readers never see a half-written file. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Reads a JSON file, or returns undefined when it does not exist. */
export function readJsonIfExists<T>(path: string): T | undefined {
  if (!existsSync(path)) {
    return undefined;
  }
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/**
 * Per-step JSONL log. On resume the log is cut back to the checkpoint's step, so that the log
 * of a resumed run equals that of an uninterrupted one.
 */
export class JsonlLog {
  constructor(private readonly path: string) {}

  /** Starts a fresh log, or keeps the records with `step <= keepUpTo` when resuming. */
  async open(keepUpTo: number | undefined): Promise<void> {
    if (keepUpTo === undefined || !existsSync(this.path)) {
      writeFileSync(this.path, '');
      return;
    }
    const kept = readJsonl<{ step: number }>(this.path).filter((record) => record.step <= keepUpTo);
    await writeFileAtomic(this.path, kept.map((record) => `${JSON.stringify(record)}\n`).join(''));
  }

  append(record: Record<string, unknown>): void {
    writeFileSync(this.path, `${JSON.stringify(record)}\n`, { flag: 'a' });
  }
}

/** Reads every record of a JSONL file; a missing file gives no records. */
export function readJsonl<T>(path: string): T[] {
  if (!existsSync(path)) {
    return [];
  }
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}
