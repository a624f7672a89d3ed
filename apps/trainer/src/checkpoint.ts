import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, readSafetensorsFile, writeSafetensorsFile } from '@guilomo/core';
import type { Variable } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { readJsonIfExists, writeJson } from './run-dir.js';

/** Named float32 arrays plus JSON state: what a phase needs to continue bit for bit. */
export interface CheckpointPayload {
  readonly step: number;
  readonly arrays: Readonly<Record<string, { shape: readonly number[]; data: Float32Array }>>;
  readonly state: Readonly<Record<string, unknown>>;
}

interface LatestPointer {
  readonly step: number;
  readonly folder: string;
}

/**
 * Writes a checkpoint as `step-NNNNNN/{tensors.safetensors,state.json}` and then points
 * `latest.json` at it. Each file is written atomically and the pointer moves last, so a crash
 * leaves the previous checkpoint intact. Older step folders are removed after the move.
 */
export async function saveCheckpoint(dir: string, payload: CheckpointPayload): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const folder = `step-${String(payload.step).padStart(6, '0')}`;
  const target = join(dir, folder);
  mkdirSync(target, { recursive: true });
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, array] of Object.entries(payload.arrays)) {
    tensors[name] = { dtype: 'F32', shape: [...array.shape], data: array.data };
  }
  await writeSafetensorsFile(join(target, 'tensors.safetensors'), tensors, {
    format: 'guilomo-checkpoint',
  });
  await writeJson(join(target, 'state.json'), { step: payload.step, ...payload.state });
  await writeJson(join(dir, 'latest.json'), { step: payload.step, folder } satisfies LatestPointer);
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('step-') && entry !== folder) {
      rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }
}

/** Loads the latest checkpoint of a phase, or returns undefined when there is none. */
export async function loadCheckpoint(dir: string): Promise<CheckpointPayload | undefined> {
  const latest = readJsonIfExists<LatestPointer>(join(dir, 'latest.json'));
  if (latest === undefined) {
    return undefined;
  }
  const target = join(dir, latest.folder);
  const tensorsPath = join(target, 'tensors.safetensors');
  if (!existsSync(tensorsPath)) {
    throw new FormatError(
      `Checkpoint ${target} is incomplete: tensors.safetensors is missing. Delete ${join(dir, 'latest.json')} to start the phase over.`,
    );
  }
  const { tensors } = await readSafetensorsFile(tensorsPath);
  const arrays: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
  for (const [name, tensor] of Object.entries(tensors)) {
    if (!(tensor.data instanceof Float32Array)) {
      throw new FormatError(`Checkpoint tensor ${name} in ${tensorsPath} is not float32.`);
    }
    arrays[name] = { shape: tensor.shape, data: tensor.data };
  }
  const state = readJsonIfExists<Record<string, unknown>>(join(target, 'state.json')) ?? {};
  return { step: latest.step, arrays, state };
}

/** Copies variable values into named arrays for a checkpoint. */
export function exportVariables(
  variables: ReadonlyMap<string, Variable>,
): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, variable] of variables) {
    out[name] = {
      shape: [...variable.shape],
      data: Float32Array.from(variable.dataSync() as Float32Array),
    };
  }
  return out;
}

/** Assigns checkpointed arrays back into variables; a missing or misshapen entry is an error. */
export function importVariables(
  variables: ReadonlyMap<string, Variable>,
  arrays: Readonly<Record<string, { shape: readonly number[]; data: Float32Array }>>,
  source: string,
): void {
  for (const [name, variable] of variables) {
    const array = arrays[name];
    if (array === undefined) {
      throw new FormatError(
        `Checkpoint ${source} has no tensor ${name}; it was written by a run with another configuration.`,
      );
    }
    if (
      array.shape.length !== variable.shape.length ||
      array.shape.some((d, i) => d !== variable.shape[i])
    ) {
      throw new FormatError(
        `Checkpoint tensor ${name} in ${source} has shape [${array.shape.join(', ')}], expected [${variable.shape.join(', ')}].`,
      );
    }
    tf.tidy(() => variable.assign(tf.tensor(array.data, [...array.shape])));
  }
}

const OPTIMIZER_PREFIX = 'optimizer/';

/** Adds an optimiser's serialised tensors to checkpoint arrays under the `optimizer/` prefix. */
export function packOptimizerArrays(
  arrays: Record<string, { shape: readonly number[]; data: Float32Array }>,
  state: {
    tensors: Readonly<Record<string, Float32Array>>;
    shapes: Readonly<Record<string, readonly number[]>>;
  },
): void {
  for (const [name, data] of Object.entries(state.tensors)) {
    arrays[`${OPTIMIZER_PREFIX}${name}`] = { shape: state.shapes[name] ?? [data.length], data };
  }
}

/** Reads back the optimiser tensors that {@link packOptimizerArrays} stored. */
export function unpackOptimizerArrays(arrays: CheckpointPayload['arrays']): {
  tensors: Record<string, Float32Array>;
  shapes: Record<string, readonly number[]>;
} {
  const tensors: Record<string, Float32Array> = {};
  const shapes: Record<string, readonly number[]> = {};
  for (const [name, array] of Object.entries(arrays)) {
    if (name.startsWith(OPTIMIZER_PREFIX)) {
      tensors[name.slice(OPTIMIZER_PREFIX.length)] = array.data;
      shapes[name.slice(OPTIMIZER_PREFIX.length)] = array.shape;
    }
  }
  return { tensors, shapes };
}
