import { ConfigError } from '@guilomo/core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import type { AdamW } from './adamw.js';
import { globalNorm } from './clip-by-global-norm.js';
import type { BilevelProblem } from './problem.js';
import { checkNumber } from './validate.js';
import {
  assignShifted,
  assignVariables,
  gradientsOf,
  perturbationRadius,
  snapshotVariables,
} from './variable-ops.js';

/** Update rule of the DARTS virtual step `w' = w − η·∇_w L_train(w, α)`. */
export type UnrolledStep = 'sgd' | 'adamw';

/** Outer gradient `dα` of one pair of batches. The caller owns the tensors. */
export interface OuterGradient {
  /** `dα`, one tensor per outer variable, in variable order. */
  readonly grads: Tensor[];
  /** Validation loss at the weights where `∇_α L_val` was taken. */
  readonly valLoss: Scalar;
  /** `‖v‖₂` of the finite-difference direction `v`. Absent in first-order mode. */
  readonly vNorm?: Scalar;
}

/** Disposes every tensor of an {@link OuterGradient}. */
export function disposeOuterGradient(gradient: OuterGradient): void {
  tf.dispose([...gradient.grads, gradient.valLoss]);
  if (gradient.vNorm !== undefined) {
    gradient.vNorm.dispose();
  }
}

/**
 * Computes the first-order outer gradient `dα = ∇_α L_val(w, α)` at the current weights.
 * The variables are not changed.
 */
export function firstOrderOuterGradient<Batch>(
  problem: BilevelProblem<Batch>,
  valBatch: Batch,
): OuterGradient {
  const [valLoss, ...grads] = tf.tidy(() => {
    const val = gradientsOf(() => problem.loss(valBatch), problem.outerVariables);
    return [val.value, ...val.grads];
  });
  return { grads, valLoss: valLoss as Scalar };
}

/** Options of {@link dartsOuterGradient}. */
export interface DartsGradientOptions {
  /** Learning rate `η` of the virtual step, normally the current inner learning rate. */
  readonly eta: number;
  /** Virtual-step rule. `adamw` needs `innerOptimizer`. Default `sgd`. */
  readonly unrolled?: UnrolledStep;
  /** Inner optimiser. The `adamw` virtual step runs on a copy of its state. */
  readonly innerOptimizer?: AdamW;
  /** L2 norm of the perturbation `R·v`, so `R = perturbationNorm / ‖v‖₂`. Default 0.01. */
  readonly perturbationNorm?: number;
}

/**
 * Computes the DARTS second-order outer gradient
 *
 *     w'  = w − η·∇_w L_train(w, α)                    (virtual step)
 *     v   = ∇_w' L_val(w', α),  R = perturbationNorm / ‖v‖₂,  w± = w ± R·v
 *     dα  = ∇_α L_val(w', α) − η·[∇_α L_train(w+, α) − ∇_α L_train(w−, α)] / (2R)
 *
 * with non-accumulating gradients. For the `sgd` virtual step the bracket is a central
 * difference of `∇²_{αw} L_train · v`, so `dα` approximates `d/dα L_val(w', α)`. For `adamw` the
 * virtual step runs on a copy of the optimiser state and the same correction term is used,
 * which ignores Adam's preconditioner. The weights are restored from value copies before the
 * function returns, also when the loss throws, and no optimiser state changes.
 */
export function dartsOuterGradient<Batch>(
  problem: BilevelProblem<Batch>,
  trainBatch: Batch,
  valBatch: Batch,
  options: DartsGradientOptions,
): OuterGradient {
  const eta = checkNumber('eta', options.eta, { min: 0 });
  const perturbationNorm = checkNumber('perturbationNorm', options.perturbationNorm ?? 0.01, {
    greaterThan: 0,
  });
  const unrolled = options.unrolled ?? 'sgd';
  const innerOptimizer = options.innerOptimizer;
  if (unrolled === 'adamw' && innerOptimizer === undefined) {
    throw new ConfigError('innerOptimizer', 'is required when `unrolled` is "adamw".');
  }
  const inner = problem.innerVariables;
  const outer = problem.outerVariables;
  const trainLoss = (): Scalar => problem.loss(trainBatch);

  const [valLoss, vNorm, ...grads] = tf.tidy(() => {
    const w0 = snapshotVariables(inner);
    try {
      // Virtual step w' = w − η·∇_w L_train(w, α).
      const train = gradientsOf(trainLoss, inner);
      if (innerOptimizer !== undefined && unrolled === 'adamw') {
        const shadow = innerOptimizer.clone();
        try {
          shadow.step(train.grads, eta);
        } finally {
          shadow.dispose();
        }
      } else {
        assignShifted(inner, w0, train.grads, -eta);
      }

      // v = ∇_w' L_val(w', α) and ∇_α L_val(w', α) from one backward pass.
      const val = gradientsOf(() => problem.loss(valBatch), [...inner, ...outer]);
      const v = val.grads.slice(0, inner.length);
      const valOuter = val.grads.slice(inner.length);
      const norm = globalNorm(v);
      const radius = perturbationRadius(norm, perturbationNorm);

      // Central difference of ∇_α L_train along v around the unperturbed weights w.
      assignShifted(inner, w0, v, radius);
      const plus = gradientsOf(trainLoss, outer).grads;
      assignShifted(inner, w0, v, tf.neg(radius));
      const minus = gradientsOf(trainLoss, outer).grads;
      const twoRadius = tf.mul(radius, 2);
      const outerGrads = valOuter.map((g, i) => {
        const secondOrder = tf.div(tf.sub(plus[i] as Tensor, minus[i] as Tensor), twoRadius);
        return tf.sub(g, tf.mul(secondOrder, eta));
      });
      return [val.value, norm, ...outerGrads];
    } finally {
      assignVariables(inner, w0);
    }
  });
  return { grads, valLoss: valLoss as Scalar, vNorm: vNorm as Scalar };
}
