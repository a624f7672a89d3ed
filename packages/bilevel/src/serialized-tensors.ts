import { FormatError } from '@guilomo/core';
import type { Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Named float32 tensors in row-major order with their shapes, ready to be written to a
 * safetensors file or any other checkpoint store.
 */
export interface SerializedTensors {
  readonly tensors: Readonly<Record<string, Float32Array>>;
  readonly shapes: Readonly<Record<string, readonly number[]>>;
}

/** Mutable builder of a {@link SerializedTensors}. */
export interface SerializedTensorsBuilder {
  tensors: Record<string, Float32Array>;
  shapes: Record<string, readonly number[]>;
}

/**
 * Reads `tensor` into a new Float32Array under `name`. The values are copied because the cpu
 * backend's `dataSync()` returns its own storage.
 */
export function writeTensor(target: SerializedTensorsBuilder, name: string, tensor: Tensor): void {
  target.tensors[name] = Float32Array.from(tensor.dataSync());
  target.shapes[name] = [...tensor.shape];
}

/**
 * Throws a {@link FormatError} unless `source` has an entry `name` with the values of a tensor
 * of `shape`.
 */
export function checkTensorEntry(
  source: SerializedTensors,
  name: string,
  shape: readonly number[],
): Float32Array {
  const values = source.tensors[name];
  if (values === undefined) {
    throw new FormatError(
      `Tensor ${JSON.stringify(name)} is missing from the saved state, which was probably exported by another configuration.`,
    );
  }
  const savedShape = source.shapes[name];
  if (savedShape !== undefined && !sameShape(savedShape, shape)) {
    throw new FormatError(
      `Saved tensor ${JSON.stringify(name)} has shape [${savedShape.join(', ')}], expected [${shape.join(', ')}].`,
    );
  }
  const size = shape.reduce((product, dim) => product * dim, 1);
  if (values.length !== size) {
    throw new FormatError(
      `Saved tensor ${JSON.stringify(name)} has ${values.length} values, expected ${size} for shape [${shape.join(', ')}].`,
    );
  }
  return values;
}

/**
 * Creates a tensor from the entry `name` of `source` after {@link checkTensorEntry}. The values
 * are copied, so later changes to the caller's arrays do not reach the tensor. The caller owns
 * the returned tensor.
 */
export function readTensor(
  source: SerializedTensors,
  name: string,
  shape: readonly number[],
): Tensor {
  const values = checkTensorEntry(source, name, shape);
  return tf.tensor(Float32Array.from(values), [...shape], 'float32');
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}
