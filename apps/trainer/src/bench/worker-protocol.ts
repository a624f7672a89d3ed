import type { LogLevel, LogRecord, ProgressEvent } from '@guilomo/core';
import type { ResolvedConfig } from '../config/types.js';
import type { BenchJob, BenchJobResult } from './jobs.js';

/** Request from the parent to a benchmark worker process: one job. */
export interface WorkerRequest {
  readonly config: ResolvedConfig;
  readonly job: BenchJob;
  readonly logLevel: LogLevel;
}

/** Message from a benchmark worker process; it sends records, then a result or an error. */
export type WorkerMessage =
  | { readonly type: 'log'; readonly record: LogRecord }
  | { readonly type: 'progress'; readonly event: ProgressEvent }
  | { readonly type: 'result'; readonly result: BenchJobResult }
  | { readonly type: 'error'; readonly name: string; readonly message: string };
