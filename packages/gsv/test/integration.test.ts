import type { RouterPlugin } from '@guilomo/core';
import { LoraMoe, Rng } from '@guilomo/core';
import type { TestBackend } from '@guilomo/core/testing';
import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import { softRouterPlugin, topKRouterPlugin } from '@guilomo/routers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expertMask } from '../src/expert-mask.js';
import type { GsvSet } from '../src/gsv-set.js';
import { createGsvSet } from '../src/gsv-set.js';
import { createGsvModifiers } from '../src/modifiers.js';
import { rankMaskRows } from '../src/rank-mask.js';

const D_IN = 16;
const D_OUT = 12;
const EXPERTS = 8;
const RANK = 8;
const TOKENS = 10;
/** Expert GSV with its maximum at index 3, so experts 0-3 are active and 4-7 masked. */
const EXPERT_GSV = [0.1, 0.2, 0.3, 0.9, 0.5, 0.1, 0.2, 0.4];
const ACTIVE = 4;

/** A stage-1 LoRA-MoE: 8 experts of rank 8, top-2 router, lora_E and both GSV masks. */
interface SearchFixture {
  readonly gsv: GsvSet;
  readonly layer: LoraMoe;
  readonly x: tf.Tensor2D;
  /** Loss weights: the test loss is `Σ delta ⊙ c`. */
  readonly c: tf.Tensor2D;
  dispose(): void;
}

function createSearchFixture(seed: number): SearchFixture {
  const rng = new Rng(seed);
  const gsv = createGsvSet({ numExperts: EXPERTS, maxRank: RANK, rng: rng.fork() });
  tf.tidy(() => {
    gsv.expert.assign(tf.tensor1d(EXPERT_GSV));
  });
  const layer = new LoraMoe({
    dIn: D_IN,
    dOut: D_OUT,
    ranks: new Array(EXPERTS).fill(RANK),
    router: topKRouterPlugin.create({ numExperts: EXPERTS, topK: 2 }),
    rng: rng.fork(),
    init: 'search',
    scalingMode: 'fixed',
    componentScale: true,
    modifiers: createGsvModifiers(gsv),
  });
  const x = tf.tensor2d(rng.normalArray(TOKENS * D_IN), [TOKENS, D_IN]);
  const c = tf.tensor2d(rng.normalArray(TOKENS * D_OUT), [TOKENS, D_OUT]);
  return {
    gsv,
    layer,
    x,
    c,
    dispose: () => {
      layer.dispose();
      gsv.dispose();
      x.dispose();
      c.dispose();
    },
  };
}

function searchLoss(fixture: SearchFixture): tf.Scalar {
  const { delta } = fixture.layer.forward(fixture.x, { training: false });
  return tf.sum(tf.mul(delta, fixture.c));
}

function sigmoid(value: number): number {
  return 1 / (1 + Math.exp(-value));
}

function firstArgMax(values: readonly number[]): number {
  return values.reduce((best, value, i) => (value > (values[best] as number) ? i : best), 0);
}

/**
 * Returns `∂L/∂μ` and `∂L/∂ν` of the search loss, with the masks held at their current values
 * as plain inputs: the `G` that the masks' custom backward receives.
 */
function maskUpstream(fixture: SearchFixture): { expert: number[]; ranks: number[] } {
  const { layer, gsv } = fixture;
  const saved = layer.modifiers;
  try {
    return tf.tidy(() => {
      const mu = expertMask(gsv.expert);
      const nu = tf.reshape(rankMaskRows(gsv.ranks), [EXPERTS * RANK]);
      const [expert, ranks] = tf.grads((bias, scale) => {
        layer.modifiers = {
          routerLogitBias: () => bias as tf.Tensor1D,
          componentScale: () => scale as tf.Tensor1D,
        };
        return searchLoss(fixture);
      })([mu, nu]);
      return {
        expert: Array.from((expert as tf.Tensor).dataSync()),
        ranks: Array.from((ranks as tf.Tensor).dataSync()),
      };
    });
  } finally {
    layer.modifiers = saved;
  }
}

