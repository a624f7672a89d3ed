import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';

// The wasm backend runs matMul through XNNPACK only for 2-D, untransposed operands; any
// transposeA/transposeB flag or batch dimension falls back to a scalar loop about 10x slower.
// TF.js's own matMul gradient uses transposed products, so these wrappers compute gradients
// with explicit transposes instead. On the cpu backend they cost one extra copy each.

/**
 * Computes `a @ b` for 2-D tensors, with a gradient that uses only untransposed products.
 * Both operands receive gradients.
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
          tf.matMul(dy as Tensor2D, tf.transpose(savedB)),
          tf.matMul(tf.transpose(savedA), dy as Tensor2D),
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
      gradFunc: (dy: tf.Tensor) => tf.matMul(dy as Tensor2D, tf.transpose(w)),
    };
  }) as (x: Tensor2D) => Tensor2D;
  return op(x);
}
