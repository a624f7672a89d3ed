import type { LinearAdapter } from '@guilomo/core';
import { ConfigError } from '@guilomo/core';
import * as tf from '@tensorflow/tfjs-core';
import type { LlamaModel } from './decoder.js';
import { BOS_ID, EOS_ID } from './tokenizer.js';

/** Options of {@link generateGreedy}. */
export interface GenerateOptions {
  /** Maximum number of tokens to generate. */
  readonly maxNewTokens: number;
  /** Adapters keyed by module path, as in {@link LlamaModel.forward}. */
  readonly adapters?: ReadonlyMap<string, LinearAdapter>;
  /** Stops when the model emits one of `stopTokenIds`. Default true. */
  readonly stopAtEos?: boolean;
  /**
   * Ids that end generation when `stopAtEos` is set. Default `[EOS, BOS]` (2 and 1), because
   * llama2.c's TinyStories models mark the start of the next story with BOS, not EOS.
   */
  readonly stopTokenIds?: readonly number[];
}

/** Output of {@link generateGreedy}. */
export interface GenerateResult {
  /** Generated ids, excluding the prompt and the stop token. */
  readonly tokens: number[];
  /** `stop-token` when a stop id was emitted, `max-new-tokens` when the budget ran out. */
  readonly stopReason: 'stop-token' | 'max-new-tokens';
  /** True when the sequence outgrew the context and early tokens were left out. */
  readonly truncated: boolean;
}

/**
 * Generates tokens greedily (argmax at each step) after `prompt`.
 *
 * Each step recomputes the whole sequence, with no key/value cache. When prompt plus output
 * exceed the context length, only the last `seqLen` tokens are fed to the model (truncation
 * from the left), and `truncated` is set.
 *
 * @throws ConfigError for an empty prompt or a `maxNewTokens` that is not a positive integer.
 */
export function generateGreedy(
  model: LlamaModel,
  prompt: readonly number[],
  options: GenerateOptions,
): GenerateResult {
  const { maxNewTokens } = options;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
    throw new ConfigError('maxNewTokens', `must be a positive integer, received ${maxNewTokens}.`);
  }
  if (prompt.length === 0) {
    throw new ConfigError('prompt', `must contain at least one token, such as BOS (${BOS_ID}).`);
  }
  const stopAtEos = options.stopAtEos ?? true;
  const stopIds = new Set(options.stopTokenIds ?? [EOS_ID, BOS_ID]);
  const forwardOptions = options.adapters === undefined ? {} : { adapters: options.adapters };
  const { seqLen, vocabSize } = model.config;

  const sequence = [...prompt];
  const tokens: number[] = [];
  let truncated = false;
  for (let step = 0; step < maxNewTokens; step++) {
    const context = sequence.length > seqLen ? sequence.slice(-seqLen) : sequence;
    truncated ||= context.length < sequence.length;
    const next = tf.tidy(() => {
      const ids = tf.tensor2d([context], [1, context.length], 'int32');
      // The tidy scope also disposes the router outputs, which greedy decoding ignores.
      const { logits } = model.forward(ids, forwardOptions);
      const last = tf.slice(logits, [0, context.length - 1, 0], [1, 1, vocabSize]);
      return tf.argMax(tf.reshape(last, [vocabSize])).dataSync()[0] as number;
    });
    if (stopAtEos && stopIds.has(next)) {
      return { tokens, stopReason: 'stop-token', truncated };
    }
    tokens.push(next);
    sequence.push(next);
  }
  return { tokens, stopReason: 'max-new-tokens', truncated };
}