/** Creates a small LoRA-MoE for finite differences: dIn 6, dOut 5, ranks [2, 3, 1], lora_E. */
function createSmallLayer(
  plugin: RouterPlugin,
  seed: number,
): { layer: LoraMoe; x: tf.Tensor2D; c: tf.Tensor2D } {
  const rng = new Rng(seed);
  const ranks = [2, 3, 1];
  const layer = new LoraMoe({
    dIn: 6,
    dOut: 5,
    ranks,
    router: plugin.create({ numExperts: 3, topK: 2 }),
    rng: rng.fork(),
    init: 'search',
    componentScale: true,
  });
  // Values of order 1 make every gradient large against the finite-difference tolerance.
  tf.tidy(() => {
    layer.routerWeight.assign(tf.tensor2d(rng.normalArray(6 * 3, 0, 1), [6, 3]));
    layer.loraA.assign(tf.tensor2d(rng.normalArray(6 * 6, 0, 0.5), [6, 6]));
    layer.loraB.assign(tf.tensor2d(rng.normalArray(6 * 5, 0, 0.5), [6, 5]));
    layer.loraE?.assign(tf.tensor1d(rng.normalArray(6, 1, 0.3)));
  });
  const x = tf.tensor2d(rng.normalArray(4 * 6), [4, 6]);
  const c = tf.tensor2d(rng.normalArray(4 * 5), [4, 5]);
  return { layer, x, c };
}

