import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LoraMoeModifiers, LoraMoeOptions, Router, ScalingMode } from '../src/index.js';
import { ConfigError, LoraMoe, Rng, ShapeError } from '../src/index.js';
import type { TestBackend } from '../src/testing/index.js';
import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../src/testing/index.js';

const D_IN = 5;
const D_OUT = 4;
const TOKENS = 4;
const RANKS = [2, 3, 1];
const TOTAL_RANK = 6;
const ALPHA = 6;

/** Dense router: softmax over all experts, so every expert receives every token. */
function denseRouter(numExperts: number): Router {
  return {
    id: 'router:dense-test',
    numExperts,
    route: (logits) => ({ weights: tf.softmax(logits) }),
    balanceLoss: () => tf.scalar(0),
  };
}

/** Trainable stand-ins for the GSV masks: a router-logit bias and a sigmoid component scale. */
interface ModifierVariables {
  readonly bias: tf.Variable;
  readonly scale: tf.Variable;
  readonly modifiers: LoraMoeModifiers;
}

function createModifiers(rng: Rng): ModifierVariables {
  // tidy disposes the initial values, which tf.variable does not take over.
  const bias = tf.tidy(() => tf.variable(tf.tensor1d(rng.normalArray(RANKS.length))));
  const scale = tf.tidy(() => tf.variable(tf.tensor1d(rng.normalArray(TOTAL_RANK))));
  return {
    bias,
    scale,
    modifiers: {
      routerLogitBias: () => bias as tf.Tensor1D,
      componentScale: () => tf.sigmoid(scale) as tf.Tensor1D,
    },
  };
}

interface Fixture {
  readonly layer: LoraMoe;
  readonly x: tf.Tensor2D;
  readonly extra: ModifierVariables | undefined;
  dispose(): void;
}

/**
 * Builds a layer whose factors are O(1) random values, so that every term of the output
 * matters at float32 precision.
 */
function createFixture(
  seed: number,
  options: Partial<Omit<LoraMoeOptions, 'rng' | 'router'>> & { withModifiers?: boolean } = {},
): Fixture {
  const rng = new Rng(seed);
  const { withModifiers, ...layerOptions } = options;
  const extra = withModifiers === true ? createModifiers(rng) : undefined;
  const layer = new LoraMoe({
    dIn: D_IN,
    dOut: D_OUT,
    ranks: RANKS,
    alpha: ALPHA,
    router: denseRouter(RANKS.length),
    rng,
    init: 'search',
    ...layerOptions,
    ...(extra === undefined ? {} : { modifiers: extra.modifiers }),
  });
  tf.tidy(() => {
    layer.routerWeight.assign(
      tf.tensor2d(rng.normalArray(D_IN * RANKS.length), [D_IN, RANKS.length]),
    );
    layer.loraA.assign(tf.tensor2d(rng.normalArray(D_IN * TOTAL_RANK), [D_IN, TOTAL_RANK]));
    layer.loraB.assign(tf.tensor2d(rng.normalArray(TOTAL_RANK * D_OUT), [TOTAL_RANK, D_OUT]));
    layer.loraE?.assign(tf.tensor1d(rng.uniformArray(TOTAL_RANK, 0.5, 1.5)));
  });
  const x = tf.tensor2d(rng.normalArray(TOKENS * D_IN), [TOKENS, D_IN]);
  return {
    layer,
    x,
    extra,
    dispose: () => {
      layer.dispose();
      x.dispose();
      extra?.bias.dispose();
      extra?.scale.dispose();
    },
  };
}

/**
 * Computes the layer output token by token in float64 from the PEFT-layout factors:
 * out_t = Σ_e w_{t,e} · s_e · B_e · diag(E_e ⊙ m_e) · A_e · x_t, with w_t = softmax(W_r·x_t + b),
 * s_e the expert's scaling and m_e its slice of the component-scale modifier.
 */
