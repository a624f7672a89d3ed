import { FormatError, ShapeError } from '@guilomo/core';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import type { SerializedTensors, SerializedTensorsBuilder } from './serialized-tensors.js';
import { readTensor, writeTensor } from './serialized-tensors.js';
import { checkNumber } from './validate.js';

/** Options of {@link AdamW}. Defaults are those of `torch.optim.AdamW`. */
export interface AdamWOptions {
  /** Learning rate used when `step` gets none. Default `1e-3`. */
  readonly lr?: number;
  /** Decay rates of the first and second moment estimates. Default `[0.9, 0.999]`. */
  readonly betas?: readonly [number, number];
  /** Term added to the bias-corrected root of the second moment. Default `1e-8`. */
  readonly eps?: number;
  /** Decoupled weight decay, applied as `p ← p − lr·weightDecay·p`. Default `1e-2`. */
  readonly weightDecay?: number;
}

/** {@link AdamWOptions} with every default filled in. */
export interface ResolvedAdamWOptions {
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
}

/**
 * A by-value copy of the optimiser state: the step count and one first-moment (`m`) and
 * second-moment (`v`) tensor per variable, in variable order. The holder owns the tensors.
 */
export interface AdamWState {
  readonly step: number;
  readonly m: readonly Tensor[];
  readonly v: readonly Tensor[];
}

/** The optimiser state as plain arrays: tensors `m.{i}` and `v.{i}` per variable index. */
export interface AdamWSerializedState extends SerializedTensors {
  readonly step: number;
}

/**
 * Checks `options` and fills in the `torch.optim.AdamW` defaults. `fieldPrefix` is put in front
 * of the field names of error messages, such as `inner.` for `inner.lr`.
 */
export function resolveAdamWOptions(
  options: AdamWOptions = {},
  fieldPrefix = '',
): ResolvedAdamWOptions {
  const betas = options.betas ?? [0.9, 0.999];
  return Object.freeze({
    lr: checkNumber(`${fieldPrefix}lr`, options.lr ?? 1e-3, { min: 0 }),
    betas: Object.freeze([
      checkNumber(`${fieldPrefix}betas[0]`, betas[0], { min: 0, lessThan: 1 }),
      checkNumber(`${fieldPrefix}betas[1]`, betas[1], { min: 0, lessThan: 1 }),
    ] as const),
    eps: checkNumber(`${fieldPrefix}eps`, options.eps ?? 1e-8, { min: 0 }),
    weightDecay: checkNumber(`${fieldPrefix}weightDecay`, options.weightDecay ?? 1e-2, { min: 0 }),
  });
}

/**
 * AdamW with the update of `torch.optim.AdamW` (single-tensor path):
 *
 *     m ← β1·m + (1 − β1)·g
 *     v ← β2·v + (1 − β2)·g²
 *     p ← p − lr·wd·p
 *     p ← p − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
 *
 * `tf.train.adam` adds eps before the bias correction of `v`, so it differs in early steps.
 * The state can be copied by value (`getState`, `setState`, `clone`), which a virtual step
 * needs to leave the real state untouched.
 *
 * @example
 * const w = tf.variable(tf.zeros([4]));
 * const optimizer = new AdamW([w], { lr: 3e-4, weightDecay: 0 });
 * const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.sub(w, 1))), [w]);
 * optimizer.step([grads[w.name]]);
 */
export class AdamW {
  readonly variables: readonly Variable[];
  readonly options: ResolvedAdamWOptions;
  private stepCountValue = 0;
  private m: Tensor[];
  private v: Tensor[];

  constructor(variables: readonly Variable[], options: AdamWOptions = {}) {
    this.variables = [...variables];
    this.options = resolveAdamWOptions(options);
    this.m = this.variables.map((variable) => tf.keep(tf.zerosLike(variable)));
    this.v = this.variables.map((variable) => tf.keep(tf.zerosLike(variable)));
  }

  /** Number of updates applied since construction or the last `reset`. */
  get stepCount(): number {
    return this.stepCountValue;
  }

