/** Severity levels, from the most to the least severe. `silent` disables all output. */
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

const LEVEL_ORDER: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

/** Structured context attached to a log record, such as ids, step numbers or file paths. */
export type LogFields = Readonly<Record<string, unknown>>;

/** One log record as passed to a {@link LogSink}. */
export interface LogRecord {
  readonly level: Exclude<LogLevel, 'silent'>;
  readonly prefix: string;
  readonly message: string;
  readonly fields?: LogFields;
}

/** Receives the log records that pass the level filter. Only applications write them out. */
export type LogSink = (record: LogRecord) => void;

/**
 * Leveled logger that library packages receive from the application. Libraries never write to
 * the console themselves.
 */
export interface Logger {
  readonly level: LogLevel;
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** Logs a warning the first time a given message is seen by this logger and its children. */
  warnOnce(message: string, fields?: LogFields): void;
  /** Returns a logger that writes to the same sink with `prefix` appended to this one's. */
  child(prefix: string): Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Records below this level are dropped. Default `info`. */
  level?: LogLevel;
  /** Prefix shown as `[prefix]` by sinks. Default empty. */
  prefix?: string;
  /** Destination of the records. Default: records are dropped. */
  sink?: LogSink;
}

/**
 * Creates a logger that filters by level and forwards records to a sink.
 *
 * @example
 * const records: LogRecord[] = [];
 * const logger = createLogger({ level: 'debug', prefix: 'models', sink: (r) => records.push(r) });
 * logger.info('loaded checkpoint', { path: 'model.bin' });
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const seen = new Set<string>();
  return buildLogger(options.level ?? 'info', options.prefix ?? '', options.sink, seen);
}

function buildLogger(
  level: LogLevel,
  prefix: string,
  sink: LogSink | undefined,
  seen: Set<string>,
): Logger {
  const emit = (recordLevel: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields) => {
    if (sink === undefined || LEVEL_ORDER[recordLevel] > LEVEL_ORDER[level]) {
      return;
    }
    sink(
      fields === undefined
        ? { level: recordLevel, prefix, message }
        : { level: recordLevel, prefix, message, fields },
    );
  };
  return {
    level,
    error: (message, fields) => emit('error', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    info: (message, fields) => emit('info', message, fields),
    debug: (message, fields) => emit('debug', message, fields),
    warnOnce: (message, fields) => {
      if (!seen.has(message)) {
        seen.add(message);
        emit('warn', message, fields);
      }
    },
    child: (childPrefix) =>
      buildLogger(level, prefix === '' ? childPrefix : `${prefix}:${childPrefix}`, sink, seen),
  };
}

/** A logger that drops every record. The default wherever a logger is optional. */
export const silentLogger: Logger = createLogger({ level: 'silent' });
