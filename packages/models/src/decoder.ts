import type { DropoutMaskRequest, LinearAdapter, ModuleInfo } from '@guilomo/core';
import {
  ConfigError,
  isDropoutPrefetchActive,
  matMulConst,
  prefetchDropoutMasks,
  ShapeError,
} from '@guilomo/core';
import type { Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { addSameShape } from './add-same-shape.js';
import type { AttentionSetup, ProjectFn } from './attention.js';
import { attentionScoreBias, kvRepeatMatrix, selfAttention } from './attention.js';
import type { Llama2cCheckpoint, LlamaWeightArrays } from './checkpoint.js';
import type { LlamaConfig, LlamaConfigInput, LlamaDims } from './config.js';
import { llamaDims, llamaParameterCount, resolveLlamaConfig } from './config.js';
import { listLlamaModules, modulePath, resolveModuleTargets } from './modules.js';
import type { RopeTables } from './rope.js';
import { computeRopeTables, RotaryEmbedding } from './rope.js';
import type { LlamaTensors } from './weights.js';
import { createLlamaTensors, disposeLlamaTensors, randomLlamaWeightArrays } from './weights.js';

/** Options of {@link LlamaModel.forward}. */
export interface LlamaForwardOptions {
  /** Adapters keyed by module path. Each one's `delta` is added to its projection's output. */
  readonly adapters?: ReadonlyMap<string, LinearAdapter>;
  /** Passed to the adapters to enable their dropout. The frozen model has none. Default false. */
  readonly training?: boolean;
  /** Seed of the adapters' dropout masks. Each module derives its own seed from it. */
  readonly dropoutSeed?: number;
  /**
   * `[batch, length]`, 1 for real tokens and 0 for padding. Padding keys are masked out of
   * attention. Because RoPE depends only on relative positions, left padding then leaves the
   * real tokens' logits unchanged up to float32 rounding. Default: no padding.
   */
  readonly attentionMask?: Tensor2D;
}

/** Output of {@link LlamaModel.forward}. The caller owns every tensor. */
export interface LlamaForwardOutput {
  /** `[batch, length, vocabSize]`. */
  readonly logits: Tensor3D;
  /** Router logits `[batch · length, experts]` of each adapter that returns them, by path. */
  readonly routerLogits: Map<string, Tensor2D>;
  /** Routing weights `[batch · length, experts]` of each adapter that returns them, by path. */
  readonly routingWeights: Map<string, Tensor2D>;
}

/** Options of {@link LlamaModel}. */
export interface LlamaModelOptions {
  /** RoPE tables to use, such as a checkpoint's stored ones. Default: computed from the config. */
  readonly rope?: RopeTables;
}

/**
 * Router outputs collected during a forward pass, keyed by module path. Plain objects rather
 * than Maps, because tf.tidy keeps the tensors it finds in returned plain objects only.
 */
interface RouterOutputs {
  readonly routerLogits: Record<string, Tensor2D>;
  readonly routingWeights: Record<string, Tensor2D>;
}

/** Derives a per-module dropout seed so that modules do not share masks. */
function moduleSeed(seed: number, moduleIndex: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(moduleIndex + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

function rmsNorm(x: Tensor2D, weight: Tensor1D, eps: number): Tensor2D {
  const meanSquare = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), weight) as Tensor2D;
}

/**
 * LLaMA-architecture decoder with frozen weights: RMSNorm, RoPE in llama2.c's convention,
 * grouped-query causal attention, SwiGLU MLP, and a tied or untied output head.
 *
 * Every projection computes `x @ W` with W stored as `[dIn, dOut]`. Only the input receives a
 * gradient, so training touches the adapters' variables alone. Projections are addressed by
 * HF-style paths such as `model.layers.0.self_attn.q_proj`.
 *
 * @example
 * const { model, tokenizer } = await loadLlama2c(defaultModelPaths());
 * const ids = tf.tensor2d([tokenizer.encode('Once upon a time')], undefined, 'int32');
 * const { logits } = model.forward(ids);
 */
export class LlamaModel {
  readonly config: LlamaConfig;
  readonly dims: LlamaDims;
  private readonly tensors: LlamaTensors;
  private readonly queryRope: RotaryEmbedding;
  private readonly keyRope: RotaryEmbedding;
  private readonly kvRepeat: Tensor2D | undefined;
  private readonly modules: readonly ModuleInfo[];
  private readonly moduleIndex: ReadonlyMap<string, number>;

  constructor(config: LlamaConfig, weights: LlamaWeightArrays, options: LlamaModelOptions = {}) {
    this.config = config;
    this.dims = llamaDims(config);
    const { headSize, kvGroupSize } = this.dims;
    const rope = options.rope ?? computeRopeTables(headSize, config.seqLen, config.ropeTheta);
    this.tensors = createLlamaTensors(config, weights);
    this.queryRope = new RotaryEmbedding(rope, headSize, config.numHeads, config.seqLen);
    this.keyRope = new RotaryEmbedding(rope, headSize, config.numKvHeads, config.seqLen);
    this.kvRepeat =
      kvGroupSize > 1
        ? tf.keep(kvRepeatMatrix(config.numKvHeads, kvGroupSize, headSize))
        : undefined;
    this.modules = listLlamaModules(config);
    this.moduleIndex = new Map(this.modules.map((module, i) => [module.path, i]));
  }

  /** Number of frozen weights (RoPE tables excluded). */
  get parameterCount(): number {
    return llamaParameterCount(this.config);
  }

  /** Lists the adaptable projections, layer by layer, in the order q, k, v, o, gate, up, down. */
  listModules(): ModuleInfo[] {
    return [...this.modules];
  }

  /**
   * Resolves target patterns (`q`, `all`, `model.layers.*.mlp.*`, `layers.0-2.q`, …) to
   * modules. Throws a ConfigError for an unknown name or a pattern that matches nothing.
   */
  resolveTargets(patterns: string | readonly string[]): ModuleInfo[] {
    return resolveModuleTargets(this.modules, patterns);
  }

  /** Returns the module at `path`, or throws a ConfigError naming the path. */
  module(path: string): ModuleInfo {
    const index = this.moduleIndex.get(path);
    if (index === undefined) {
      throw new ConfigError(
        'path',
        `no module ${JSON.stringify(path)} in this model. Paths look like ` +
          `model.layers.0.self_attn.q_proj, with layers 0 to ${this.config.numLayers - 1}.`,
      );
    }
    return this.modules[index] as ModuleInfo;
  }

  /**
   * Returns a copy of a projection's frozen weight in PyTorch layout `[dOut, dIn]`, for
   * training-free allocation policies. The caller disposes it. q and k rows follow llama2.c's
   * head layout, which is a permutation of the rows in HF LLaMA checkpoints.
   */
  frozenWeight(path: string): Tensor2D {
    const { layer, projection } = this.module(path);
    const weight = this.layerTensors(layer).projections[projection];
    return tf.transpose(weight);
  }

  /**
   * Runs the decoder on token ids `[batch, length]` (int32, length ≤ `seqLen`) and returns the
   * logits with the adapters' router logits and routing weights.
   *
   * @throws ShapeError for ids that are not 2-D int32 or are longer than the context.
   * @throws ConfigError for an id outside the vocabulary or an adapter on an unknown path.
   */
  forward(ids: Tensor2D, options: LlamaForwardOptions = {}): LlamaForwardOutput {
    const [batch, length] = this.checkIds(ids);
    const adapters = options.adapters ?? new Map<string, LinearAdapter>();
    this.checkAdapters(adapters);
    const keyMask =
      options.attentionMask === undefined
        ? undefined
        : this.readAttentionMask(options.attentionMask, batch, length);
    const { vocabSize, normEps } = this.config;
    if (
      options.training === true &&
      options.dropoutSeed !== undefined &&
      isDropoutPrefetchActive()
    ) {
      this.prefetchDropout(adapters, batch * length, options.dropoutSeed);
    }

    const result = tf.tidy(() => {
      const outputs: RouterOutputs = { routerLogits: {}, routingWeights: {} };
      const setup: AttentionSetup = {
        batch,
        length,
        numHeads: this.config.numHeads,
        headSize: this.dims.headSize,
        queryRope: this.queryRope,
        keyRope: this.keyRope,
        queryTables: this.queryRope.tables(batch, length),
        keyTables: this.keyRope.tables(batch, length),
        kvRepeat: this.kvRepeat,
        scoreBias: attentionScoreBias(batch, this.config.numHeads, length, keyMask),
      };

      let hidden = this.embed(ids, batch * length);
      for (let layer = 0; layer < this.config.numLayers; layer++) {
        // A scope per layer frees the layer's intermediates that the gradient tape does not
        // keep as soon as the layer is done, rather than at the end of the forward pass.
        const input = hidden;
        const next = tf.tidy(() => {
          const layerOutputs: RouterOutputs = { routerLogits: {}, routingWeights: {} };
          const output = this.decoderLayer(layer, input, setup, adapters, options, layerOutputs);
          return { hidden: output, ...layerOutputs };
        });
        hidden = next.hidden;
        Object.assign(outputs.routerLogits, next.routerLogits);
        Object.assign(outputs.routingWeights, next.routingWeights);
      }

      const normed = rmsNorm(hidden as Tensor2D, this.tensors.finalNorm, normEps);
      const logits2d = matMulConst(normed, this.tensors.classifier);
      const logits = tf.reshape(logits2d, [batch, length, vocabSize]) as Tensor3D;
      return { logits, ...outputs };
    });
    return {
      logits: result.logits,
      routerLogits: new Map(Object.entries(result.routerLogits)),
      routingWeights: new Map(Object.entries(result.routingWeights)),
    };
  }

  /**
   * Queues the dropout masks of the adapters in the order the forward pass draws them (layer by
   * layer, q, k, v, o, gate, up, down), so that a worker thread draws them meanwhile.
   */
  private prefetchDropout(
    adapters: ReadonlyMap<string, LinearAdapter>,
    tokens: number,
    seed: number,
  ): void {
    const requests: DropoutMaskRequest[] = [];
    this.modules.forEach((module, index) => {
      const request = adapters.get(module.path)?.dropoutMaskRequest?.(tokens, {
        training: true,
        dropoutSeed: moduleSeed(seed, index),
      });
      if (request !== undefined) {
        requests.push(request);
      }
    });
    prefetchDropoutMasks(requests);
  }

  /**
   * Runs decoder layer `layer` on `hidden` `[tokens, dim]`: attention and SwiGLU MLP blocks,
   * each with RMSNorm and a residual connection. Records the adapters' router outputs in
   * `outputs`.
   */
  private decoderLayer(
    layer: number,
    hidden: Tensor2D,
    setup: AttentionSetup,
    adapters: ReadonlyMap<string, LinearAdapter>,
    options: LlamaForwardOptions,
    outputs: RouterOutputs,
  ): Tensor2D {
    const weights = this.layerTensors(layer);
    const { normEps } = this.config;
    const project: ProjectFn = (projection, input) =>
      this.project(modulePath(layer, projection), input, adapters, options, outputs);

    const attentionInput = rmsNorm(hidden, weights.attentionNorm, normEps);
    const afterAttention = addSameShape(hidden, selfAttention(attentionInput, project, setup));

    const mlpInput = rmsNorm(afterAttention, weights.mlpNorm, normEps);
    const gate = project('gate', mlpInput);
    const activated = tf.mul(tf.mul(gate, tf.sigmoid(gate)), project('up', mlpInput));
    return addSameShape(afterAttention, project('down', activated as Tensor2D));
  }

  /**
   * Computes one projection: `x @ W` through matMulConst, plus the delta of the adapter at
   * `path` if there is one. Records that adapter's router outputs in `outputs`.
   */
  private project(
    path: string,
    input: Tensor2D,
    adapters: ReadonlyMap<string, LinearAdapter>,
    options: LlamaForwardOptions,
    outputs: RouterOutputs,
  ): Tensor2D {
    const { layer, projection } = this.module(path);
    const base = matMulConst(input, this.layerTensors(layer).projections[projection]);
    const adapter = adapters.get(path);
    if (adapter === undefined) {
      return base;
    }

    const training = options.training ?? false;
    const seed = options.dropoutSeed;
    const index = this.moduleIndex.get(path) as number;
    const output = adapter.forward(
      input,
      seed === undefined ? { training } : { training, dropoutSeed: moduleSeed(seed, index) },
    );
    if (output.delta.shape[0] !== base.shape[0] || output.delta.shape[1] !== base.shape[1]) {
      throw new ShapeError(
        `adapter at ${path} returned delta [${output.delta.shape.join(', ')}], ` +
          `expected [${base.shape.join(', ')}].`,
      );
    }
    if (output.routerLogits !== undefined) {
      outputs.routerLogits[path] = output.routerLogits;
    }
    if (output.routingWeights !== undefined) {
      outputs.routingWeights[path] = output.routingWeights;
    }
    return addSameShape(base, output.delta);
  }

  /**
   * Looks up the token embeddings `[tokens, dim]`. On wasm a one-hot matMul selects the rows,
   * because tfjs-backend-wasm 4.22's gather took about 6 ms for 2048 rows of 128 where the
   * matMul takes under 1 ms. Each product has a single term of 1 · value, so the rows are exact.
   */
  private embed(ids: Tensor2D, tokens: number): Tensor2D {
    const flat = tf.reshape(ids, [tokens]);
    if (tf.getBackend() !== 'wasm') {
      return tf.gather(this.tensors.tokenEmbedding, flat);
    }
    // The one-hot is built as int32 and cast, because the wasm oneHot writes int32 bit patterns
    // into a float32 result.
    const oneHot = tf.cast(tf.oneHot(flat, this.config.vocabSize), 'float32') as Tensor2D;
    return matMulConst(oneHot, this.tensors.tokenEmbedding);
  }

  /** Disposes the frozen weights and constant tensors. The model is unusable afterwards. */
  dispose(): void {
    disposeLlamaTensors(this.tensors);
    this.queryRope.dispose();
    this.keyRope.dispose();
    this.kvRepeat?.dispose();
  }

  private layerTensors(layer: number) {
    return this.tensors.layers[layer] as LlamaTensors['layers'][number];
  }

  private checkIds(ids: Tensor2D): [number, number] {
    if (ids.rank !== 2 || ids.dtype !== 'int32') {
      throw new ShapeError(
        `ids must be a 2-D int32 tensor [batch, length], received ${ids.dtype} ` +
          `[${ids.shape.join(', ')}]. Create it with tf.tensor2d(rows, undefined, 'int32').`,
      );
    }
    const [batch, length] = ids.shape;
    if (length < 1 || batch < 1) {
      throw new ShapeError(`ids must have at least one token, received [${ids.shape.join(', ')}].`);
    }
    if (length > this.config.seqLen) {
      throw new ShapeError(
        `ids have length ${length}, more than the context length ${this.config.seqLen}. ` +
          'Truncate the sequences, keeping the last tokens.',
      );
    }
    const values = ids.dataSync();
    for (let i = 0; i < values.length; i++) {
      const id = values[i] as number;
      if (id < 0 || id >= this.config.vocabSize) {
        throw new ConfigError(
          'ids',
          `contains ${id} at row ${Math.floor(i / length)}, position ${i % length}, outside ` +
            `the vocabulary [0, ${this.config.vocabSize}).`,
        );
      }
    }
    return [batch, length];
  }

  private checkAdapters(adapters: ReadonlyMap<string, LinearAdapter>): void {
    for (const [path, adapter] of adapters) {
      const module = this.module(path);
      if (adapter.dIn !== module.dIn || adapter.dOut !== module.dOut) {
        throw new ConfigError(
          'adapters',
          `adapter at ${path} is ${adapter.dIn}→${adapter.dOut}, but the module is ` +
            `${module.dIn}→${module.dOut}. Create the adapter with dIn ${module.dIn}, dOut ${module.dOut}.`,
        );
      }
    }
  }

  private readAttentionMask(mask: Tensor2D, batch: number, length: number): ArrayLike<number> {
    if (mask.rank !== 2 || mask.shape[0] !== batch || mask.shape[1] !== length) {
      throw new ShapeError(
        `attentionMask must be [${batch}, ${length}] like ids, received [${mask.shape.join(', ')}].`,
      );
    }
    return mask.dataSync();
  }
}

/** Creates a model from a parsed llama2.c checkpoint, using its stored RoPE tables. */
export function llamaModelFromCheckpoint(checkpoint: Llama2cCheckpoint): LlamaModel {
  return new LlamaModel(checkpoint.config, checkpoint.weights, {
    rope: { cos: checkpoint.ropeCos, sin: checkpoint.ropeSin },
  });
}

/**
 * Creates a model with random weights (see {@link randomLlamaWeightArrays}), for tests and
 * experiments that need a small backbone with a particular shape.
 */
export function createRandomLlamaModel(config: LlamaConfigInput, seed: number): LlamaModel {
  const resolved = resolveLlamaConfig(config);
  return new LlamaModel(resolved, randomLlamaWeightArrays(resolved, seed));
}
