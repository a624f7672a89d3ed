import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import type { AdamW } from './adamw.js';
import { globalNorm } from './clip-by-global-norm.js';
import type { OuterGradient } from './outer-gradient.js';
import type { BilevelProblem } from './problem.js';
import { checkNumber } from './validate.js';
import {
  addLists,
  assignShifted,
  assignVariables,
  gradientsOf,
  perturbationRadius,
  snapshotVariables,
} from './variable-ops.js';

/** Options of {@link referenceOuterGradient}. */
export interface ReferenceGradientOptions {
  /** Current inner learning rate `η`. */
  readonly eta: number;
  /** The live inner optimiser. Its state keeps the virtual step unless it had never stepped. */
  readonly innerOptimizer: AdamW;
  /** L2 norm of the perturbation `R·v`. Default 0.01. */
  readonly perturbationNorm?: number;
}

/**
 * Reproduces the outer gradient of the GuiLoMo authors' code (`architect_step` of their
 * trainer), accumulations included. This is not the DARTS hypergradient: PyTorch's `.grad`
 * fields accumulate across its backward passes, so with gradients g at the marked weights
 *
 *     w'  = AdamW step of the LIVE inner optimiser with gw1 = ∇_w L_train(w)
 *     v   = gw1 + ∇_w' L_val(w')                         (w-grads not zeroed before the val pass)
 *     acc = gα1 + gα2,  gα1 = ∇_α L_train(w),  gα2 = ∇_α L_val(w')
 *     P   = acc + gα+,  N = P + gα−,  gα± = ∇_α L_train(w ± R·v),  R = perturbationNorm / ‖v‖₂
 *     dα  = acc − η·(P − N) / (2R)  =  gα1 + gα2 + η·gα− / (2R)
 *
 * The virtual step changes the live optimiser's moments and step count, and the change
 * persists: the authors' `load_state_dict` restore receives references to the tensors it is
 * meant to restore. The one exception is an optimiser that has not stepped yet, because its
 * empty saved state does restore it. This function resets such an optimiser afterwards.
 * The weights are restored from value copies, where the authors' code adds `R·v` back.
 */
export function referenceOuterGradient<Batch>(
  problem: BilevelProblem<Batch>,
  trainBatch: Batch,
  valBatch: Batch,
  options: ReferenceGradientOptions,
): OuterGradient {
  const eta = checkNumber('eta', options.eta, { min: 0 });
  const perturbationNorm = checkNumber('perturbationNorm', options.perturbationNorm ?? 0.01, {
    greaterThan: 0,
  });
  const { innerOptimizer } = options;
  const wasFresh = innerOptimizer.stepCount === 0;
  const inner = problem.innerVariables;
  const outer = problem.outerVariables;
  const all = [...inner, ...outer];
  const trainLoss = (): Scalar => problem.loss(trainBatch);

  try {
    const [valLoss, vNorm, ...grads] = tf.tidy(() => {
      const w0 = snapshotVariables(inner);
      try {
        // Train pass at w: w-grads gw1, and α-grads gα1 that are never cleared.
        const first = gradientsOf(trainLoss, all);
        const gw1 = first.grads.slice(0, inner.length);
        let alphaGrads = first.grads.slice(inner.length);

        // Virtual step with the live optimiser.
        innerOptimizer.step(gw1, eta);

        // Validation pass at w' without zeroing: both gradient kinds accumulate.
        const second = gradientsOf(() => problem.loss(valBatch), all);
        const v = addLists(gw1, second.grads.slice(0, inner.length));
        alphaGrads = addLists(alphaGrads, second.grads.slice(inner.length));
        const dAlpha = alphaGrads;
        assignVariables(inner, w0);

        // Finite difference whose two sides are cumulative copies of the α-grads.
        const norm = globalNorm(v);
        const radius = perturbationRadius(norm, perturbationNorm);
        assignShifted(inner, w0, v, radius);
        alphaGrads = addLists(alphaGrads, gradientsOf(trainLoss, outer).grads);
        const gradsPlus = alphaGrads;
        assignShifted(inner, w0, v, tf.neg(radius));
        alphaGrads = addLists(alphaGrads, gradientsOf(trainLoss, outer).grads);
        const gradsMinus = alphaGrads;
        const twoRadius = tf.mul(radius, 2);
        const outerGrads = dAlpha.map((d, i) => {
          const implicit = tf.div(
            tf.sub(gradsPlus[i] as Tensor, gradsMinus[i] as Tensor),
            twoRadius,
          );
          return tf.sub(d, tf.mul(implicit, eta));
        });
        return [second.value, norm, ...outerGrads];
      } finally {
        assignVariables(inner, w0);
      }
    });
    return { grads, valLoss: valLoss as Scalar, vNorm: vNorm as Scalar };
  } finally {
    if (wasFresh) {
      innerOptimizer.reset();
    }
  }
}
