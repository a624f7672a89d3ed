import { ShapeError } from '@guilomo/core';
import { expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { addSameShape } from '../src/add-same-shape.js';

describe.each(TEST_BACKENDS)('addSameShape on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('equals tf.add in value and gradient', async () => {
    await expectNoLeaks(() => {
      const a = tf.tensor2d([0.5, -1.25, 2, 3.5, -0.75, 1], [2, 3]);
      const b = tf.tensor2d([1.5, 2, -0.5, 0.25, 4, -3], [2, 3]);
      const upstream = tf.tensor2d([1, -2, 3, -4, 5, -6], [2, 3]);
      const loss = (add: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) =>
        tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.square(add(x, y)), upstream)));
      const ours = loss(addSameShape)([a, b]);
      const stock = loss(tf.add)([a, b]);
      const value = addSameShape(a, b);
      const expected = tf.add(a, b);
      expect(value.dataSync()).toEqual(expected.dataSync());
      expect(ours.map((g) => g.shape)).toEqual([a.shape, b.shape]);
      expect(ours[0]?.dataSync()).toEqual(stock[0]?.dataSync());
      expect(ours[1]?.dataSync()).toEqual(stock[1]?.dataSync());
      tf.dispose([a, b, upstream, value, expected, ...ours, ...stock]);
    });
  });

  it('adds a tensor to itself', async () => {
    await expectNoLeaks(() => {
      const x = tf.tensor1d([1, 2, 3]);
      const grad = tf.grad((input: tf.Tensor) => tf.sum(addSameShape(input, input)))(x);
      expect(Array.from(grad.dataSync())).toEqual([2, 2, 2]);
      tf.dispose([x, grad]);
    });
  });

  it.each([
    [[2, 3], [3]],
    [
      [2, 3],
      [3, 2],
    ],
  ])('rejects shapes %j and %j', (shapeA, shapeB) => {
    const a = tf.zeros(shapeA);
    const b = tf.zeros(shapeB);
    expect(() => addSameShape(a, b)).toThrow(ShapeError);
    tf.dispose([a, b]);
  });
});
