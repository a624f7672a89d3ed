import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { routedSlotShare, routingHealth, summarizeExpertShare } from '../src/routing-health.js';

describe.each(TEST_BACKENDS)('routing health on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each([
    {
      label: 'balanced',
      weights: [
        [0.6, 0.4, 0, 0],
        [0, 0, 0.7, 0.3],
      ],
      maxExpertShare: 0.25,
      entropy: Math.log(4),
    },
    {
      label: 'collapsed',
      weights: [
        [1, 0, 0, 0],
        [1, 0, 0, 0],
      ],
      maxExpertShare: 1,
      entropy: 0,
    },
    {
      // Shares [0.5, 0.25, 0.25, 0].
      label: 'skewed',
      weights: [
        [0.5, 0.5, 0, 0],
        [0.5, 0, 0.5, 0],
      ],
      maxExpertShare: 0.5,
      entropy: -(0.5 * Math.log(0.5) + 2 * 0.25 * Math.log(0.25)),
    },
    {
      label: 'empty',
      weights: [
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ],
      maxExpertShare: 0,
      entropy: 0,
    },
  ])('measures $label routing', async ({ weights, maxExpertShare, entropy }) => {
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const health = routingHealth(tf.tensor2d(weights));
        expect(health.maxExpertShare).toBeCloseTo(maxExpertShare, 6);
        expect(health.entropy).toBeCloseTo(entropy, 6);
      }),
    );
  });

  it('counts non-zero weights as routed slots', async () => {
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const share = routedSlotShare(
          tf.tensor2d([
            [0.9, 0.1, 0],
            [0.2, 0, 0.8],
            [1, 0, 0],
          ]),
        );
        expectClose(share, [0.6, 0.2, 0.2], 'exact');
      }),
    );
  });
});

describe('summarizeExpertShare', () => {
  it('returns the maximum and the entropy in nats', () => {
    const health = summarizeExpertShare([0.5, 0.5]);
    expect(health.maxExpertShare).toBe(0.5);
    expect(health.entropy).toBeCloseTo(Math.LN2, 12);
  });
});
