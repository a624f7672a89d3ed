/**
 * Base class of every error raised by GuiLoMo packages. `name` is set per subclass so that
 * logs and `instanceof` checks both identify the failure.
 */
export class GuiLoMoError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option or config field that has an invalid value. The message names the field. */
export class ConfigError extends GuiLoMoError {
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`\`${field}\`: ${message}`, options);
  }
}

/** A registry lookup or registration that failed: duplicate id, unknown id or wrong kind. */
export class RegistryError extends GuiLoMoError {}

/** A tensor whose shape does not match what the operation expects. */
export class ShapeError extends GuiLoMoError {}

/** A file or input record that could not be parsed. The message names the file and place. */
export class FormatError extends GuiLoMoError {}

/** A combination of inputs that is valid in principle but not implemented yet. */
export class NotSupportedError extends GuiLoMoError {}

/** A value that became NaN or infinite during computation. */
export class NumericError extends GuiLoMoError {}

/**
 * Throws a {@link GuiLoMoError} unless `condition` holds. The message is a closure so that the
 * hot path never builds strings for checks that pass.
 */
export function assert(
  condition: unknown,
  message: () => string,
  ErrorClass: new (message: string) => Error = GuiLoMoError,
): asserts condition {
  if (!condition) {
    throw new ErrorClass(message());
  }
}

/**
 * Formats a value for an error message: strings quoted, numbers as written, objects as JSON
 * cut to 80 characters.
 */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) {
    return String(value);
  }
  let text: string;
  try {
    // JSON.stringify returns undefined for functions and symbols.
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
