import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leanVariableGrads, matMul2d, Rng } from '../src/index.js';
import { expectNoLeaks, TEST_BACKENDS, useBackend } from '../src/testing/index.js';

/** Live tensors when a custom gradient at the start of a chain runs, the last step of backward. */
const liveAtLastStep: number[] = [];
const recordLive = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  return {
    value: tf.clone(x),
    gradFunc: (dy: tf.Tensor) => {
      liveAtLastStep.push(tf.memory().numTensors);
      return tf.clone(dy);
    },
  };
}) as (x: tf.Tensor) => tf.Tensor;

describe.each(TEST_BACKENDS)('leanVariableGrads on %s', (backend) => {
  const rng = new Rng(3);
  let w1: tf.Variable;
  let w2: tf.Variable;
  let bias: tf.Variable;
  let unused: tf.Variable;
  let frozen: tf.Variable;
  let input: tf.Tensor2D;

  beforeAll(async () => {
    await useBackend(backend);
    const variable = (shape: [number, number] | [number], name: string, trainable = true) =>
      tf.tidy(() =>
        tf.variable(
          tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape),
          trainable,
          `${name}-${backend}`,
        ),
      );
    w1 = variable([6, 5], 'w1');
    w2 = variable([5, 4], 'w2');
    bias = variable([4], 'bias');
    unused = variable([3], 'unused');
    frozen = variable([4], 'frozen', false);
    input = tf.tensor2d(rng.normalArray(7 * 6), [7, 6]);
  });

  afterAll(() => {
    tf.dispose([w1, w2, bias, unused, frozen, input]);
  });

  /** A loss with reused tensors, broadcasting, a custom gradient, softmax and a split. */
  const loss = (): tf.Scalar =>
    tf.tidy(() => {
      const hidden = matMul2d(input, w1 as unknown as tf.Tensor2D);
      const activated = tf.mul(hidden, tf.sigmoid(hidden));
      const logits = tf.add(tf.matMul(activated, w2), tf.mul(bias, frozen));
      const [left, right] = tf.split(tf.softmax(logits), 2, 1);
      return tf.add(
        tf.sum(tf.mul(left as tf.Tensor, right as tf.Tensor)),
        tf.mean(tf.square(logits)),
      ) as tf.Scalar;
    });

  it('matches tf.variableGrads bit for bit', async () => {
    await expectNoLeaks(() => {
      const variables = [w1, w2, bias, unused, frozen];
      const lean = leanVariableGrads(loss, variables);
      const stock = tf.variableGrads(loss, variables);
      expect(lean.value.dataSync()).toEqual(stock.value.dataSync());
      expect(Object.keys(lean.grads).sort()).toEqual([w1.name, w2.name, bias.name].sort());
      for (const variable of [w1, w2, bias]) {
        expect(lean.grads[variable.name]?.dataSync()).toEqual(
          stock.grads[variable.name]?.dataSync(),
        );
      }
      tf.dispose([
        lean.value,
        stock.value,
        ...Object.values(lean.grads),
        ...Object.values(stock.grads),
      ]);
    });
  });

  it('frees gradients and saved tensors during the backward pass', async () => {
    liveAtLastStep.length = 0;
    const chain = (): tf.Scalar =>
      tf.tidy(() => {
        let x = recordLive(tf.mul(w2, 1));
        for (let i = 0; i < 40; i++) {
          x = tf.mul(tf.sin(x), 1.01);
        }
        return tf.sum(x) as tf.Scalar;
      });
    await expectNoLeaks(() => {
      const lean = leanVariableGrads(chain, [w2]);
      const stock = tf.variableGrads(chain, [w2]);
      expect(lean.grads[w2.name]?.dataSync()).toEqual(stock.grads[w2.name]?.dataSync());
      tf.dispose([
        lean.value,
        stock.value,
        ...Object.values(lean.grads),
        ...Object.values(stock.grads),
      ]);
    });
    const [leanLive, stockLive] = liveAtLastStep as [number, number];
    expect(stockLive - leanLive).toBeGreaterThan(100);
  });

  it('rejects a loss that is not a scalar', async () => {
    await expectNoLeaks(() => {
      expect(() => leanVariableGrads(() => tf.mul(w2, 2) as unknown as tf.Scalar, [w2])).toThrow(
        /must return a scalar/,
      );
    });
  });

  it('falls back inside another gradient computation', async () => {
    await expectNoLeaks(() => {
      const outer = tf.grad((x: tf.Tensor) => {
        const inner = leanVariableGrads(() => tf.sum(tf.mul(bias, x)) as tf.Scalar, [bias]);
        return tf.add(tf.sum(tf.mul(inner.grads[bias.name] as tf.Tensor, x)), inner.value);
      });
      const x = tf.tensor1d([1, 2, 3, 4]);
      const gradient = outer(x);
      expect(gradient.shape).toEqual([4]);
      tf.dispose([x, gradient]);
    });
  });
});
