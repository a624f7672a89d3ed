import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { topPRouterPlugin } from '../src/top-p-router.js';
import { MASKED } from './fixtures.js';

// Four equal logits give probabilities of exactly 0.25, so cumulative sums hit 0.25, 0.5 and
// 0.75 without rounding and the equality edge of the threshold can be tested.
const UNIFORM = [0, 0, 0, 0];

describe.each(TEST_BACKENDS)('router:top-p on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each([
    // Cumulative 0.25 equals p: that expert does not stop the selection, the next one does.
    { logits: UNIFORM, p: 0.25, maxExperts: undefined, expected: [0.5, 0.5, 0, 0] },
    { logits: UNIFORM, p: 0.5, maxExperts: undefined, expected: [1 / 3, 1 / 3, 1 / 3, 0] },
    { logits: UNIFORM, p: 0.75, maxExperts: undefined, expected: [0.25, 0.25, 0.25, 0.25] },
    // Just below an equality: the expert whose cumulative sum first exceeds p stops it.
    { logits: UNIFORM, p: 0.49, maxExperts: undefined, expected: [0.5, 0.5, 0, 0] },
    { logits: UNIFORM, p: 0.5, maxExperts: 2, expected: [0.5, 0.5, 0, 0] },
    { logits: [0, 0, MASKED, MASKED], p: 0.5, maxExperts: undefined, expected: [0.5, 0.5, 0, 0] },
    { logits: [0, 0, MASKED, MASKED], p: 1, maxExperts: undefined, expected: [0.5, 0.5, 0, 0] },
    { logits: [2, 0, MASKED, 1], p: 0.1, maxExperts: undefined, expected: [1, 0, 0, 0] },
  ])(
    'keeps experts up to the threshold: p $p, max $maxExperts, $logits',
    async ({ logits, p, maxExperts, expected }) => {
      const params = maxExperts === undefined ? { p } : { p, maxExperts };
      const router = topPRouterPlugin.create({ numExperts: 4, topK: 2, params });
      await expectNoLeaks(() =>
        tf.tidy(() => {
          const { weights } = router.route(tf.tensor2d([logits]), { training: true });
          expectClose(weights, expected, 'exact');
        }),
      );
    },
  );

  it('keeps a different expert count per token', async () => {
    const router = topPRouterPlugin.create({ numExperts: 4, topK: 2 });
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const logits = tf.tensor2d([
          [5, 0, 0, 0],
          [0, 0, 0, MASKED],
          [1, 1, 0, MASKED],
        ]);
        const counts = tf.sum(
          tf.cast(tf.greater(router.route(logits, { training: true }).weights, 0), 'int32'),
          1,
        );
        // Row 0: 0.98 > 0.75 at once. Row 1: 1/3, 2/3, then 1 > 0.75. Row 2: 0.42, 0.84 > 0.75.
        expect(Array.from(counts.dataSync())).toEqual([1, 3, 2]);
      }),
    );
  });

  it('counts kept experts in the balance loss', async () => {
    const router = topPRouterPlugin.create({
      numExperts: 4,
      topK: 2,
      params: { p: 0.5, balanceScale: 'none' },
    });
    await expectNoLeaks(() =>
      tf.tidy(() => {
        // Kept experts [0, 1, 2] of uniform probabilities: f = [1/3, 1/3, 1/3, 0], P̄ = 0.25.
        expectClose(router.balanceLoss(tf.tensor2d([UNIFORM, UNIFORM])), [0.25], 'exact');
      }),
    );
  });
});
