import { ConfigError } from '@guilomo/core';
import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { routerZLoss, switchRouterPlugin } from '../src/switch-router.js';

/** Six tokens over two experts. Tokens 0-3 prefer expert 0, tokens 4-5 expert 1. */
const LOGITS = [
  [2, 0],
  [1, 0],
  [3, 1],
  [0.5, 0],
  [0, 1],
  [0, 2],
];

function softmaxRow(row: readonly number[]): number[] {
  const exps = row.map(Math.exp);
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((v) => v / total);
}

describe.each(TEST_BACKENDS)('router:switch on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each([
    // Capacity ceil(1 · 6 / 2) = 3: token 3, the fourth for expert 0, is dropped.
    { capacityFactor: 1, kept: [true, true, true, false, true, true] },
    // Capacity ceil(0.5 · 6 / 2) = 2: tokens 2 and 3 are dropped.
    { capacityFactor: 0.5, kept: [true, true, false, false, true, true] },
    // Capacity ceil(2 · 6 / 2) = 6: nothing is dropped.
    { capacityFactor: 2, kept: [true, true, true, true, true, true] },
  ])('drops tokens beyond capacity factor $capacityFactor', async ({ capacityFactor, kept }) => {
    const router = switchRouterPlugin.create({
      numExperts: 2,
      topK: 1,
      params: { capacityFactor },
    });
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const { weights, auxLoss } = router.route(tf.tensor2d(LOGITS), { training: true });
        expect(auxLoss).toBeDefined();
        const expected = LOGITS.map((row, t) => {
          const probs = softmaxRow(row);
          const expert = row[0] >= row[1] ? 0 : 1;
          // The weight is the selected probability itself, because Switch does not renormalise.
          return probs.map((p, e) => (kept[t] && e === expert ? p : 0));
        });
        expectClose(weights, expected.flat(), 'exact');
      }),
    );
  });

  it('returns the z-loss computed by hand', async () => {
    const router = switchRouterPlugin.create({
      numExperts: 2,
      topK: 1,
      params: { zLossCoef: 0.5 },
    });
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const logits = [
          [1, 2],
          [0, 0],
        ];
        // logsumexp: ln(e + e²) = 2.3132617 and ln 2 = 0.6931472.
        const expected = 0.5 * ((Math.log(Math.E + Math.E ** 2) ** 2 + Math.LN2 ** 2) / 2);
        const { auxLoss } = router.route(tf.tensor2d(logits), { training: true });
        expectClose(auxLoss as tf.Scalar, [expected], 'exact');
        expectClose(routerZLoss(tf.tensor2d(logits)), [expected / 0.5], 'exact');
      }),
    );
  });

  it('omits the auxiliary loss when zLossCoef is 0', async () => {
    const router = switchRouterPlugin.create({ numExperts: 2, topK: 1, params: { zLossCoef: 0 } });
    await expectNoLeaks(() =>
      tf.tidy(() => {
        expect(router.route(tf.tensor2d(LOGITS), { training: true }).auxLoss).toBeUndefined();
      }),
    );
  });

  it('counts top-1 choices before capacity drops in the balance loss', async () => {
    const router = switchRouterPlugin.create({
      numExperts: 2,
      topK: 1,
      params: { capacityFactor: 0.5, balanceScale: 'none' },
    });
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const probs = LOGITS.map(softmaxRow);
        const meanProbs = [0, 1].map(
          (e) => probs.reduce((sum, row) => sum + (row[e] as number), 0) / 6,
        );
        // f = [4/6, 2/6] from all six choices, although capacity 2 drops two tokens.
        const expected = (4 / 6) * (meanProbs[0] as number) + (2 / 6) * (meanProbs[1] as number);
        expectClose(router.balanceLoss(tf.tensor2d(LOGITS)), [expected], 'exact');
      }),
    );
  });

  it('rejects topK other than 1', () => {
    expect(() => switchRouterPlugin.create({ numExperts: 4, topK: 2 })).toThrow(ConfigError);
    expect(() => switchRouterPlugin.create({ numExperts: 4, topK: 2 })).toThrow(
      /`topK`: must be 1 for router `router:switch`.*received 2/,
    );
  });
});
