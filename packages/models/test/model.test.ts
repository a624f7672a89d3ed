import type { LinearAdapter } from '@guilomo/core';
import { ConfigError, LoraMoe, Rng, ShapeError } from '@guilomo/core';
import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import type { Tensor2D, Variable } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Llama2cTokenizer, LlamaModel } from '../src/index.js';
import {
  createRandomLlamaModel,
  generateGreedy,
  loadLlama2c,
  nextTokenLoss,
  readLlama2cCheckpoint,
} from '../src/index.js';
import {
  BABYLLAMA_CHECKPOINT,
  BABYLLAMA_GREEDY_TEXT,
  BABYLLAMA_TOKENIZER,
  disposeAdapters,
  loraMoeAdapters,
  softmaxRouter,
} from './fixtures.js';

const loadBabyLlama = () =>
  loadLlama2c({ checkpoint: BABYLLAMA_CHECKPOINT, tokenizer: BABYLLAMA_TOKENIZER });

function idsTensor(rows: number[][]): Tensor2D {
  return tf.tensor2d(rows, undefined, 'int32');
}

/** Greedy tokens per backend: the cpu kernels are about 10x slower, so cpu decodes a prefix. */
const GREEDY_TOKENS = { cpu: 20, wasm: 100 } as const;

describe.each(TEST_BACKENDS)('BabyLlama on %s', (backend) => {
  let model: LlamaModel;
  let tokenizer: Llama2cTokenizer;
  let sentence: number[];

  beforeAll(async () => {
    await useBackend(backend);
    ({ model, tokenizer } = await loadBabyLlama());
    sentence = tokenizer.encode(BABYLLAMA_GREEDY_TEXT);
  });
  afterAll(() => {
    model.dispose();
  });

  it('has the checkpoint config', () => {
    expect(model.config).toMatchObject({ dim: 128, hiddenDim: 352, numLayers: 5, numHeads: 8 });
    expect(model.config).toMatchObject({ numKvHeads: 4, vocabSize: 105, seqLen: 256 });
    expect(model.parameterCount).toBe(936_448);
  });

  it('decodes the known story greedily from BOS', async () => {
    await expectNoLeaks(() => {
      const maxNewTokens = GREEDY_TOKENS[backend];
      const result = generateGreedy(model, [1], { maxNewTokens });
      expect(result.tokens).toHaveLength(maxNewTokens);
      // The first token is the SentencePiece dummy-prefix space that encode() also prepends.
      expect(result.tokens[0]).toBe(3);
      const text = tokenizer.decode(result.tokens);
      const expected = BABYLLAMA_GREEDY_TEXT.slice(
        0,
        Math.min(maxNewTokens - 1, BABYLLAMA_GREEDY_TEXT.length),
      );
      expect(text.startsWith(expected)).toBe(true);
      expect(result.stopReason).toBe('max-new-tokens');
      expect(result.truncated).toBe(false);
    });
  });

  it('scores the story at 0.05 to 0.25 nats per token', async () => {
    await expectNoLeaks(() => {
      const ids = idsTensor([sentence]);
      const { logits } = model.forward(ids);
      expect(logits.shape).toEqual([1, sentence.length, 105]);
      const loss = nextTokenLoss(logits, ids);
      const value = loss.dataSync()[0] as number;
      expect(value).toBeGreaterThan(0.05);
      expect(value).toBeLessThan(0.25);
      tf.dispose([ids, logits, loss]);
    });
  });

  it('keeps base logits with zero-B LoRA-MoE on every module', async () => {
    const adapters = loraMoeAdapters(model.listModules(), 'lora');
    await expectNoLeaks(() => {
      const ids = idsTensor([sentence.slice(0, 12), sentence.slice(12, 24)]);
      const base = model.forward(ids);
      const adapted = model.forward(ids, { adapters });
      expect(adapted.routerLogits.size).toBe(35);
      expectClose(adapted.logits, base.logits, 'exact');
      tf.dispose([ids, base.logits, adapted.logits]);
      tf.dispose([...adapted.routerLogits.values(), ...adapted.routingWeights.values()]);
    });
    disposeAdapters(adapters);
  });

  it('gives adapter variables finite nonzero gradients', async () => {
    const adapters = loraMoeAdapters(model.listModules(), 'search');
    const variables: Variable[] = [...adapters.values()].flatMap((adapter) => [
      ...adapter.variables().values(),
    ]);
    const ids = idsTensor([sentence.slice(0, 12), sentence.slice(12, 24)]);
    const loss = () => nextTokenLoss(model.forward(ids, { adapters }).logits, ids);
    await expectNoLeaks(() => {
      const { value, grads } = tf.variableGrads(loss, variables);
      expect(Object.keys(grads)).toHaveLength(105);
      for (const variable of variables) {
        const gradient = grads[variable.name];
        expect(gradient?.shape).toEqual(variable.shape);
        const values = (gradient as tf.Tensor).dataSync();
        expect(values.every(Number.isFinite)).toBe(true);
        expect(values.some((entry) => entry !== 0)).toBe(true);
      }
      tf.dispose([value, ...Object.values(grads)]);
    });
    tf.dispose(ids);
    disposeAdapters(adapters);
  });

  // Moving a variable by ±h along its unit gradient ĝ changes the loss at rate ‖g‖. The
  // variables cover key RoPE with repeated KV heads, query RoPE, the MLP and a router.
  it.each([
    ['model.layers.0.self_attn.k_proj', 'lora_A'],
    ['model.layers.1.self_attn.q_proj', 'lora_A'],
    ['model.layers.4.mlp.down_proj', 'lora_B'],
    ['model.layers.2.mlp.up_proj', 'router'],
  ])('matches finite differences for %s %s', async (path, name) => {
    const adapters = loraMoeAdapters(model.listModules(), 'search');
    const variable = adapters.get(path)?.variables().get(name) as Variable;
    const ids = idsTensor([sentence.slice(0, 12), sentence.slice(12, 24)]);
    const loss = () => nextTokenLoss(model.forward(ids, { adapters }).logits, ids);
    const lossAt = (offset: tf.Tensor): number => {
      return tf.tidy(() => {
        // assign() shares the sum's data, so the tidy scope can release the sum itself.
        variable.assign(tf.add(original, offset));
        return loss().dataSync()[0] as number;
      });
    };
    const original = variable.clone();
    await expectNoLeaks(() => {
      const { value, grads } = tf.variableGrads(loss, [variable]);
      const gradient = grads[variable.name] as tf.Tensor;
      const gradientNorm = tf.tidy(() => tf.norm(gradient).dataSync()[0] as number);
      const step = tf.tidy(() => tf.mul(tf.div(gradient, gradientNorm), 1e-2));
      const negativeStep = tf.neg(step);
      const numeric = (lossAt(step) - lossAt(negativeStep)) / 2e-2;
      variable.assign(original);
      expectClose([numeric], [gradientNorm], 'finiteDifference');
      expect(gradientNorm).toBeGreaterThan(0.05);
      tf.dispose([value, gradient, step, negativeStep]);
    });
    tf.dispose([ids, original]);
    disposeAdapters(adapters);
  });

  it('collects router outputs by module path', async () => {
    const targets = model.resolveTargets(['q', 'layers.1.down']);
    const adapters = loraMoeAdapters(targets, 'search');
    await expectNoLeaks(() => {
      const ids = idsTensor([sentence.slice(0, 6), sentence.slice(6, 12)]);
      const output = model.forward(ids, { adapters, training: true, dropoutSeed: 3 });
      expect([...output.routerLogits.keys()]).toEqual(targets.map((module) => module.path));
      expect([...output.routingWeights.keys()]).toEqual(targets.map((module) => module.path));
      for (const weights of output.routingWeights.values()) {
        expect(weights.shape).toEqual([12, 2]);
        tf.tidy(() => expectClose(tf.sum(weights, 1), new Array(12).fill(1), 'exact'));
      }
      tf.dispose([
        ids,
        output.logits,
        ...output.routerLogits.values(),
        ...output.routingWeights.values(),
      ]);
    });
    disposeAdapters(adapters);
  });

  it('leaves real tokens unchanged under left padding', async () => {
    await expectNoLeaks(() => {
      const real = sentence.slice(0, 10);
      const padded = idsTensor([[0, 0, 0, ...real], sentence.slice(10, 23)]);
      const mask = tf.tensor2d([[0, 0, 0, ...new Array(10).fill(1)], new Array(13).fill(1)]);
      const unpadded = idsTensor([real]);
      const paddedLogits = model.forward(padded, { attentionMask: mask }).logits;
      const expected = model.forward(unpadded).logits;
      const realPart = tf.slice(paddedLogits, [0, 3, 0], [1, 10, 105]);
      expectClose(realPart, expected, 'modelLogits');
      tf.dispose([padded, mask, unpadded, paddedLogits, expected, realPart]);
    });
  });

  it('returns frozen weights in PyTorch layout', async () => {
    const checkpoint = await readLlama2cCheckpoint(BABYLLAMA_CHECKPOINT);
    await expectNoLeaks(() => {
      const weight = model.frozenWeight('model.layers.1.mlp.up_proj');
      expect(weight.shape).toEqual([352, 128]);
      expectClose(weight, checkpoint.weights.layers[1]?.projections.up as Float32Array, 'exact');
      weight.dispose();
    });
  });

  it.each([
    {
      name: 'float ids',
      ids: () => tf.tensor2d([[1, 3]]),
      error: ShapeError,
      message: /2-D int32 tensor/,
    },
    {
      name: 'ids past the context',
      ids: () => tf.ones([1, 257], 'int32') as Tensor2D,
      error: ShapeError,
      message: /length 257, more than the context length 256/,
    },
    {
      name: 'an id outside the vocabulary',
      ids: () => idsTensor([[1, 105]]),
      error: ConfigError,
      message: /contains 105 at row 0, position 1, outside the vocabulary \[0, 105\)/,
    },
  ])('rejects $name', async ({ ids, error, message }) => {
    await expectNoLeaks(() => {
      const input = ids();
      expect(() => model.forward(input)).toThrow(error);
      expect(() => model.forward(input)).toThrow(message);
      input.dispose();
    });
  });

  it.each([
    {
      path: 'model.layers.9.self_attn.q_proj',
      dOut: 128,
      message: /no module "model.layers.9.self_attn.q_proj"/,
    },
    {
      path: 'model.layers.0.self_attn.q_proj',
      dOut: 64,
      message: /adapter at model.layers.0.self_attn.q_proj is 128→64, but the module is 128→128/,
    },
  ])('rejects an adapter at $path with dOut $dOut', async ({ path, dOut, message }) => {
    const adapter = new LoraMoe({
      dIn: 128,
      dOut,
      ranks: [2],
      router: softmaxRouter(1),
      rng: new Rng(1),
    });
    const adapters = new Map<string, LinearAdapter>([[path, adapter]]);
    await expectNoLeaks(() => {
      const ids = idsTensor([[1, 3]]);
      expect(() => model.forward(ids, { adapters })).toThrow(ConfigError);
      expect(() => model.forward(ids, { adapters })).toThrow(message);
      ids.dispose();
    });
    adapter.dispose();
  });
});

