import { fileURLToPath } from 'node:url';
import type { Logger } from '@guilomo/core';
import { FormatError, silentLogger } from '@guilomo/core';
import { readLlama2cCheckpoint } from './checkpoint.js';
import type { LlamaModel } from './decoder.js';
import { llamaModelFromCheckpoint } from './decoder.js';
import type { Llama2cTokenizer, TokenizerOptions } from './tokenizer.js';
import { readLlama2cTokenizer } from './tokenizer.js';

/** Paths of a llama2.c model: checkpoint and `tokenizer.bin`. */
export interface Llama2cPaths {
  readonly checkpoint: string;
  readonly tokenizer: string;
}

/** Options of {@link loadLlama2c}. */
export interface LoadLlama2cOptions extends Llama2cPaths {
  /** Receives an info record with the loaded config. Default: silent. */
  readonly logger?: Logger;
  /** Options of the tokenizer, such as its substitution table. */
  readonly tokenizerOptions?: TokenizerOptions;
}

/**
 * Returns absolute paths of the model shipped in this package: BabyLlama, a llama2.c v0
 * checkpoint with 936,448 parameters trained on TinyStories (MIT licence), and its
 * 105-symbol character tokenizer. `assets/babyllama-tok105/SOURCE.md` gives the origin.
 */
export function defaultModelPaths(): Llama2cPaths {
  // Both src/ and dist/ sit one level below the package root, next to assets/.
  const folder = new URL('../assets/babyllama-tok105/', import.meta.url);
  return {
    checkpoint: fileURLToPath(new URL('model5000.bin', folder)),
    tokenizer: fileURLToPath(new URL('tok105.bin', folder)),
  };
}

/**
 * Loads a llama2.c v0 checkpoint and its tokenizer, and checks that their vocabulary sizes
 * agree. The caller disposes the model.
 *
 * @example
 * const { model, tokenizer } = await loadLlama2c(defaultModelPaths());
 *
 * @throws FormatError when a file is malformed or the vocabulary sizes differ.
 */
export async function loadLlama2c(
  options: LoadLlama2cOptions,
): Promise<{ model: LlamaModel; tokenizer: Llama2cTokenizer }> {
  const logger = options.logger ?? silentLogger;
  const [checkpoint, tokenizer] = await Promise.all([
    readLlama2cCheckpoint(options.checkpoint),
    readLlama2cTokenizer(options.tokenizer, options.tokenizerOptions),
  ]);
  if (tokenizer.vocabSize !== checkpoint.config.vocabSize) {
    throw new FormatError(
      `tokenizer ${options.tokenizer} has ${tokenizer.vocabSize} tokens but checkpoint ` +
        `${options.checkpoint} has a vocabulary of ${checkpoint.config.vocabSize}. ` +
        'Pass the tokenizer the model was trained with.',
    );
  }
  const model = llamaModelFromCheckpoint(checkpoint);
  logger.info('loaded llama2.c model', {
    checkpoint: options.checkpoint,
    tokenizer: options.tokenizer,
    ...checkpoint.config,
    parameters: model.parameterCount,
  });
  return { model, tokenizer };
}