function referenceForward(fixture: Fixture, scalings: readonly number[]): number[][] {
  const { layer, x, extra } = fixture;
  const exported = layer.exportExperts();
  const router = exported.router.arraySync();
  const experts = exported.experts.map((expert) => ({
    A: expert.A.arraySync(),
    B: expert.B.arraySync(),
    E: expert.E?.arraySync(),
  }));
  tf.dispose(exported);
  const bias = extra === undefined ? undefined : [...extra.bias.dataSync()];
  const mask =
    extra === undefined
      ? undefined
      : [...extra.scale.dataSync()].map((v) => 1 / (1 + Math.exp(-v)));
  const inputs = x.arraySync();

  return inputs.map((token) => {
    const logits = router.map(
      (row, e) =>
        row.reduce((sum, weight, i) => sum + weight * (token[i] as number), 0) + (bias?.[e] ?? 0),
    );
    const maxLogit = Math.max(...logits);
    const exps = logits.map((logit) => Math.exp(logit - maxLogit));
    const total = exps.reduce((sum, value) => sum + value, 0);
    const output = new Array<number>(D_OUT).fill(0);
    let offset = 0;
    experts.forEach((expert, e) => {
      const weight = (exps[e] as number) / total;
      expert.A.forEach((row, j) => {
        const hidden = row.reduce((sum, a, i) => sum + a * (token[i] as number), 0);
        const gate = (expert.E?.[j] ?? 1) * (mask?.[offset + j] ?? 1);
        for (let o = 0; o < D_OUT; o++) {
          output[o] =
            (output[o] as number) +
            weight * (scalings[e] as number) * (expert.B[o]?.[j] as number) * gate * hidden;
        }
      });
      offset += expert.A.length;
    });
    return output;
  });
}

const SCALINGS: Record<string, number[]> = {
  'per-expert': RANKS.map((rank) => ALPHA / rank),
  'last-expert': RANKS.map(() => ALPHA / 1),
  fixed: RANKS.map(() => ALPHA / 3),
  'fixed, scalingRank 8': RANKS.map(() => ALPHA / 8),
};

const FORWARD_CASES = (
  ['per-expert', 'last-expert', 'fixed', 'fixed, scalingRank 8'] as const
).flatMap((label) =>
  [false, true].flatMap((componentScale) =>
    [false, true].map((withModifiers) => ({
      label,
      scalingMode: label.startsWith('fixed') ? 'fixed' : (label as ScalingMode),
      scalingRank: label === 'fixed, scalingRank 8' ? 8 : undefined,
      componentScale,
      withModifiers,
    })),
  ),
);

/** Loss Σ delta ⊙ weights over the layer's output, for gradient checks. */
function weightedLoss(fixture: Fixture, weights: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() =>
    tf.sum(tf.mul(fixture.layer.forward(fixture.x, { training: false }).delta, weights)),
  );
}

/** Central finite differences of `loss` with respect to every element of `variable`. */
function finiteDifferences(variable: tf.Variable, loss: () => number, step: number): Float32Array {
  const original = variable.dataSync().slice();
  const gradient = new Float32Array(original.length);
  const evaluateAt = (index: number, value: number): number => {
    const shifted = original.slice();
    shifted[index] = value;
    tf.tidy(() => variable.assign(tf.tensor(shifted, variable.shape)));
    return loss();
  };
  for (let i = 0; i < original.length; i++) {
    const center = original[i] as number;
    gradient[i] = (evaluateAt(i, center + step) - evaluateAt(i, center - step)) / (2 * step);
  }
  tf.tidy(() => variable.assign(tf.tensor(original, variable.shape)));
  return gradient;
}

function trainableVariables(fixture: Fixture): Map<string, tf.Variable> {
  const variables = new Map<string, tf.Variable>(fixture.layer.variables());
  if (fixture.extra !== undefined) {
    variables.set('modifier bias', fixture.extra.bias);
    variables.set('modifier scale', fixture.extra.scale);
  }
  return variables;
}

