import type { Example, LoadOptions, Split, TaskSplit } from '../example.js';
import {
  parseJsonArray,
  parseJsonLine,
  RowCollector,
  readSourceText,
  resolveDataFile,
  splitLines,
} from '../source-rows.js';

/** Location of a JSON record, used for ids and messages. */
export interface RecordContext {
  readonly file: string;
  readonly line: number;
  readonly split: Split;
  /** Records the row as excluded by the task definition. The parser then returns null. */
  readonly drop: (reason: string) => void;
}

/** Turns one parsed JSON value into an example, or returns null after `context.drop`. */
export type RecordParser = (value: unknown, context: RecordContext) => Example | null;

/** Inputs of {@link loadJsonRecords}. */
export interface JsonRecordsRequest {
  readonly task: string;
  readonly split: Split;
  readonly dataDir: string;
  readonly defaultFiles: readonly string[];
  readonly options: LoadOptions;
  /** Parser for one record. It raises a RowError for a malformed field. */
  readonly parse: RecordParser;
}

/** Returns whether `file` contains one JSON array (`.json`) rather than JSON Lines. */
export function isJsonArrayFile(file: string): boolean {
  return file.toLowerCase().endsWith('.json');
}

/**
 * Reads JSON records into a split. Files ending in `.json` hold one JSON array of records, and
 * all other files are JSON Lines with one record per non-blank line.
 */
export async function loadJsonRecords(request: JsonRecordsRequest): Promise<TaskSplit> {
  const collector = new RowCollector(request.task, request.split, request.options.onInvalidRow);
  const files = request.options.files ?? request.defaultFiles;
  for (const name of files) {
    const file = resolveDataFile(request.dataDir, name);
    const text = await readSourceText(file);
    const addRecord = (line: number, read: () => unknown): void => {
      const context: RecordContext = {
        file,
        line,
        split: request.split,
        drop: (reason) => collector.drop(file, line, reason),
      };
      collector.add(file, line, () => request.parse(read(), context));
    };
    if (isJsonArrayFile(file)) {
      for (const item of parseJsonArray(text, file)) {
        addRecord(item.line, () => item.value);
      }
    } else {
      for (const row of splitLines(text)) {
        addRecord(row.line, () => parseJsonLine(row.text));
      }
    }
  }
  return collector.finish();
}
