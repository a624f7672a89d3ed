import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expertChoiceCapacity, expertChoiceRouterPlugin } from '../src/expert-choice-router.js';
import { LOGITS } from './fixtures.js';

describe.each(TEST_BACKENDS)('router:expert-choice on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each([
    { tokens: 5, experts: 4, topK: 2, capacityFactor: 1, expected: 3 },
    { tokens: 8, experts: 4, topK: 2, capacityFactor: 1, expected: 4 },
    { tokens: 10, experts: 1, topK: 1, capacityFactor: 1.1, expected: 10 },
    { tokens: 4, experts: 2, topK: 2, capacityFactor: 2, expected: 4 },
    { tokens: 3, experts: 8, topK: 1, capacityFactor: 0.1, expected: 1 },
  ])('capacity for $tokens tokens, $experts experts, k $topK, factor $capacityFactor', (row) => {
    expect(expertChoiceCapacity(row.tokens, row.experts, row.topK, row.capacityFactor)).toBe(
      row.expected,
    );
  });

  it('gives each active expert exactly capacity tokens', async () => {
    const router = expertChoiceRouterPlugin.create({ numExperts: 4, topK: 2 });
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const { weights } = router.route(tf.tensor2d(LOGITS), { training: true });
        const perExpert = tf.sum(tf.cast(tf.greater(weights, 0), 'int32'), 0);
        // Capacity ceil(5 · 2 / 4) = 3. The masked expert 3 has probability 0 everywhere.
        expect(Array.from(perExpert.dataSync())).toEqual([3, 3, 3, 0]);
      }),
    );
  });

  it('weights picked tokens by their probability', async () => {
    const router = expertChoiceRouterPlugin.create({ numExperts: 2, topK: 1 });
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const logits = [
          [0, 0],
          [1, 0],
          [0, 1],
          [2, 0],
        ];
        const probs = logits.map(([a, b]) => [
          1 / (1 + Math.exp((b as number) - (a as number))),
          0,
        ]);
        for (const row of probs) {
          row[1] = 1 - (row[0] as number);
        }
        // Capacity ceil(4 · 1 / 2) = 2. Expert 0 picks tokens 3 and 1, expert 1 tokens 2 and 0.
        const picked = [
          [false, true],
          [true, false],
          [false, true],
          [true, false],
        ];
        const expected = probs.map((row, t) =>
          row.map((p, e) => ((picked[t] as boolean[])[e] ? p : 0)),
        );
        expectClose(
          router.route(tf.tensor2d(logits), { training: true }).weights,
          expected.flat(),
          'exact',
        );
      }),
    );
  });

  it('breaks ties toward lower token indices', async () => {
    const router = expertChoiceRouterPlugin.create({ numExperts: 2, topK: 1 });
    await expectNoLeaks(() =>
      tf.tidy(() => {
        // All probabilities are 0.5 and capacity is 2: both experts pick tokens 0 and 1.
        const { weights } = router.route(tf.zeros([4, 2]) as tf.Tensor2D, { training: true });
        expectClose(weights, [0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0], 'exact');
      }),
    );
  });

  it('returns a zero balance loss', async () => {
    const router = expertChoiceRouterPlugin.create({ numExperts: 4, topK: 2 });
    await expectNoLeaks(() =>
      tf.tidy(() => {
        expectClose(router.balanceLoss(tf.tensor2d(LOGITS)), [0], 'exact');
      }),
    );
  });
});
