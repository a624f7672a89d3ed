import type { Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

// The wasm backend runs matMul through XNNPACK only for 2-D, untransposed operands; any
// transposeA/transposeB flag or batch dimension falls back to a scalar loop about 10x slower.
// TF.js's own matMul gradient uses transposed products, so by default these wrappers compute
// gradients with explicit transposes instead. On the cpu backend they cost one extra copy each.
// A backend whose matMul kernel handles transposed operands at full speed, such as one with the
// OpenBLAS kernels registered, can be marked with setTransposedMatMulFast; the gradients then
// pass transpose flags and skip the copies.

/** Backends marked by {@link setTransposedMatMulFast}. */
const fastTransposeBackends = new Set<string>();

/**
 * Marks whether the matMul kernel of `backendName` runs transposed operands as fast as
 * untransposed ones. When it does, the gradients of {@link matMul2d} and {@link matMulConst}
 * on that backend pass transpose flags to tf.matMul instead of transposing explicitly. The
 * products are the same; only the copies go. Default: no backend is marked.
 */
export function setTransposedMatMulFast(backendName: string, fast: boolean): void {
  if (fast) {
    fastTransposeBackends.add(backendName);
  } else {
    fastTransposeBackends.delete(backendName);
  }
}

/** Returns whether {@link setTransposedMatMulFast} marked `backendName`. */
export function isTransposedMatMulFast(backendName: string): boolean {
  return fastTransposeBackends.has(backendName);
}

/** `a @ bᵀ`, through a transpose flag on backends marked fast and an explicit transpose elsewhere. */
function matMulTransposedB(a: Tensor2D, b: Tensor2D): Tensor2D {
  return fastTransposeBackends.has(tf.getBackend())
    ? tf.matMul(a, b, false, true)
    : tf.matMul(a, tf.transpose(b));
}

/** `aᵀ @ b`, through a transpose flag on backends marked fast and an explicit transpose elsewhere. */
function matMulTransposedA(a: Tensor2D, b: Tensor2D): Tensor2D {
  return fastTransposeBackends.has(tf.getBackend())
    ? tf.matMul(a, b, true, false)
    : tf.matMul(tf.transpose(a), b);
}

/**
 * Computes `a @ b` for 2-D tensors, with a gradient that uses only untransposed products
 * unless the backend is marked by {@link setTransposedMatMulFast}. Both operands receive
 * gradients.
 */
export const matMul2d: (a: Tensor2D, b: Tensor2D) => Tensor2D = tf.customGrad(
  (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [a, b, save] = args as [Tensor2D, Tensor2D, tf.GradSaveFunc];
    save([a, b]);
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedA, savedB] = saved as [Tensor2D, Tensor2D];
        return [
          matMulTransposedB(dy as Tensor2D, savedB),
          matMulTransposedA(savedA, dy as Tensor2D),
        ];
      },
    };
  },
) as (a: Tensor2D, b: Tensor2D) => Tensor2D;

/**
 * Computes `x @ w` where `w` is a constant (a frozen weight): only `x` receives a gradient, so
 * the backward pass does one matMul instead of two.
 */
export function matMulConst(x: Tensor2D, w: Tensor2D): Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as Tensor2D;
    return {
      value: tf.matMul(input, w),
      gradFunc: (dy: tf.Tensor) => matMulTransposedB(dy as Tensor2D, w),
    };
  }) as (x: Tensor2D) => Tensor2D;
  return op(x);
}
