import type { LogRecord, LogSink, ProgressCallback, ProgressEvent } from '@guilomo/core';
import cliProgress from 'cli-progress';

/** Output mode of the CLI on the terminal. */
export type OutputMode = 'normal' | 'quiet' | 'json';

/**
 * Terminal output of the CLI: log records as lines and progress events as bars. `quiet` keeps
 * warnings and errors only and draws no bars; `json` writes one JSON object per line (logs,
 * progress every few steps, results) for scripts.
 */
export class ConsoleOutput {
  private bar: cliProgress.SingleBar | undefined;
  private barPhase = '';
  private lastJsonProgress = 0;

  constructor(private readonly mode: OutputMode) {}

  /** Sink for the library loggers. */
  readonly sink: LogSink = (record: LogRecord) => {
    if (this.mode === 'json') {
      process.stdout.write(`${JSON.stringify({ type: 'log', ...record })}\n`);
      return;
    }
    if (this.mode === 'quiet' && record.level !== 'error' && record.level !== 'warn') {
      return;
    }
    const prefix = record.prefix === '' ? '' : `[${record.prefix}] `;
    const fields = record.fields === undefined ? '' : ` ${formatFields(record.fields)}`;
    const line = `${record.level === 'info' ? '' : `${record.level}: `}${prefix}${record.message}${fields}`;
    this.writeLine(line, record.level === 'error' || record.level === 'warn');
  };

  /** Progress callback that draws one bar per phase. */
  readonly progress: ProgressCallback = (event: ProgressEvent) => {
    if (this.mode === 'quiet') {
      return;
    }
    if (this.mode === 'json') {
      const now = Date.now();
      if (event.step === event.total || now - this.lastJsonProgress > 2000) {
        this.lastJsonProgress = now;
        process.stdout.write(`${JSON.stringify({ type: 'progress', ...event })}\n`);
      }
      return;
    }
    if (this.bar === undefined || this.barPhase !== event.phase) {
      this.stopBar();
      this.barPhase = event.phase;
      this.bar = new cliProgress.SingleBar(
        {
          format: `${event.phase.padEnd(7)} [{bar}] {value}/{total} | {metrics} | ETA {eta_formatted}`,
          barCompleteChar: '=',
          barIncompleteChar: ' ',
          hideCursor: true,
          etaBuffer: 20,
          clearOnComplete: false,
          stream: process.stderr,
          noTTYOutput: true,
          notTTYSchedule: 10000,
        },
        cliProgress.Presets.legacy,
      );
      this.bar.start(event.total, event.step, { metrics: formatMetrics(event) });
    }
    this.bar.setTotal(event.total);
    this.bar.update(event.step, { metrics: formatMetrics(event) });
    if (event.step >= event.total) {
      this.stopBar();
    }
  };

  /** Writes a final result object: pretty text normally, one JSON line in json mode. */
  result(label: string, value: Record<string, unknown>): void {
    if (this.mode === 'json') {
      process.stdout.write(`${JSON.stringify({ type: 'result', label, ...value })}\n`);
      return;
    }
    this.writeLine(`${label}: ${formatFields(value)}`, false);
  }

  /** Writes a block of text, such as a Markdown table, except in json mode. */
  block(text: string): void {
    if (this.mode !== 'json') {
      this.writeLine(text.trimEnd(), false);
    }
  }

  stopBar(): void {
    if (this.bar !== undefined) {
      this.bar.stop();
      this.bar = undefined;
    }
  }

  private writeLine(line: string, isError: boolean): void {
    const stream = isError ? process.stderr : process.stdout;
    if (this.bar !== undefined && process.stderr.isTTY) {
      // Keep the bar intact: clear its line, write the record, and let the bar redraw.
      process.stderr.write('\r\x1b[K');
    }
    stream.write(`${line}\n`);
  }
}

function formatMetrics(event: ProgressEvent): string {
  const parts = Object.entries(event.metrics ?? {}).map(([key, value]) => `${key} ${formatNumber(value)}`);
  if (event.detail !== undefined) {
    parts.unshift(event.detail);
  }
  return parts.join(' ');
}

function formatFields(fields: Readonly<Record<string, unknown>>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'number' ? formatNumber(value) : typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

function formatNumber(value: number): string {
  if (Number.isInteger(value)) {
    return String(value);
  }
  const magnitude = Math.abs(value);
  return magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5) ? value.toExponential(2) : value.toFixed(4);
}
