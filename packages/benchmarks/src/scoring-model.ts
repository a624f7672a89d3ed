/** One log-likelihood request: the log-probability of `continuation` given `context`. */
export interface LogLikelihoodRequest {
  readonly context: readonly number[];
  readonly continuation: readonly number[];
}

/**
 * The model interface the scorers need. It is defined here so that this package does not
 * depend on a model implementation.
 */
export interface ScoringModel {
  /** Maximum number of tokens the model attends to, prompt and continuation together. */
  readonly contextLength: number;
  /** Encodes text into the ids the model takes at the start of a sequence, with BOS if it uses one. */
  encode(text: string): number[];
  /** Decodes token ids to text. */
  decode(ids: readonly number[]): string;
  /** Returns, per request, the summed natural-log probability of the continuation tokens. */
  logLikelihoods(requests: readonly LogLikelihoodRequest[]): Promise<number[]>;
  /**
   * Generates greedily after `context` and returns only the new token ids, at most
   * `maxNewTokens` of them. It should stop after an end-of-sequence token.
   */
  generate(context: readonly number[], maxNewTokens: number): Promise<number[]>;
}

/** The outcome of scoring one example. */
export interface ExampleScore {
  /** Predicted answer (option letter or label word), or `FAILED` when none could be read. */
  readonly prediction: string;
  /** Label index of the prediction, or null when it failed or names no option. */
  readonly predictedLabel: number | null;
  /** Whether the prompt or its tokens were shortened to fit the context. */
  readonly truncated: boolean;
  /** Generation scoring: the response text the answer was read from. */
  readonly response?: string;
  /** Log-likelihood scoring: the summed log-probability of each candidate, in label order. */
  readonly logLikelihoods?: readonly number[];
  /** Log-likelihood scoring: the answer with the highest log-probability per character. */
  readonly predictionNorm?: string;
  /** Log-likelihood scoring: the label index of `predictionNorm`. */
  readonly predictedLabelNorm?: number;
}
