import type { Example, LoadOptions, Split, TaskSplit } from '../example.js';
import type { SourceLine } from '../source-rows.js';
import { RowCollector, readSourceText, resolveDataFile, splitLines } from '../source-rows.js';

/** Location of a TSV row, used for ids and messages. */
export interface TsvRowContext {
  readonly file: string;
  readonly line: number;
  readonly split: Split;
  /** Records the row as excluded by the task definition. The parser then returns null. */
  readonly drop: (reason: string) => void;
}

/** Inputs of {@link loadTsvSplit}. */
export interface TsvSplitRequest {
  readonly task: string;
  readonly split: Split;
  readonly dataDir: string;
  readonly defaultFiles: readonly string[];
  readonly options: LoadOptions;
  /**
   * Checks the first non-blank line of a file. Returns true when it is a header to skip, and
   * raises a FormatError when the file does not have the expected layout.
   */
  readonly readHeader?: (first: SourceLine, file: string) => boolean;
  /**
   * Turns the tab-separated cells of one row into an example, or returns null after calling
   * `context.drop`. Raises a RowError for a malformed field.
   */
  readonly parse: (cells: readonly string[], context: TsvRowContext) => Example | null;
}

/**
 * Reads tab-separated files without quoting (quotes are ordinary characters, as in the GLUE
 * TSV files) into a split, one example per non-blank line.
 */
export async function loadTsvSplit(request: TsvSplitRequest): Promise<TaskSplit> {
  const collector = new RowCollector(request.task, request.split, request.options.onInvalidRow);
  const files = request.options.files ?? request.defaultFiles;
  for (const name of files) {
    const file = resolveDataFile(request.dataDir, name);
    const lines = splitLines(await readSourceText(file));
    const first = lines[0];
    const start = first !== undefined && request.readHeader?.(first, file) === true ? 1 : 0;
    for (const { line, text } of lines.slice(start)) {
      const context: TsvRowContext = {
        file,
        line,
        split: request.split,
        drop: (reason) => collector.drop(file, line, reason),
      };
      collector.add(file, line, () => request.parse(text.split('\t'), context));
    }
  }
  return collector.finish();
}
