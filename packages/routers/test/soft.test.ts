import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
import { softRouterPlugin } from '../src/soft-router.js';
import { MASKED } from './fixtures.js';

describe.each(TEST_BACKENDS)('router:soft on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('uses the softmax probabilities as weights', async () => {
    const router = softRouterPlugin.create({ numExperts: 3, topK: 3 });
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const total = 1 + Math.E;
        const { weights } = router.route(tf.tensor2d([[0, 1, MASKED]]), { training: true });
        expectClose(weights, [1 / total, Math.E / total, 0], 'exact');
      }),
    );
  });

  it.each([
    // Uniform mean routing reaches the minimum, factor / experts.
    {
      balanceScale: 'n',
      logits: [
        [0, 0],
        [0, 0],
      ],
      expected: 1,
    },
    {
      balanceScale: 'none',
      logits: [
        [0, 0],
        [0, 0],
      ],
      expected: 0.5,
    },
    // P̄ = [0.75, 0.25] from rows [1, 0] and [0.5, 0.5]: Σ P̄² = 0.625, ×2.
    {
      balanceScale: 'n',
      logits: [
        [0, MASKED],
        [0, 0],
      ],
      expected: 1.25,
    },
  ])(
    'balance loss $expected with scale $balanceScale',
    async ({ balanceScale, logits, expected }) => {
      const router = softRouterPlugin.create({ numExperts: 2, topK: 2, params: { balanceScale } });
      await expectNoLeaks(() =>
        tf.tidy(() => {
          expectClose(router.balanceLoss(tf.tensor2d(logits)), [expected], 'exact');
        }),
      );
    },
  );
});
