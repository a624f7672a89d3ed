import { FormatError } from '@guilomo/core';
import type { Variable } from '@tensorflow/tfjs-core';
import type { AdamWSerializedState } from './adamw.js';
import type { BilevelMode } from './bilevel-config.js';
import type { SerializedTensors } from './serialized-tensors.js';

/** Format tag of {@link BilevelSearchState}. */
export const BILEVEL_STATE_FORMAT = 'guilomo.bilevel-search';
/** Version of {@link BilevelSearchState} written by this package. */
export const BILEVEL_STATE_VERSION = 1;

/** Counters and settings of a saved search. Plain JSON. */
export interface BilevelSearchMeta {
  readonly mode: BilevelMode;
  readonly gradientAccumulationSteps: number;
  /** Pairs processed, which is also the number of outer steps. */
  readonly pairs: number;
  /** Inner optimiser steps taken, which is also the inner schedule position. */
  readonly innerSteps: number;
  /** Pairs whose inner gradients are accumulated but not applied yet. */
  readonly pendingPairs: number;
  /** AdamW step count of the inner optimiser. In `reference` mode it also counts virtual steps. */
  readonly innerOptimizerStep: number;
  /** AdamW step count of the outer optimiser. */
  readonly outerOptimizerStep: number;
  readonly innerVariableCount: number;
  readonly outerVariableCount: number;
  /** Whether `tensors` contains the variable values (`variables.inner.{i}`, `variables.outer.{i}`). */
  readonly includesVariables: boolean;
}

/**
 * Complete state of a {@link BilevelSearch}: JSON metadata plus named Float32Arrays. Tensor
 * names are `inner.m.{i}`, `inner.v.{i}`, `outer.m.{i}`, `outer.v.{i}`, `accumulated.{i}`
 * (pending inner gradients, when gradient accumulation is on) and, optionally,
 * `variables.inner.{i}` and `variables.outer.{i}`, where `{i}` is the variable's index in the
 * problem's lists.
 */
export interface BilevelSearchState extends SerializedTensors {
  readonly format: typeof BILEVEL_STATE_FORMAT;
  readonly version: number;
  readonly meta: BilevelSearchMeta;
}

/** Returns the entries of `state` whose names start with `prefix`, with the prefix removed. */
export function selectTensors(state: SerializedTensors, prefix: string): SerializedTensors {
  const tensors: Record<string, Float32Array> = {};
  const shapes: Record<string, readonly number[]> = {};
  for (const [name, values] of Object.entries(state.tensors)) {
    if (name.startsWith(prefix)) {
      tensors[name.slice(prefix.length)] = values;
      const shape = state.shapes[name];
      if (shape !== undefined) {
        shapes[name.slice(prefix.length)] = shape;
      }
    }
  }
  return { tensors, shapes };
}

/** Copies `source` into `target` with `prefix` put in front of every name. */
export function addPrefixed(
  target: { tensors: Record<string, Float32Array>; shapes: Record<string, readonly number[]> },
  source: SerializedTensors,
  prefix: string,
): void {
  for (const [name, values] of Object.entries(source.tensors)) {
    target.tensors[`${prefix}${name}`] = values;
    const shape = source.shapes[name];
    if (shape !== undefined) {
      target.shapes[`${prefix}${name}`] = shape;
    }
  }
}

/** Builds the optimiser part of a saved search for {@link AdamW.importState}. */
export function optimizerState(
  state: BilevelSearchState,
  prefix: string,
  step: number,
): AdamWSerializedState {
  return { step, ...selectTensors(state, prefix) };
}

/**
 * Throws a {@link FormatError} unless `state` was written by this package's format version
 * for a search with the same mode, accumulation and variable counts.
 */
export function checkSearchState(
  state: BilevelSearchState,
  expected: {
    mode: BilevelMode;
    gradientAccumulationSteps: number;
    inner: readonly Variable[];
    outer: readonly Variable[];
  },
): void {
  if (state.format !== BILEVEL_STATE_FORMAT || state.version !== BILEVEL_STATE_VERSION) {
    throw new FormatError(
      `Saved state has format ${JSON.stringify(state.format)} version ${String(state.version)}, ` +
        `but this package reads ${JSON.stringify(BILEVEL_STATE_FORMAT)} version ${BILEVEL_STATE_VERSION}.`,
    );
  }
  const { meta } = state;
  const mismatches: string[] = [];
  if (meta.mode !== expected.mode) {
    mismatches.push(
      `mode ${JSON.stringify(meta.mode)} (this search: ${JSON.stringify(expected.mode)})`,
    );
  }
  if (meta.gradientAccumulationSteps !== expected.gradientAccumulationSteps) {
    mismatches.push(
      `gradientAccumulationSteps ${meta.gradientAccumulationSteps} (this search: ${expected.gradientAccumulationSteps})`,
    );
  }
  if (meta.innerVariableCount !== expected.inner.length) {
    mismatches.push(
      `${meta.innerVariableCount} inner variables (this search: ${expected.inner.length})`,
    );
  }
  if (meta.outerVariableCount !== expected.outer.length) {
    mismatches.push(
      `${meta.outerVariableCount} outer variables (this search: ${expected.outer.length})`,
    );
  }
  if (mismatches.length > 0) {
    throw new FormatError(
      `Saved search state does not match this search: ${mismatches.join('; ')}.`,
    );
  }
  const counters = [
    'pairs',
    'innerSteps',
    'pendingPairs',
    'innerOptimizerStep',
    'outerOptimizerStep',
  ] as const;
  for (const key of counters) {
    const value = meta[key];
    if (!Number.isInteger(value) || value < 0) {
      throw new FormatError(
        `Saved search state has invalid \`meta.${key}\` ${String(value)}, expected an integer >= 0.`,
      );
    }
  }
  if (meta.pendingPairs >= expected.gradientAccumulationSteps) {
    throw new FormatError(
      `Saved search state has \`meta.pendingPairs\` ${meta.pendingPairs}, which must be below ` +
        `gradientAccumulationSteps ${expected.gradientAccumulationSteps}.`,
    );
  }
}
