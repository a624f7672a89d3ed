import type { Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

// The wasm backend runs matMul through XNNPACK only for 2-D, untransposed operands; any
// transposeA/transposeB flag or batch dimension falls back to a scalar loop about 10x slower.
// TF.js's own matMul gradient uses transposed products, so by default these wrappers compute
// gradients with explicit transposes instead. On the cpu backend they cost one extra copy each.
// A backend whose matMul kernel handles transposed operands at full speed, such as one with the
// OpenBLAS kernels registered, can be marked with setTransposedMatMulFast; the wrappers then use
// tf.matMul and its own gradient, which passes transpose flags.

/** Backends marked by {@link setTransposedMatMulFast}. */
const fastTransposeBackends = new Set<string>();

/**
 * Marks whether the matMul kernel of `backendName` runs transposed operands as fast as
 * untransposed ones. When it does, {@link matMul2d} and {@link matMulConst} on that backend
 * compute their gradients with transpose flags instead of explicit transposes, and only for the
 * operands whose gradient is requested. The products are the same. Default: no backend is
 * marked.
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

/** Computes `a @ bᵀ` with a transpose flag on backends marked fast, else an explicit transpose. */
function matMulTransposedB(a: Tensor2D, b: Tensor2D): Tensor2D {
  return fastTransposeBackends.has(tf.getBackend())
    ? tf.matMul(a, b, false, true)
    : tf.matMul(a, tf.transpose(b));
}

/** Computes `aᵀ @ b` with a transpose flag on backends marked fast, else an explicit transpose. */
function matMulTransposedA(a: Tensor2D, b: Tensor2D): Tensor2D {
  return fastTransposeBackends.has(tf.getBackend())
    ? tf.matMul(a, b, true, false)
    : tf.matMul(tf.transpose(a), b);
}

const matMul2dExplicit = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [Tensor2D, Tensor2D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedA, savedB] = saved as [Tensor2D, Tensor2D];
      return [matMulTransposedB(dy as Tensor2D, savedB), matMulTransposedA(savedA, dy as Tensor2D)];
    },
  };
}) as (a: Tensor2D, b: Tensor2D) => Tensor2D;

/**
 * Computes `a @ b` for 2-D tensors. Both operands receive gradients. The gradient uses only
 * untransposed products, except on a backend marked by {@link setTransposedMatMulFast}: there
 * this is plain tf.matMul, whose gradient passes transpose flags and, unlike a custom gradient,
 * computes only the operand gradients that the caller requested.
 */
export function matMul2d(a: Tensor2D, b: Tensor2D): Tensor2D {
  return fastTransposeBackends.has(tf.getBackend()) ? tf.matMul(a, b) : matMul2dExplicit(a, b);
}

/**
 * Computes `x @ w` where `w` is a constant (a frozen weight): only `x` receives a gradient, so
 * the backward pass does one matMul instead of two. On a backend marked by
 * {@link setTransposedMatMulFast}, a `w` that is not a tf.Variable goes through plain
 * tf.matMul, whose gradient skips `w` because no gradient is requested for a plain tensor.
 */
export function matMulConst(x: Tensor2D, w: Tensor2D): Tensor2D {
  if (fastTransposeBackends.has(tf.getBackend()) && !(w instanceof tf.Variable)) {
    return tf.matMul(x, w);
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as Tensor2D;
    return {
      value: tf.matMul(input, w),
      gradFunc: (dy: tf.Tensor) => matMulTransposedB(dy as Tensor2D, w),
    };
  }) as (x: Tensor2D) => Tensor2D;
  return op(x);
}
