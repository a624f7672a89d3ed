import type { ProjectionName } from '@guilomo/core';
import { PROJECTION_NAMES, Rng, ShapeError } from '@guilomo/core';
import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import type { LlamaLayerArrays, LlamaWeightArrays } from './checkpoint.js';
import type { LlamaConfig } from './config.js';
import { projectionShape } from './modules.js';

/** Frozen tensors of one decoder layer. */
export interface LlamaLayerTensors {
  readonly attentionNorm: Tensor1D;
  readonly mlpNorm: Tensor1D;
  /** Projection weights transposed to `[dIn, dOut]`, so a projection is `x @ W`. */
  readonly projections: Readonly<Record<ProjectionName, Tensor2D>>;
}

/** Frozen tensors of a LLaMA decoder. */
export interface LlamaTensors {
  /** `[vocabSize, dim]`. */
  readonly tokenEmbedding: Tensor2D;
  readonly layers: readonly LlamaLayerTensors[];
  readonly finalNorm: Tensor1D;
  /** Output head transposed to `[dim, vocabSize]`, which is a copy of the embedding when tied. */
  readonly classifier: Tensor2D;
}

/** Transposes a row-major `[rows, columns]` array into a new `[columns, rows]` array. */
function transposeArray(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    const rowOffset = r * columns;
    for (let c = 0; c < columns; c++) {
      out[c * rows + r] = values[rowOffset + c] as number;
    }
  }
  return out;
}

function checkLength(name: string, values: Float32Array, expected: number): void {
  if (values.length !== expected) {
    throw new ShapeError(`${name} has ${values.length} values, expected ${expected}.`);
  }
}

/**
 * Creates the frozen tensors of a model from plain arrays, transposing every projection and
 * the classifier to `[dIn, dOut]`. The tensors are kept outside any tidy scope, so dispose
 * them with {@link disposeLlamaTensors}.
 */
export function createLlamaTensors(config: LlamaConfig, arrays: LlamaWeightArrays): LlamaTensors {
  const { dim, vocabSize, numLayers } = config;
  if (arrays.layers.length !== numLayers) {
    throw new ShapeError(`weights have ${arrays.layers.length} layers, config has ${numLayers}.`);
  }
  checkLength('tokenEmbedding', arrays.tokenEmbedding, vocabSize * dim);
  checkLength('finalNorm', arrays.finalNorm, dim);
  const layers = arrays.layers.map((layer, l) => {
    checkLength(`layers[${l}].attentionNorm`, layer.attentionNorm, dim);
    checkLength(`layers[${l}].mlpNorm`, layer.mlpNorm, dim);
    const projections = {} as Record<ProjectionName, Tensor2D>;
    for (const projection of PROJECTION_NAMES) {
      const { dIn, dOut } = projectionShape(config, projection);
      const values = layer.projections[projection];
      checkLength(`layers[${l}].projections.${projection}`, values, dIn * dOut);
      projections[projection] = tf.keep(
        tf.tensor2d(transposeArray(values, dOut, dIn), [dIn, dOut]),
      );
    }
    return {
      attentionNorm: tf.keep(tf.tensor1d(layer.attentionNorm)),
      mlpNorm: tf.keep(tf.tensor1d(layer.mlpNorm)),
      projections,
    };
  });
  const classifierArray = arrays.classifier ?? arrays.tokenEmbedding;
  checkLength('classifier', classifierArray, vocabSize * dim);
  return {
    tokenEmbedding: tf.keep(tf.tensor2d(arrays.tokenEmbedding, [vocabSize, dim])),
    layers,
    finalNorm: tf.keep(tf.tensor1d(arrays.finalNorm)),
    classifier: tf.keep(
      tf.tensor2d(transposeArray(classifierArray, vocabSize, dim), [dim, vocabSize]),
    ),
  };
}

/** Disposes every tensor of {@link LlamaTensors}. */
export function disposeLlamaTensors(tensors: LlamaTensors): void {
  tensors.tokenEmbedding.dispose();
  tensors.finalNorm.dispose();
  tensors.classifier.dispose();
  for (const layer of tensors.layers) {
    layer.attentionNorm.dispose();
    layer.mlpNorm.dispose();
    for (const projection of PROJECTION_NAMES) {
      layer.projections[projection].dispose();
    }
  }
}

/**
 * Draws random weights for tests and experiments: embeddings and projections N(0, 0.02²),
 * norm weights 1, and an untied classifier when `config.sharedClassifier` is false.
 */
export function randomLlamaWeightArrays(config: LlamaConfig, seed: number): LlamaWeightArrays {
  const rng = new Rng(seed);
  const { dim, vocabSize } = config;
  const layers: LlamaLayerArrays[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const projections = {} as Record<ProjectionName, Float32Array>;
    for (const projection of PROJECTION_NAMES) {
      const { dIn, dOut } = projectionShape(config, projection);
      projections[projection] = rng.normalArray(dIn * dOut, 0, 0.02);
    }
    layers.push({
      attentionNorm: new Float32Array(dim).fill(1),
      mlpNorm: new Float32Array(dim).fill(1),
      projections,
    });
  }
  const tokenEmbedding = rng.normalArray(vocabSize * dim, 0, 0.02);
  const finalNorm = new Float32Array(dim).fill(1);
  if (config.sharedClassifier) {
    return { tokenEmbedding, layers, finalNorm };
  }
  return {
    tokenEmbedding,
    layers,
    finalNorm,
    classifier: rng.normalArray(vocabSize * dim, 0, 0.02),
  };
}
