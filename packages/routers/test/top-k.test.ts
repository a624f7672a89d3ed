import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { topKRouterPlugin, topKSelectionMask } from '../src/top-k-router.js';
import { MASKED } from './fixtures.js';

// Switch balance-loss example: 4 experts, top-2, 4 tokens, expert 3 masked.
const EXAMPLE_LOGITS = [
  [1, 0, 0.5, MASKED],
  [0, 2, 1, MASKED],
  [0.3, 0.2, 0.1, MASKED],
  [1, 1.5, 0, MASKED],
];

describe.each(TEST_BACKENDS)('router:top-k on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each([
    { balanceScale: 'none', expected: 0.344547 },
    { balanceScale: 'n', expected: 1.378189 },
  ])(
    'balance loss of the worked example, scale $balanceScale',
    async ({ balanceScale, expected }) => {
      const router = topKRouterPlugin.create({ numExperts: 4, topK: 2, params: { balanceScale } });
      await expectNoLeaks(() =>
        tf.tidy(() => {
          expectClose(router.balanceLoss(tf.tensor2d(EXAMPLE_LOGITS)), [expected], 'testVector');
        }),
      );
    },
  );

  it.each([
    { options: 'none', params: undefined, expected: 0.344547 },
    { options: 'n', params: undefined, expected: 1.378189 },
    { options: 'n', params: 'none', expected: 0.344547 },
  ] as const)(
    'balance scale from options $options, params $params',
    async ({ options, params, expected }) => {
      const router = topKRouterPlugin.create({
        numExperts: 4,
        topK: 2,
        balanceScale: options,
        params: params === undefined ? {} : { balanceScale: params },
      });
      await expectNoLeaks(() =>
        tf.tidy(() => {
          expectClose(router.balanceLoss(tf.tensor2d(EXAMPLE_LOGITS)), [expected], 'testVector');
        }),
      );
    },
  );

  it('counts and mean probabilities of the worked example', async () => {
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const probs = tf.softmax(tf.tensor2d(EXAMPLE_LOGITS)) as tf.Tensor2D;
        const counts = tf.sum(topKSelectionMask(probs, 2), 0);
        expect(Array.from(counts.dataSync())).toEqual([3, 3, 2, 0]);
        expectClose(tf.mean(probs, 0), [0.323794, 0.432585, 0.243621, 0], 'testVector');
      }),
    );
  });

  it('renormalises the selected probabilities', async () => {
    const router = topKRouterPlugin.create({ numExperts: 4, topK: 2 });
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const { weights } = router.route(tf.tensor2d([[1, 0, 0.5, MASKED]]), { training: true });
        // Selected experts 0 and 2: weights e^1 / (e^1 + e^0.5) and e^0.5 / (e^1 + e^0.5).
        const denominator = Math.exp(1) + Math.exp(0.5);
        expectClose(
          weights,
          [Math.exp(1) / denominator, 0, Math.exp(0.5) / denominator, 0],
          'exact',
        );
      }),
    );
  });

  it.each([
    { logits: [0, 0, 0, 0], selected: [1, 1, 0, 0] },
    { logits: [1, 2, 2, 2], selected: [0, 1, 1, 0] },
    { logits: [3, 1, 3, 3], selected: [1, 0, 1, 0] },
  ])('breaks ties toward lower indices: $logits', async ({ logits, selected }) => {
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const mask = topKSelectionMask(tf.softmax(tf.tensor2d([logits])) as tf.Tensor2D, 2);
        expect(Array.from(mask.dataSync())).toEqual(selected);
      }),
    );
  });

  it('reports the share of routed slots per expert', async () => {
    const router = topKRouterPlugin.create({ numExperts: 4, topK: 2 });
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const { weights } = router.route(tf.tensor2d(EXAMPLE_LOGITS), { training: false });
        // Counts [3, 3, 2, 0] over 8 slots.
        expectClose(router.expertShare?.(weights) as tf.Tensor1D, [0.375, 0.375, 0.25, 0], 'exact');
      }),
    );
  });
});
