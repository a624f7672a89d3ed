import { ShapeError } from '@guilomo/core';
import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import type { Tensor3D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { nextTokenLoss } from '../src/index.js';

// Position 0 has uniform logits, so p = 1/3 each. Position 1 has logits [0, ln 2, 0], so
// p = [1/4, 1/2, 1/4]. Position 2 predicts nothing (no next token) and is ignored.
const LOGITS = [
  [
    [0, 0, 0],
    [0, Math.log(2), 0],
    [50, -50, 7],
  ],
];
const IDS = [[0, 1, 2]];

describe.each(TEST_BACKENDS)('nextTokenLoss on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('averages the shifted cross-entropy', async () => {
    await expectNoLeaks(() => {
      const logits = tf.tensor3d(LOGITS);
      const ids = tf.tensor2d(IDS, undefined, 'int32');
      // Targets: id 1 at p = 1/3 and id 2 at p = 1/4, so the mean is (ln 3 + ln 4) / 2.
      const loss = nextTokenLoss(logits, ids);
      expectClose(loss, [(Math.log(3) + Math.log(4)) / 2], 'testVector');
      expect(loss.shape).toEqual([]);
      tf.dispose([logits, ids, loss]);
    });
  });

  it('skips predictions whose target is padding', async () => {
    await expectNoLeaks(() => {
      const logits = tf.tensor3d(LOGITS);
      const ids = tf.tensor2d(IDS, undefined, 'int32');
      const mask = tf.tensor2d([[1, 1, 0]]);
      const loss = nextTokenLoss(logits, ids, mask);
      expectClose(loss, [Math.log(3)], 'testVector');
      tf.dispose([logits, ids, mask, loss]);
    });
  });

  it('returns 0 when every target is padding', async () => {
    await expectNoLeaks(() => {
      const logits = tf.tensor3d(LOGITS);
      const ids = tf.tensor2d(IDS, undefined, 'int32');
      const mask = tf.tensor2d([[1, 0, 0]], undefined, 'int32');
      const loss = nextTokenLoss(logits, ids, mask);
      expectClose(loss, [0], 'exact');
      tf.dispose([logits, ids, mask, loss]);
    });
  });

  it('has the softmax-minus-one-hot gradient', async () => {
    await expectNoLeaks(() => {
      const logits = tf.tensor3d(LOGITS);
      const ids = tf.tensor2d(IDS, undefined, 'int32');
      const gradient = tf.grad((x: tf.Tensor) => nextTokenLoss(x as Tensor3D, ids))(logits);
      // (softmax − onehot(target)) / 2 predictions; position 2 gets no gradient.
      const expected = [
        [1 / 6, -1 / 3, 1 / 6],
        [1 / 8, 1 / 4, -3 / 8],
        [0, 0, 0],
      ].flat();
      expectClose(gradient, expected, 'testVector');
      tf.dispose([logits, ids, gradient]);
    });
  });
});

describe('nextTokenLoss shapes', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it.each([
    {
      name: 'ids of another length',
      logits: [1, 3, 4] as const,
      ids: [1, 2] as const,
      message: /expects logits \[batch, length, vocab\] and ids/,
    },
    {
      name: 'one token',
      logits: [1, 1, 4] as const,
      ids: [1, 1] as const,
      message: /needs at least 2 tokens per row, received 1/,
    },
  ])('rejects $name', async ({ logits, ids, message }) => {
    await expectNoLeaks(() => {
      const logitsTensor = tf.zeros([...logits]) as Tensor3D;
      const idsTensor = tf.zeros([...ids], 'int32') as tf.Tensor2D;
      expect(() => nextTokenLoss(logitsTensor, idsTensor)).toThrow(ShapeError);
      expect(() => nextTokenLoss(logitsTensor, idsTensor)).toThrow(message);
      tf.dispose([logitsTensor, idsTensor]);
    });
  });
});