/** Returns the forward output and every variable's gradient as plain arrays. */
function forwardAndGradients(backend: TestBackend): Record<string, number[]> {
  const fixture = createFixture(40, { componentScale: true, withModifiers: true });
  const upstream = tf.tensor2d(new Rng(41).normalArray(TOKENS * D_OUT), [TOKENS, D_OUT]);
  const variables = trainableVariables(fixture);
  const { value, grads } = tf.variableGrads(
    () => weightedLoss(fixture, upstream),
    [...variables.values()],
  );
  const delta = tf.tidy(() => fixture.layer.forward(fixture.x, { training: false }).delta);
  const result: Record<string, number[]> = {
    delta: [...delta.dataSync()],
    loss: [...value.dataSync()],
  };
  for (const [name, variable] of variables) {
    result[name] = [...(grads[variable.name]?.dataSync() ?? [])];
  }
  expect(tf.getBackend()).toBe(backend);
  tf.dispose([value, grads, delta, upstream]);
  fixture.dispose();
  return result;
}

describe.each(TEST_BACKENDS)('LoraMoe on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(FORWARD_CASES)(
    'matches the per-expert reference ($label, lora_E $componentScale, modifiers $withModifiers)',
    async ({ scalingMode, scalingRank, componentScale, withModifiers, label }) => {
      await expectNoLeaks(() => {
        // Dropout 0.5 must not act in evaluation, so the reference has none.
        const fixture = createFixture(7, {
          scalingMode,
          ...(scalingRank === undefined ? {} : { scalingRank }),
          componentScale,
          withModifiers,
          dropout: 0.5,
        });

        const output = fixture.layer.forward(fixture.x, { training: false });

        expect(output.delta.shape).toEqual([TOKENS, D_OUT]);
        expectClose(
          output.delta.dataSync(),
          referenceForward(fixture, SCALINGS[label] ?? []).flat(),
          'reassociated',
        );
        tf.dispose([output.delta, output.routerLogits, output.routingWeights]);
        fixture.dispose();
      });
    },
  );

  it('returns biased logits and normalised weights', async () => {
    await expectNoLeaks(() => {
      const fixture = createFixture(8, { withModifiers: true });
      const { layer, x, extra } = fixture;

      const { delta, routerLogits, routingWeights } = layer.forward(x, { training: false });
      const expectedLogits = tf.tidy(() =>
        tf.add(tf.matMul(x, layer.routerWeight), extra?.bias ?? 0),
      );
      const rowSums = tf.tidy(() => tf.sum(routingWeights ?? tf.zeros([1]), 1));

      expect(routerLogits?.shape).toEqual([TOKENS, RANKS.length]);
      expect(routingWeights?.shape).toEqual([TOKENS, RANKS.length]);
      expectClose(routerLogits ?? [], expectedLogits, 'exact');
      expectClose(rowSums, new Array(TOKENS).fill(1), 'exact');
      tf.dispose([delta, routerLogits, routingWeights, expectedLogits, rowSums]);
      fixture.dispose();
    });
  });

  it('starts with a zero delta with init lora', async () => {
    await expectNoLeaks(() => {
      const layer = new LoraMoe({
        dIn: D_IN,
        dOut: D_OUT,
        ranks: RANKS,
        router: denseRouter(3),
        rng: new Rng(9),
      });
      const x = tf.tensor2d(new Rng(10).normalArray(TOKENS * D_IN), [TOKENS, D_IN]);
      const bound = 1 / Math.sqrt(D_IN);

      const { delta, routerLogits, routingWeights } = layer.forward(x, {
        training: true,
        dropoutSeed: 1,
      });

      expect([...delta.dataSync()].every((value) => value === 0)).toBe(true);
      expect([...layer.loraB.dataSync()].every((value) => value === 0)).toBe(true);
      expect(Math.max(...[...layer.loraA.dataSync()].map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...[...layer.routerWeight.dataSync()].map(Math.abs))).toBeLessThanOrEqual(
        bound,
      );
      tf.dispose([x, delta, routerLogits, routingWeights]);
      layer.dispose();
    });
  });

  it.each([
    { ranks: [2, 3, 1], componentScale: false, expected: 3 * D_IN + 6 * (D_IN + D_OUT) },
    { ranks: [2, 3, 1], componentScale: true, expected: 3 * D_IN + 6 * (D_IN + D_OUT) + 6 },
    { ranks: [8], componentScale: false, expected: D_IN + 8 * (D_IN + D_OUT) },
    { ranks: [4, 4, 4, 4], componentScale: true, expected: 4 * D_IN + 16 * (D_IN + D_OUT) + 16 },
  ])(
    'counts $expected parameters for ranks $ranks, lora_E $componentScale',
    async ({ ranks, componentScale, expected }) => {
      await expectNoLeaks(() => {
        const layer = new LoraMoe({
          dIn: D_IN,
          dOut: D_OUT,
          ranks,
          router: denseRouter(ranks.length),
          rng: new Rng(11),
          componentScale,
        });
        const stored = [...layer.variables().values()].reduce(
          (sum, variable) => sum + variable.size,
          0,
        );

        expect(layer.parameterCount).toBe(expected);
        expect(stored).toBe(expected);
        expect([...layer.variables().keys()]).toEqual(
          componentScale
            ? ['router', 'lora_A', 'lora_B', 'lora_E']
            : ['router', 'lora_A', 'lora_B'],
        );
        layer.dispose();
      });
    },
  );

  it('exports PEFT-layout factors that the caller owns', async () => {
    await expectNoLeaks(() => {
      const fixture = createFixture(12, { componentScale: true });
      const { layer } = fixture;

      const exported = layer.exportExperts();
      // Row 0 of expert 1's A is column 2 of the concatenated A, because expert 0 has rank 2.
      const expectedRow = tf.tidy(() =>
        tf.reshape(tf.slice(layer.loraA, [0, 2], [D_IN, 1]), [D_IN]),
      );
      const exportedRow = tf.tidy(() =>
        tf.reshape(tf.slice(exported.experts[1]?.A ?? tf.zeros([1, D_IN]), [0, 0], [1, D_IN]), [
          D_IN,
        ]),
      );

      expect(exported.router.shape).toEqual([RANKS.length, D_IN]);
      expect(exported.experts.map((expert) => expert.A.shape)).toEqual(
        RANKS.map((rank) => [rank, D_IN]),
      );
      expect(exported.experts.map((expert) => expert.B.shape)).toEqual(
        RANKS.map((rank) => [D_OUT, rank]),
      );
      expect(exported.experts.map((expert) => expert.E?.shape)).toEqual(
        RANKS.map((rank) => [rank]),
      );
      expectClose(exportedRow, expectedRow, 'exact');
      tf.dispose([exported, expectedRow, exportedRow]);
      fixture.dispose();
    });
  });

  it('applies seeded dropout only in training', async () => {
    await expectNoLeaks(() => {
      const fixture = createFixture(13, { dropout: 0.5 });
      const noDropout = createFixture(13, { dropout: 0 });
      const { layer, x } = fixture;
      const run = (context: { training: boolean; dropoutSeed?: number }, target = layer) =>
        tf.tidy(() => target.forward(x, context).delta);

      const evaluation = run({ training: false });
      const first = run({ training: true, dropoutSeed: 5 });
      const repeat = run({ training: true, dropoutSeed: 5 });
      const trainingWithoutDropout = run({ training: true, dropoutSeed: 5 }, noDropout.layer);

      expectClose(repeat, first, 'exact');
      expect([...first.dataSync()]).not.toEqual([...evaluation.dataSync()]);
      expectClose(trainingWithoutDropout, evaluation, 'exact');
      tf.dispose([evaluation, first, repeat, trainingWithoutDropout]);
      fixture.dispose();
      noDropout.dispose();
    });
  });

  it('leaks nothing when called outside tf.tidy', async () => {
    await expectNoLeaks(() => {
      const fixture = createFixture(14, {
        componentScale: true,
        withModifiers: true,
        dropout: 0.1,
      });

      const output = fixture.layer.forward(fixture.x, { training: true, dropoutSeed: 2 });

      tf.dispose([output.delta, output.routerLogits, output.routingWeights]);
      fixture.dispose();
    });
  });

  it('matches finite differences for every variable', async () => {
    await expectNoLeaks(() => {
      const fixture = createFixture(15, { componentScale: true, withModifiers: true });
      const upstream = tf.tensor2d(new Rng(16).normalArray(TOKENS * D_OUT), [TOKENS, D_OUT]);
      const variables = trainableVariables(fixture);
      const loss = () => tf.tidy(() => weightedLoss(fixture, upstream).dataSync()[0] as number);

      const { value, grads } = tf.variableGrads(
        () => weightedLoss(fixture, upstream),
        [...variables.values()],
      );

      expect(Object.keys(grads)).toHaveLength(6);
      for (const [name, variable] of variables) {
        const analytic = grads[variable.name];
        expect(analytic?.shape, name).toEqual(variable.shape);
        expectClose(analytic ?? [], finiteDifferences(variable, loss, 1e-2), 'finiteDifference');
      }
      tf.dispose([value, grads, upstream]);
      fixture.dispose();
    });
  });

  it('rejects an input of the wrong width', async () => {
    await expectNoLeaks(() => {
      const fixture = createFixture(17);
      const x = tf.zeros([TOKENS, D_IN + 1]) as tf.Tensor2D;

      expect(() => fixture.layer.forward(x, { training: false })).toThrow(ShapeError);
      expect(() => fixture.layer.forward(x, { training: false })).toThrow(
        `LoraMoe expects input [tokens, ${D_IN}], received [${TOKENS}, ${D_IN + 1}].`,
      );
      x.dispose();
      fixture.dispose();
    });
  });

  it.each([
    { field: 'dIn', options: { dIn: 0 }, message: 'must be a positive integer, received 0.' },
    { field: 'dOut', options: { dOut: 2.5 }, message: 'must be a positive integer, received 2.5.' },
    {
      field: 'ranks',
      options: { ranks: [], router: denseRouter(0) },
      message: 'must list at least one expert rank',
    },
    {
      field: 'ranks[1]',
      options: { ranks: [2, 0, 1] },
      message: 'must be an integer >= 1, received 0.',
    },
    {
      field: 'ranks[0]',
      options: { ranks: [1.5, 2, 1] },
      message: 'must be an integer >= 1, received 1.5.',
    },
    {
      field: 'router',
      options: { router: denseRouter(2) },
      message: 'routes over 2 experts, but `ranks` lists 3. Create the router with numExperts = 3.',
    },
    { field: 'dropout', options: { dropout: 1 }, message: 'must be in [0, 1), received 1.' },
    { field: 'dropout', options: { dropout: -0.1 }, message: 'must be in [0, 1), received -0.1.' },
    {
      field: 'dropout',
      options: { dropout: Number.NaN },
      message: 'must be in [0, 1), received NaN.',
    },
    { field: 'alpha', options: { alpha: 0 }, message: 'must be > 0, received 0.' },
  ])('rejects an invalid $field ($message)', async ({ field, options, message }) => {
    await expectNoLeaks(() => {
      const create = () =>
        new LoraMoe({
          dIn: D_IN,
          dOut: D_OUT,
          ranks: RANKS,
          router: denseRouter(3),
          rng: new Rng(1),
          ...options,
        });

      expect(create).toThrow(ConfigError);
      expect(create).toThrow(`\`${field}\`: ${message}`);
    });
  });
});

describe('LoraMoe across backends', () => {
  it('agrees between cpu and wasm', async () => {
    await useBackend('cpu');
    const cpu = forwardAndGradients('cpu');
    await useBackend('wasm');
    const wasm = forwardAndGradients('wasm');

    expect(Object.keys(wasm)).toEqual(Object.keys(cpu));
    for (const [name, values] of Object.entries(cpu)) {
      expect(values.length, name).toBeGreaterThan(0);
      expectClose(wasm[name] ?? [], values, 'crossBackend');
    }
  });
});
