import type { LogLikelihoodRequest, ScoringModel } from '@guilomo/benchmarks';
import type { LinearAdapter } from '@guilomo/core';
import type { Llama2cTokenizer, LlamaModel } from '@guilomo/models';
import { generateGreedy } from '@guilomo/models';
import * as tf from '@tensorflow/tfjs-core';

const LOGLIKELIHOOD_BATCH = 16;

/**
 * Adapts the decoder (with optional adapters) to the benchmark scorers. Log-likelihood requests
 * are scored in right-padded batches of 16 with one forward pass each; a request longer than the
 * context keeps its continuation and drops tokens from the start of its context.
 */
export function createScoringModel(
  model: LlamaModel,
  tokenizer: Llama2cTokenizer,
  adapters: ReadonlyMap<string, LinearAdapter> | undefined,
): ScoringModel {
  const contextLength = model.config.seqLen;
  const forwardOptions = adapters === undefined ? {} : { adapters };
  return {
    contextLength,
    encode: (text) => tokenizer.encode(text, { bos: true }),
    decode: (ids) => tokenizer.decode([...ids]),
    logLikelihoods: async (requests: readonly LogLikelihoodRequest[]) => {
      const results: number[] = [];
      for (let start = 0; start < requests.length; start += LOGLIKELIHOOD_BATCH) {
        results.push(...scoreBatch(model, requests.slice(start, start + LOGLIKELIHOOD_BATCH), contextLength, forwardOptions));
      }
      return results;
    },
    generate: async (context, maxNewTokens) => generateGreedy(model, [...context], { maxNewTokens, ...forwardOptions }).tokens,
  };
}

function scoreBatch(
  model: LlamaModel,
  requests: readonly LogLikelihoodRequest[],
  contextLength: number,
  forwardOptions: { adapters?: ReadonlyMap<string, LinearAdapter> },
): number[] {
  const sequences = requests.map((request) => {
    const full = [...request.context, ...request.continuation];
    const drop = Math.max(0, full.length - contextLength);
    return { ids: full.slice(drop), firstTarget: Math.max(1, request.context.length - drop) };
  });
  const length = Math.max(...sequences.map((s) => s.ids.length));
  const vocab = model.config.vocabSize;
  const ids = new Int32Array(requests.length * length);
  // Selects, for each scored position p, the log-probability of token p+1 predicted at p.
  const select = new Float32Array(requests.length * length * vocab);
  sequences.forEach((sequence, row) => {
    sequence.ids.forEach((id, i) => {
      ids[row * length + i] = id;
    });
    for (let target = sequence.firstTarget; target < sequence.ids.length; target++) {
      select[(row * length + target - 1) * vocab + (sequence.ids[target] as number)] = 1;
    }
  });
  const scores = tf.tidy(() => {
    const input = tf.tensor2d(ids, [requests.length, length], 'int32');
    const output = model.forward(input, forwardOptions);
    const logProbs = tf.logSoftmax(output.logits);
    return tf.sum(tf.mul(logProbs, tf.tensor3d(select, [requests.length, length, vocab])), [1, 2]);
  });
  const values = Array.from(scores.dataSync());
  scores.dispose();
  return values;
}