describe.each(TEST_BACKENDS)('random LlamaModel on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each([
    { numKvHeads: 4, sharedClassifier: true },
    { numKvHeads: 1, sharedClassifier: false },
  ])('runs with $numKvHeads KV heads, tied head $sharedClassifier', async (variant) => {
    const model = createRandomLlamaModel(
      { dim: 16, hiddenDim: 24, numLayers: 2, numHeads: 4, vocabSize: 11, seqLen: 8, ...variant },
      1,
    );
    await expectNoLeaks(() => {
      const ids = idsTensor([
        [1, 4, 7, 2],
        [1, 9, 9, 3],
      ]);
      const { logits } = model.forward(ids);
      expect(logits.shape).toEqual([2, 4, 11]);
      expect(logits.dataSync().every(Number.isFinite)).toBe(true);
      tf.dispose([ids, logits]);
    });
    model.dispose();
  });

  it('draws adapter dropout from the seed', async () => {
    const model = createRandomLlamaModel(
      {
        dim: 16,
        hiddenDim: 24,
        numLayers: 1,
        numHeads: 2,
        numKvHeads: 1,
        vocabSize: 11,
        seqLen: 8,
      },
      4,
    );
    const rng = new Rng(9);
    const adapters = new Map<string, LinearAdapter>(
      model.listModules().map((module) => [
        module.path,
        new LoraMoe({
          dIn: module.dIn,
          dOut: module.dOut,
          ranks: [4],
          router: softmaxRouter(1),
          init: 'search',
          dropout: 0.5,
          rng: rng.fork(),
        }),
      ]),
    );
    await expectNoLeaks(() => {
      const ids = idsTensor([[1, 4, 7, 2, 5]]);
      const logitsWith = (options: { training: boolean; dropoutSeed?: number }) =>
        model.forward(ids, { adapters, ...options }).logits.dataSync();
      tf.tidy(() => {
        const first = logitsWith({ training: true, dropoutSeed: 11 });
        expectClose(logitsWith({ training: true, dropoutSeed: 11 }), first, 'exact');
        const other = logitsWith({ training: true, dropoutSeed: 12 });
        expect(other.some((value, i) => value !== first[i])).toBe(true);
        const inference = logitsWith({ training: false, dropoutSeed: 11 });
        expectClose(logitsWith({ training: false }), inference, 'exact');
      });
      ids.dispose();
    });
    disposeAdapters(adapters);
    model.dispose();
  });

  it('truncates the context from the left when generating', async () => {
    const model = createRandomLlamaModel(
      {
        dim: 16,
        hiddenDim: 24,
        numLayers: 1,
        numHeads: 2,
        numKvHeads: 2,
        vocabSize: 11,
        seqLen: 8,
      },
      2,
    );
    await expectNoLeaks(() => {
      const result = generateGreedy(model, [1, 3, 4, 5, 6, 7, 8, 9, 10, 3], {
        maxNewTokens: 3,
        stopAtEos: false,
      });
      expect(result.tokens).toHaveLength(3);
      expect(result.truncated).toBe(true);
    });
    model.dispose();
  });

  it.each([
    {
      options: { maxNewTokens: 0 },
      prompt: [1],
      message: /`maxNewTokens`: must be a positive integer, received 0/,
    },
    {
      options: { maxNewTokens: 2 },
      prompt: [],
      message: /`prompt`: must contain at least one token/,
    },
  ])('rejects generation with $options and prompt $prompt', ({ options, prompt, message }) => {
    const model = createRandomLlamaModel(
      { dim: 8, hiddenDim: 8, numLayers: 1, numHeads: 2, numKvHeads: 2, vocabSize: 5, seqLen: 4 },
      3,
    );
    expect(() => generateGreedy(model, prompt, options)).toThrow(message);
    model.dispose();
  });
});

describe('BabyLlama across backends', () => {
  it('gives the same logits on cpu and wasm', async () => {
    const logits: Float32Array[] = [];
    for (const backend of TEST_BACKENDS) {
      await useBackend(backend);
      const { model, tokenizer } = await loadBabyLlama();
      await expectNoLeaks(() => {
        const ids = idsTensor([tokenizer.encode(BABYLLAMA_GREEDY_TEXT)]);
        const output = model.forward(ids).logits;
        logits.push(output.dataSync() as Float32Array);
        tf.dispose([ids, output]);
      });
      model.dispose();
    }
    expectClose(logits[1] as Float32Array, logits[0] as Float32Array, 'modelLogits');
  });
});
