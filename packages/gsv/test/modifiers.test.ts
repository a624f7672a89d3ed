import { Rng } from '@guilomo/core';
import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expertMask } from '../src/expert-mask.js';
import { createGsvSet } from '../src/gsv-set.js';
import { createGsvModifiers } from '../src/modifiers.js';
import { rankMask } from '../src/rank-mask.js';

describe.each(TEST_BACKENDS)('createGsvModifiers on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('returns the expert mask as router-logit bias', async () => {
    await expectNoLeaks(() => {
      const gsv = createGsvSet({ numExperts: 4, maxRank: 3, rng: new Rng(1) });
      tf.tidy(() => {
        const bias = createGsvModifiers(gsv).routerLogitBias?.();
        expect(bias).toBeDefined();
        expectClose(bias as tf.Tensor1D, expertMask(gsv.expert), 'exact');
      });
      gsv.dispose();
    });
  });

  it('flattens the rank masks expert by expert', async () => {
    await expectNoLeaks(() => {
      const gsv = createGsvSet({ numExperts: 4, maxRank: 3, rng: new Rng(2) });
      tf.tidy(() => {
        const scale = createGsvModifiers(gsv).componentScale?.();
        expect(scale?.shape).toEqual([12]);
        // Expert e's components are entries e·3 .. e·3 + 2.
        const rows = tf.unstack(gsv.ranks).map((row) => rankMask(row as tf.Tensor1D));
        expectClose(scale as tf.Tensor1D, tf.concat(rows), 'exact');
      });
      gsv.dispose();
    });
  });

  it.each([
    { useExpertMask: false, useRankMask: true, hasBias: false, hasScale: true },
    { useExpertMask: true, useRankMask: false, hasBias: true, hasScale: false },
    { useExpertMask: false, useRankMask: false, hasBias: false, hasScale: false },
    { useExpertMask: true, useRankMask: true, hasBias: true, hasScale: true },
  ])('honours expert $useExpertMask and rank $useRankMask', async (row) => {
    await expectNoLeaks(() => {
      const gsv = createGsvSet({ numExperts: 2, maxRank: 2, init: 'ones' });
      const modifiers = createGsvModifiers(gsv, {
        useExpertMask: row.useExpertMask,
        useRankMask: row.useRankMask,
      });
      expect(modifiers.routerLogitBias !== undefined).toBe(row.hasBias);
      expect(modifiers.componentScale !== undefined).toBe(row.hasScale);
      gsv.dispose();
    });
  });
});
