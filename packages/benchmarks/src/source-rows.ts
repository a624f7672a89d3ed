import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { FormatError, formatValue, GuiLoMoError } from '@guilomo/core';
import type { Example, InvalidRowPolicy, RowIssue, Split, TaskSplit } from './example.js';

/**
 * A malformed field in one source row. Loaders throw it from row parsers, and
 * {@link RowCollector} turns it into a FormatError or a skipped row.
 */
export class RowError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`field "${field}" ${problem}`);
    this.name = 'RowError';
  }
}

/** Resolves a file name against the data directory unless it is absolute. */
export function resolveDataFile(dataDir: string, file: string): string {
  return isAbsolute(file) ? file : join(dataDir, file);
}

/** Reads a UTF-8 text file and removes a leading byte order mark. */
export async function readSourceText(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new GuiLoMoError(
        `Benchmark file not found: ${path}. Pass the directory that contains it, or list the files in the \`files\` option.`,
        { cause: error },
      );
    }
    throw error;
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** One non-blank line of a text file, with its 1-based line number. */
export interface SourceLine {
  readonly line: number;
  readonly text: string;
}

/** Splits text into lines (LF or CRLF) and drops blank lines, keeping the original line numbers. */
export function splitLines(text: string): SourceLine[] {
  const lines: SourceLine[] = [];
  const parts = text.split(/\r?\n/);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (part.trim() !== '') {
      lines.push({ line: i + 1, text: part });
    }
  }
  return lines;
}

/** Parses one JSONL line, raising a RowError that names the JSON syntax problem. */
export function parseJsonLine(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RowError('(line)', `is not valid JSON: ${(error as Error).message}`);
  }
}

/** One item of a top-level JSON array, with the line where the item starts. */
export interface JsonArrayItem {
  readonly line: number;
  readonly value: unknown;
}

/**
 * Parses a file that contains one JSON array and returns its items with their start lines,
 * so that errors can point into the file.
 */
export function parseJsonArray(text: string, file: string): JsonArrayItem[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new FormatError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) {
    throw new FormatError(`${file} must contain a JSON array of records, got ${typeof parsed}.`);
  }
  const lines = itemStartLines(text);
  return parsed.map((value, index) => ({ line: lines[index] ?? 1, value }));
}

/**
 * Scans JSON text that is known to be valid and returns the 1-based line on which each item
 * of the top-level array starts.
 */
function itemStartLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectItem = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') {
      line += 1;
    }
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (ch === '\\') {
        escaped = true;
      } else if (ch === '"') {
        inString = false;
      }
      continue;
    }
    if (depth === 1 && expectItem && ch !== undefined && !/[\s,]/.test(ch)) {
      lines.push(line);
      expectItem = false;
    }
    if (ch === '"') {
      inString = true;
    } else if (ch === '[' || ch === '{') {
      depth += 1;
      if (depth === 1) {
        expectItem = true;
      }
    } else if (ch === ']' || ch === '}') {
      depth -= 1;
    } else if (ch === ',' && depth === 1) {
      expectItem = true;
    }
  }
  return lines;
}

/**
 * Reads a value through a dotted field path such as `question.stem` or
 * `question.choices.0.text`, where numeric keys index arrays. Returns undefined when absent.
 */
export function getField(record: unknown, path: string): unknown {
  let current: unknown = record;
  for (const key of path.split('.')) {
    if (Array.isArray(current)) {
      current = /^\d+$/.test(key) ? current[Number(key)] : undefined;
    } else if (current !== null && typeof current === 'object') {
      current = (current as Record<string, unknown>)[key];
    } else {
      return undefined;
    }
  }
  return current;
}

/** Returns the string at `path`, or raises a RowError naming the field. */
export function requireString(record: unknown, path: string): string {
  const value = getField(record, path);
  if (value === undefined || value === null) {
    throw new RowError(path, 'is missing');
  }
  if (typeof value !== 'string') {
    throw new RowError(path, `must be a string, got ${formatValue(value)}`);
  }
  return value;
}

/** Returns the array at `path`, or raises a RowError naming the field. */
export function requireArray(record: unknown, path: string): unknown[] {
  const value = getField(record, path);
  if (value === undefined || value === null) {
    throw new RowError(path, 'is missing');
  }
  if (!Array.isArray(value)) {
    throw new RowError(path, `must be an array, got ${formatValue(value)}`);
  }
  return value;
}

/**
 * Collects the examples of one split and applies the invalid-row policy: with `error` the
 * first RowError becomes a FormatError naming the file, the line and the field, and with
 * `skip` the row is recorded in `skipped`.
 */
export class RowCollector {
  private readonly examples: Example[] = [];
  private readonly skipped: RowIssue[] = [];
  private readonly dropped: RowIssue[] = [];

  constructor(
    private readonly task: string,
    private readonly split: Split,
    private readonly policy: InvalidRowPolicy = 'error',
  ) {}

  /**
   * Runs `parse` for the row at `file:line` and keeps its example. A parser that returns null
   * has excluded the row itself, usually through {@link RowCollector.drop}.
   */
  add(file: string, line: number, parse: () => Example | null): void {
    let example: Example | null;
    try {
      example = parse();
    } catch (error) {
      if (!(error instanceof RowError)) {
        throw error;
      }
      if (this.policy === 'skip') {
        this.skipped.push({ file, line, reason: error.message });
        return;
      }
      throw new FormatError(
        `Invalid row in ${file} at line ${line}: ${error.message}. Fix the row, or load with onInvalidRow: 'skip' to skip and count such rows.`,
        { cause: error },
      );
    }
    if (example !== null) {
      this.examples.push(example);
    }
  }

  /** Records a well-formed row that the task definition excludes. */
  drop(file: string, line: number, reason: string): void {
    this.dropped.push({ file, line, reason });
  }

  /** Returns the collected split. */
  finish(): TaskSplit {
    return {
      task: this.task,
      split: this.split,
      examples: this.examples,
      skipped: this.skipped,
      dropped: this.dropped,
    };
  }
}
