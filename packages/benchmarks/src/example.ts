/**
 * Answer format of an example: an option letter (A, B, ...) or a label word such as
 * `entailment`. The kind selects the answer extraction rule of the generation scorer.
 */
export type ExampleKind = 'multiple-choice' | 'classification';

/** One benchmark record in the instruction format used for training and evaluation. */
export interface Example {
  /** Identifier taken from the source file, or built from the split and line when it has none. */
  readonly id: string;
  readonly kind: ExampleKind;
  /** Task text placed in the prompt template. It ends with a newline. */
  readonly instruction: string;
  /** Training target that follows the prompt, e.g. `Answer: The answer is B.`. */
  readonly output: string;
  /** Gold answer as the scorers compare it: an option letter or a label word. */
  readonly answer: string;
  /** Candidate outputs for log-likelihood scoring, in label order. `choices[label] === output`. */
  readonly choices: readonly string[];
  /** Option texts (multiple choice) or label words (classification), in label order. */
  readonly options: readonly string[];
  /** Index of the gold answer in `choices` and `options`. */
  readonly label: number;
  /**
   * Character offset in `instruction` where the text that prompt truncation must keep
   * begins: the options line, and for classification also the task question.
   */
  readonly protectedFrom: number;
}

/** Part of a task that a loader returns: the training data or the evaluation set. */
export type Split = 'train' | 'eval';

/** Policy for a malformed row: raise a FormatError, or skip the row and record it. */
export type InvalidRowPolicy = 'error' | 'skip';

/** A source row that a loader did not turn into an example. */
export interface RowIssue {
  /** Path of the source file. */
  readonly file: string;
  /** 1-based line in the file. In JSON array files, the line where the item starts. */
  readonly line: number;
  readonly reason: string;
}

/** The examples of one split of one task, with the rows that were left out. */
export interface TaskSplit {
  readonly task: string;
  readonly split: Split;
  readonly examples: readonly Example[];
  /** Malformed rows skipped because `onInvalidRow` was `skip`. */
  readonly skipped: readonly RowIssue[];
  /** Well-formed rows that the task definition excludes, such as MRPC's made-up rows. */
  readonly dropped: readonly RowIssue[];
}

/** Options shared by the task loaders. */
export interface LoadOptions {
  /**
   * Source files, relative to the data directory or absolute. Default: the loader's own
   * file list for the split.
   */
  readonly files?: readonly string[];
  /** Policy for malformed rows. Default `error`. */
  readonly onInvalidRow?: InvalidRowPolicy;
}