  /**
   * Applies one update with `grads` (one tensor per variable, in variable order) and
   * learning rate `lr`. The gradients are not disposed.
   */
  step(grads: readonly Tensor[], lr: number = this.options.lr): void {
    this.checkStateShapes(grads, 'gradient');
    checkNumber('lr', lr, { min: 0 });
    const t = this.stepCountValue + 1;
    const [beta1, beta2] = this.options.betas;
    const stepSize = lr / (1 - beta1 ** t);
    const bias2Sqrt = Math.sqrt(1 - beta2 ** t);
    const decay = 1 - lr * this.options.weightDecay;

    this.variables.forEach((variable, i) => {
      const [m, v] = tf.tidy(() => {
        const g = grads[i] as Tensor;
        const nextM = tf.add(tf.mul(this.m[i] as Tensor, beta1), tf.mul(g, 1 - beta1));
        const nextV = tf.add(tf.mul(this.v[i] as Tensor, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
        const decayed = this.options.weightDecay === 0 ? variable : tf.mul(variable, decay);
        const denom = tf.add(tf.div(tf.sqrt(nextV), bias2Sqrt), this.options.eps);
        variable.assign(tf.sub(decayed, tf.mul(tf.div(nextM, denom), stepSize)));
        // keep() so that an enclosing tidy does not dispose the new state.
        return [tf.keep(nextM), tf.keep(nextV)];
      });
      this.m[i]?.dispose();
      this.v[i]?.dispose();
      this.m[i] = m as Tensor;
      this.v[i] = v as Tensor;
    });
    this.stepCountValue = t;
  }

  /** Returns a copy of the state. The caller owns the returned tensors. */
  getState(): AdamWState {
    return {
      step: this.stepCountValue,
      m: this.m.map((tensor) => tf.keep(tf.clone(tensor))),
      v: this.v.map((tensor) => tf.keep(tf.clone(tensor))),
    };
  }

  /** Replaces the state with a copy of `state`. The caller keeps ownership of `state`. */
  setState(state: AdamWState): void {
    this.checkStateShapes(state.m, 'm');
    this.checkStateShapes(state.v, 'v');
    this.replaceState(
      state.step,
      state.m.map((tensor) => tf.keep(tf.clone(tensor))),
      state.v.map((tensor) => tf.keep(tf.clone(tensor))),
    );
  }

  /** Returns the state to that of a new optimiser: zero moments and step count 0. */
  reset(): void {
    this.replaceState(
      0,
      this.variables.map((variable) => tf.keep(tf.zerosLike(variable))),
      this.variables.map((variable) => tf.keep(tf.zerosLike(variable))),
    );
  }

  /**
   * Creates an optimiser on the same variables with the same options and a copy of this
   * state. Stepping the clone changes the variables but not this optimiser's state.
   */
  clone(): AdamW {
    const copy = new AdamW(this.variables, this.options);
    const state = this.getState();
    copy.setState(state);
    disposeAdamWState(state);
    return copy;
  }

  /** Reads the state into named Float32Arrays (`m.{i}`, `v.{i}`) for a checkpoint. */
  exportState(): AdamWSerializedState {
    const out: SerializedTensorsBuilder = { tensors: {}, shapes: {} };
    this.variables.forEach((_, i) => {
      writeTensor(out, `m.${i}`, this.m[i] as Tensor);
      writeTensor(out, `v.${i}`, this.v[i] as Tensor);
    });
    return { step: this.stepCountValue, tensors: out.tensors, shapes: out.shapes };
  }

  /** Restores a state written by {@link exportState} for the same variable shapes. */
  importState(state: AdamWSerializedState): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new FormatError(
        `Saved AdamW step must be an integer >= 0, received ${String(state.step)}.`,
      );
    }
    const m: Tensor[] = [];
    const v: Tensor[] = [];
    try {
      this.variables.forEach((variable, i) => {
        m.push(tf.keep(readTensor(state, `m.${i}`, variable.shape)));
        v.push(tf.keep(readTensor(state, `v.${i}`, variable.shape)));
      });
    } catch (error) {
      tf.dispose([...m, ...v]);
      throw error;
    }
    this.replaceState(state.step, m, v);
  }

  /** Disposes the moment tensors. The variables belong to the caller and stay alive. */
  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
    this.m = [];
    this.v = [];
  }

  private replaceState(step: number, m: Tensor[], v: Tensor[]): void {
    tf.dispose([...this.m, ...this.v]);
    this.m = m;
    this.v = v;
    this.stepCountValue = step;
  }

  private checkStateShapes(tensors: readonly Tensor[], role: string): void {
    if (tensors.length !== this.variables.length) {
      throw new ShapeError(
        `AdamW received ${tensors.length} ${role} tensors for ${this.variables.length} variables.`,
      );
    }
    this.variables.forEach((variable, i) => {
      const shape = (tensors[i] as Tensor).shape;
      const same =
        shape.length === variable.shape.length &&
        shape.every((dim, d) => dim === variable.shape[d]);
      if (!same) {
        throw new ShapeError(
          `AdamW ${role} ${i} has shape [${shape.join(', ')}], but variable ${JSON.stringify(variable.name)} ` +
            `has shape [${variable.shape.join(', ')}].`,
        );
      }
    });
  }
}

/** Disposes the tensors of a state returned by {@link AdamW.getState}. */
export function disposeAdamWState(state: AdamWState): void {
  tf.dispose([...state.m, ...state.v]);
}