describe.each(TEST_BACKENDS)('LoRA-MoE with GSVs on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('routes no token to masked experts', async () => {
    await expectNoLeaks(() => {
      const fixture = createSearchFixture(1);
      tf.tidy(() => {
        const { routingWeights } = fixture.layer.forward(fixture.x, { training: false });
        const weights = (routingWeights as tf.Tensor2D).arraySync();
        for (const row of weights) {
          expect(row.slice(ACTIVE)).toEqual([0, 0, 0, 0]);
        }
        expectClose(tf.sum(routingWeights as tf.Tensor2D, 1), new Array(TOKENS).fill(1), 'exact');
      });
      fixture.dispose();
    });
  });

  it('gives the expert GSV the custom gradient', async () => {
    await expectNoLeaks(() => {
      const fixture = createSearchFixture(2);
      const upstream = maskUpstream(fixture).expert;
      const { value, grads } = tf.variableGrads(() => searchLoss(fixture), [fixture.gsv.expert]);
      const actual = Array.from((grads[fixture.gsv.expert.name] as tf.Tensor).dataSync());
      tf.dispose([value, grads]);

      // k = 3: only g_3 receives (Σ_{i≤3} G_i · s_i) · s_3 · (1 − s_3).
      const s = EXPERT_GSV.map(sigmoid);
      const k = Math.max(1, firstArgMax(s));
      const prefix = upstream.slice(0, k + 1).reduce((sum, g, i) => sum + g * (s[i] as number), 0);
      const sk = s[k] as number;
      const expected = s.map((_, i) => (i === k ? prefix * sk * (1 - sk) : 0));
      expect(k).toBe(3);
      expect(actual.filter((g, i) => i !== k && g !== 0)).toEqual([]);
      expect(actual[k]).not.toBe(0);
      expectClose(actual, expected, 'reassociated');
      fixture.dispose();
    });
  });

  it('gives the rank GSVs the custom gradient', async () => {
    await expectNoLeaks(() => {
      const fixture = createSearchFixture(3);
      const upstream = maskUpstream(fixture).ranks;
      const h = Array.from(fixture.gsv.ranks.dataSync());
      const { value, grads } = tf.variableGrads(() => searchLoss(fixture), [fixture.gsv.ranks]);
      const actual = Array.from((grads[fixture.gsv.ranks.name] as tf.Tensor).dataSync());
      tf.dispose([value, grads]);

      const expected: number[] = [];
      for (let e = 0; e < EXPERTS; e++) {
        const u = h.slice(e * RANK, (e + 1) * RANK).map(sigmoid);
        const g = upstream.slice(e * RANK, (e + 1) * RANK);
        const k = firstArgMax(u);
        const prefix = g.slice(0, k + 1).reduce((sum, gi, i) => sum + gi * (u[i] as number), 0);
        u.forEach((ui, j) => {
          const du = j === k ? prefix : 1e-4 * (g[j] as number);
          expected.push(du * ui * (1 - ui));
        });
      }
      expectClose(actual, expected, 'reassociated');
      // Masked experts get no token, so their rank GSVs get no gradient at all.
      expect(actual.slice(ACTIVE * RANK).every((v) => v === 0)).toBe(true);
      expect(actual.slice(0, ACTIVE * RANK).some((v) => v !== 0)).toBe(true);
      fixture.dispose();
    });
  });

  describe.each([
    { label: 'soft', plugin: softRouterPlugin },
    { label: 'top-k', plugin: topKRouterPlugin },
  ])('with router $label', ({ plugin }) => {
    it('matches central differences for every parameter', async () => {
      await expectNoLeaks(() => {
        const { layer, x, c } = createSmallLayer(plugin, 11);
        const lossValue = (): number =>
          tf.tidy(
            () =>
              tf
                .sum(tf.mul(layer.forward(x, { training: false }).delta, c))
                .dataSync()[0] as number,
          );
        const selection = (): string =>
          tf.tidy(() =>
            Array.from(
              (layer.forward(x, { training: false }).routingWeights as tf.Tensor).dataSync(),
              (w) => (w > 0 ? 1 : 0),
            ).join(''),
          );
        const baseSelection = selection();
        const variables = [...layer.variables().values()];
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.mul(layer.forward(x, { training: false }).delta, c)),
          variables,
        );
        const step = 1e-2;
        for (const variable of variables) {
          const base = variable.dataSync().slice();
          const numeric = Array.from(base, (_, i) => {
            const perturbed = (offset: number): number => {
              const values = base.slice();
              values[i] = (values[i] as number) + offset;
              tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
              expect(selection()).toBe(baseSelection);
              return lossValue();
            };
            return (perturbed(step) - perturbed(-step)) / (2 * step);
          });
          tf.tidy(() => variable.assign(tf.tensor(base, variable.shape)));
          expectClose(grads[variable.name] as tf.Tensor, numeric, 'finiteDifference');
        }
        tf.dispose([value, grads, x, c]);
        layer.dispose();
      });
    });
  });

  it.each([
    { ranks: [2, 3, 1], dIn: 6, dOut: 5, loraE: true, expected: 3 * 6 + 6 * 11 + 6 },
    { ranks: [2, 3, 1], dIn: 6, dOut: 5, loraE: false, expected: 3 * 6 + 6 * 11 },
    {
      ranks: new Array(8).fill(8),
      dIn: 16,
      dOut: 12,
      loraE: true,
      expected: 8 * 16 + 64 * 28 + 64,
    },
  ])(
    'counts $expected parameters for ranks $ranks',
    async ({ ranks, dIn, dOut, loraE, expected }) => {
      await expectNoLeaks(() => {
        const layer = new LoraMoe({
          dIn,
          dOut,
          ranks,
          router: topKRouterPlugin.create({ numExperts: ranks.length, topK: 2 }),
          rng: new Rng(0),
          componentScale: loraE,
        });
        const sizes = [...layer.variables().values()].reduce((sum, v) => sum + v.size, 0);
        expect(layer.parameterCount).toBe(expected);
        expect(sizes).toBe(expected);
        layer.dispose();
      });
    },
  );
});

describe('LoRA-MoE with GSVs across backends', () => {
  async function outputsOn(backend: TestBackend): Promise<Float32Array[]> {
    await useBackend(backend);
    const fixture = createSearchFixture(4);
    const outputs = tf.tidy(() => {
      const { delta, routingWeights } = fixture.layer.forward(fixture.x, { training: false });
      return [delta.dataSync(), (routingWeights as tf.Tensor).dataSync()] as Float32Array[];
    });
    const { value, grads } = tf.variableGrads(
      () => searchLoss(fixture),
      [fixture.gsv.expert, fixture.gsv.ranks],
    );
    outputs.push(
      (grads[fixture.gsv.expert.name] as tf.Tensor).dataSync() as Float32Array,
      (grads[fixture.gsv.ranks.name] as tf.Tensor).dataSync() as Float32Array,
    );
    tf.dispose([value, grads]);
    fixture.dispose();
    return outputs;
  }

  it('agrees between cpu and wasm', async () => {
    const cpu = await outputsOn('cpu');
    const wasm = await outputsOn('wasm');
    expect(wasm.length).toBe(cpu.length);
    cpu.forEach((values, i) => {
      expectClose(wasm[i] as Float32Array, values, 'crossBackend');
    });
  });
});
