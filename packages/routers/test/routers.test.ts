import { ShapeError } from '@guilomo/core';
import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { centralDifference, LOGITS, lossWeights, ROUTER_CASES } from './fixtures.js';

const TOKENS = LOGITS.length;
const EXPERTS = (LOGITS[0] as number[]).length;
const STEP = 1e-2;

describe.each(TEST_BACKENDS)('routers on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  describe.each(ROUTER_CASES)('$label', ({ plugin, options, renormalizes, constantBalance }) => {
    const router = plugin.create(options);
    const routeWeights = (x: tf.Tensor2D): tf.Tensor2D => {
      const result = router.route(x, { training: true });
      result.auxLoss?.dispose();
      return result.weights;
    };
    const selectionOf = (x: tf.Tensor2D): string =>
      Array.from(routeWeights(x).dataSync(), (w) => (w > 0 ? 1 : 0)).join('');

    it('returns non-negative weights of shape [tokens, experts]', async () => {
      await expectNoLeaks(() =>
        tf.tidy(() => {
          const weights = routeWeights(tf.tensor2d(LOGITS));
          expect(weights.shape).toEqual([TOKENS, EXPERTS]);
          expect(Math.min(...weights.dataSync())).toBeGreaterThanOrEqual(0);
        }),
      );
    });

    it.runIf(renormalizes)('weights sum to 1 per token', async () => {
      await expectNoLeaks(() =>
        tf.tidy(() => {
          const sums = tf.sum(routeWeights(tf.tensor2d(LOGITS)), 1);
          expectClose(sums, new Array(TOKENS).fill(1), 'exact');
        }),
      );
    });

    it('gives masked experts exactly zero weight', async () => {
      await expectNoLeaks(() =>
        tf.tidy(() => {
          const weights = routeWeights(tf.tensor2d(LOGITS)).arraySync();
          for (const row of weights) {
            expect(row[EXPERTS - 1]).toBe(0);
          }
        }),
      );
    });

    it('matches central differences in the logit gradient', async () => {
      const c = tf.tensor2d(lossWeights(TOKENS, EXPERTS));
      // The z-loss of router:switch is part of the loss, so its gradient is checked too.
      const loss = (x: tf.Tensor2D): tf.Scalar => {
        const { weights, auxLoss } = router.route(x, { training: true });
        const weighted = tf.sum(tf.mul(weights, c));
        return (auxLoss === undefined ? weighted : tf.add(weighted, auxLoss)) as tf.Scalar;
      };
      await expectNoLeaks(() => {
        const numeric = centralDifference(loss, LOGITS, STEP, selectionOf);
        expect(numeric.patternsMatch).toBe(true);
        tf.tidy(() => {
          const analytic = tf.grad((x) => loss(x as tf.Tensor2D))(tf.tensor2d(LOGITS));
          expectClose(analytic.dataSync(), numeric.gradient, 'finiteDifference');
        });
      });
      c.dispose();
    });

    it.runIf(renormalizes && plugin.name !== 'soft')(
      'sends no gradient to unselected logits',
      async () => {
        const c = tf.tensor2d(lossWeights(TOKENS, EXPERTS));
        await expectNoLeaks(() =>
          tf.tidy(() => {
            const x = tf.tensor2d(LOGITS);
            const selected = routeWeights(x).dataSync();
            const gradient = tf.grad((z) => tf.sum(tf.mul(routeWeights(z as tf.Tensor2D), c)))(x);
            gradient.dataSync().forEach((g, i) => {
              if (selected[i] === 0) {
                expect(Math.abs(g)).toBeLessThan(1e-6);
              }
            });
          }),
        );
        c.dispose();
      },
    );

    it.runIf(!constantBalance)(
      'matches central differences in the balance-loss gradient',
      async () => {
        const loss = (x: tf.Tensor2D): tf.Scalar => router.balanceLoss(x);
        await expectNoLeaks(() => {
          const numeric = centralDifference(loss, LOGITS, STEP, selectionOf);
          expect(numeric.patternsMatch).toBe(true);
          tf.tidy(() => {
            const analytic = tf.grad((x) => loss(x as tf.Tensor2D))(tf.tensor2d(LOGITS));
            expectClose(analytic.dataSync(), numeric.gradient, 'finiteDifference');
          });
        });
      },
    );

    it('returns an expert share that sums to 1', async () => {
      await expectNoLeaks(() =>
        tf.tidy(() => {
          expect(router.expertShare).toBeDefined();
          const share = router.expertShare?.(routeWeights(tf.tensor2d(LOGITS)));
          expect(share?.shape).toEqual([EXPERTS]);
          expectClose(tf.sum(share as tf.Tensor1D), [1], 'exact');
        }),
      );
    });

    it('rejects logits with the wrong expert count', async () => {
      await expectNoLeaks(() =>
        tf.tidy(() => {
          const logits = tf.zeros([3, EXPERTS + 1]) as tf.Tensor2D;
          expect(() => router.route(logits, { training: false })).toThrow(ShapeError);
          expect(() => router.balanceLoss(logits)).toThrow(/expects router logits \[tokens, 4\]/);
        }),
      );
    });
  });
});
