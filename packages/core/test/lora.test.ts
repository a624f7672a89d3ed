import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../src/index.js';
import { ConfigError, createLogger, Lora, NumericError, Rng, ShapeError } from '../src/index.js';
import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../src/testing/index.js';

const D_IN = 6;
const D_OUT = 5;
const RANK = 3;

function createLora(seed: number, logger?: ReturnType<typeof createLogger>): Lora {
  return new Lora({
    dIn: D_IN,
    dOut: D_OUT,
    rank: RANK,
    alpha: 8,
    rng: new Rng(seed),
    ...(logger === undefined ? {} : { logger }),
  });
}

/** Replaces the zero-initialised B with random values, so that the adapter changes the output. */
function randomizeB(lora: Lora, rng: Rng): void {
  tf.tidy(() => lora.loraB.assign(tf.tensor2d(rng.normalArray(RANK * D_OUT), [RANK, D_OUT])));
}

describe.each(TEST_BACKENDS)('Lora on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('starts with a zero delta because B = 0', async () => {
    await expectNoLeaks(() => {
      const lora = createLora(1);
      const x = tf.tensor2d(new Rng(2).normalArray(4 * D_IN), [4, D_IN]);

      const { delta } = lora.forward(x, { training: false });

      expect(delta.shape).toEqual([4, D_OUT]);
      expect([...delta.dataSync()].every((value) => value === 0)).toBe(true);
      tf.dispose([x, delta]);
      lora.dispose();
    });
  });

  it('counts r·(dIn + dOut) parameters', async () => {
    await expectNoLeaks(() => {
      const lora = createLora(1);

      expect(lora.parameterCount).toBe(RANK * (D_IN + D_OUT));
      expect([...lora.variables().keys()]).toEqual(['lora_A', 'lora_B']);
      expect(lora.loraA.shape).toEqual([D_IN, RANK]);
      expect(lora.loraB.shape).toEqual([RANK, D_OUT]);
      expect(lora.scaling).toBe(8 / RANK);
      lora.dispose();
    });
  });

  it('initialises A inside the Kaiming-uniform bound', async () => {
    await expectNoLeaks(() => {
      const lora = createLora(3);
      const bound = 1 / Math.sqrt(D_IN);

      const values = [...lora.loraA.dataSync()];

      expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(new Set(values).size).toBe(values.length);
      lora.dispose();
    });
  });

  it('computes α/r · x·A·B', async () => {
    await expectNoLeaks(() => {
      const lora = createLora(4);
      randomizeB(lora, new Rng(5));
      const x = tf.tensor2d(new Rng(6).normalArray(3 * D_IN), [3, D_IN]);

      const { delta } = lora.forward(x, { training: false });
      const expected = tf.tidy(() =>
        tf.mul(tf.matMul(tf.matMul(x, lora.loraA), lora.loraB), 8 / RANK),
      );

      expectClose(delta, expected, 'exact');
      tf.dispose([x, delta, expected]);
      lora.dispose();
    });
  });

  it('merge reproduces the adapted output', async () => {
    await expectNoLeaks(() => {
      const rng = new Rng(7);
      const lora = createLora(8);
      randomizeB(lora, rng);
      const weight = tf.tensor2d(rng.normalArray(D_IN * D_OUT), [D_IN, D_OUT]);
      const x = tf.tensor2d(rng.normalArray(4 * D_IN), [4, D_IN]);
      const adapted = tf.tidy(() =>
        tf.add(tf.matMul(x, weight), lora.forward(x, { training: false }).delta),
      );

      const merged = lora.merge(weight);
      const { delta } = lora.forward(x, { training: false });
      const mergedOutput = tf.tidy(() => tf.add(tf.matMul(x, merged), delta));

      expect(lora.isMerged).toBe(true);
      expect([...delta.dataSync()].every((value) => value === 0)).toBe(true);
      expectClose(mergedOutput, adapted, 'reassociated');
      tf.dispose([weight, x, adapted, merged, delta, mergedOutput]);
      lora.dispose();
    });
  });

  it('restores the weight on unmerge', async () => {
    await expectNoLeaks(() => {
      const rng = new Rng(9);
      const lora = createLora(10);
      randomizeB(lora, rng);
      const weight = tf.tensor2d(rng.normalArray(D_IN * D_OUT), [D_IN, D_OUT]);

      const merged = lora.merge(weight);
      const restored = lora.unmerge(merged);

      expect(lora.isMerged).toBe(false);
      expectClose(restored, weight, 'exact');
      tf.dispose([weight, merged, restored]);
      lora.dispose();
    });
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects merging an adapter containing %s',
    async (bad) => {
      await expectNoLeaks(() => {
        const lora = createLora(11);
        tf.tidy(() => lora.loraB.assign(tf.fill([RANK, D_OUT], bad)));
        const weight = tf.zeros([D_IN, D_OUT]) as tf.Tensor2D;

        expect(() => lora.merge(weight)).toThrow(NumericError);
        expect(() => lora.merge(weight)).toThrow('Lora.merge produced non-finite values');
        expect(lora.isMerged).toBe(false);
        tf.dispose(weight);
        lora.dispose();
      });
    },
  );

  it('warns on unmerge when unmerged', async () => {
    const records: LogRecord[] = [];
    const logger = createLogger({ level: 'warn', sink: (record) => records.push(record) });

    await expectNoLeaks(() => {
      const lora = createLora(12, logger);
      const weight = tf.tensor2d(new Rng(13).normalArray(D_IN * D_OUT), [D_IN, D_OUT]);

      const result = lora.unmerge(weight);

      expect(result).not.toBe(weight);
      expectClose(result, weight, 'exact');
      expect(lora.isMerged).toBe(false);
      tf.dispose([weight, result]);
      lora.dispose();
    });
    expect(records.map((record) => record.level)).toEqual(['warn']);
    expect(records[0]?.message).toMatch(/^Lora\.unmerge called on an adapter that is not merged/);
  });

  it('warns on a second merge', async () => {
    const records: LogRecord[] = [];
    const logger = createLogger({ level: 'warn', sink: (record) => records.push(record) });

    await expectNoLeaks(() => {
      const lora = createLora(14, logger);
      randomizeB(lora, new Rng(15));
      const weight = tf.zeros([D_IN, D_OUT]) as tf.Tensor2D;
      const merged = lora.merge(weight);

      const again = lora.merge(merged);

      expectClose(again, merged, 'exact');
      tf.dispose([weight, merged, again]);
      lora.dispose();
    });
    expect(records.map((record) => record.message)).toEqual([
      'Lora.merge called on an adapter that is already merged; returning the weight unchanged.',
    ]);
  });

  it('applies dropout only in training', async () => {
    await expectNoLeaks(() => {
      const lora = new Lora({ dIn: D_IN, dOut: D_OUT, rank: RANK, dropout: 0.5, rng: new Rng(16) });
      randomizeB(lora, new Rng(17));
      const x = tf.tensor2d(new Rng(18).normalArray(8 * D_IN), [8, D_IN]);

      const evaluation = lora.forward(x, { training: false }).delta;
      const reference = tf.tidy(() =>
        tf.mul(tf.matMul(tf.matMul(x, lora.loraA), lora.loraB), lora.scaling),
      );
      const first = lora.forward(x, { training: true, dropoutSeed: 3 }).delta;
      const repeat = lora.forward(x, { training: true, dropoutSeed: 3 }).delta;

      expectClose(evaluation, reference, 'exact');
      expectClose(repeat, first, 'exact');
      expect([...first.dataSync()]).not.toEqual([...evaluation.dataSync()]);
      tf.dispose([x, evaluation, reference, first, repeat]);
      lora.dispose();
    });
  });

  it('rejects an input of the wrong width', async () => {
    await expectNoLeaks(() => {
      const lora = createLora(19);
      const x = tf.zeros([2, D_IN + 1]) as tf.Tensor2D;

      expect(() => lora.forward(x, { training: false })).toThrow(ShapeError);
      expect(() => lora.forward(x, { training: false })).toThrow(
        `Lora expects input [tokens, ${D_IN}], received [2, ${D_IN + 1}].`,
      );
      tf.dispose(x);
      lora.dispose();
    });
  });

  it.each([
    { field: 'dIn', options: { dIn: 0, dOut: 2, rank: 1 } },
    { field: 'dOut', options: { dIn: 2, dOut: 1.5, rank: 1 } },
    { field: 'rank', options: { dIn: 2, dOut: 2, rank: 0 } },
  ])('rejects an invalid $field', async ({ field, options }) => {
    await expectNoLeaks(() => {
      const create = () => new Lora({ ...options, rng: new Rng(1) });

      expect(create).toThrow(ConfigError);
      expect(create).toThrow(new RegExp(`^\`${field}\`: must be a positive integer, received`));
    });
  });
});
