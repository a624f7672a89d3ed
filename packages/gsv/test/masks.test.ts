import { ShapeError } from '@guilomo/core';
import { expectClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expertMask, expertMaskFromScores } from '../src/expert-mask.js';
import { rankMask, rankMaskFromScores } from '../src/rank-mask.js';

type MaskFn = (x: tf.Tensor1D) => tf.Tensor1D;

/** Returns the gradient of `Σ mask(x) ⊙ G` at x: the mask's backward applied to G. */
function gradientOf(mask: MaskFn, x: number[], upstream: number[]): Float32Array {
  return tf.tidy(() => {
    const g = tf.tensor1d(upstream);
    return tf
      .grad((input) => tf.sum(tf.mul(mask(input as tf.Tensor1D), g)))(tf.tensor1d(x))
      .dataSync() as Float32Array;
  });
}

const EXPERT_VECTORS = [
  {
    label: 'argmax 1',
    g: [0.1, 0.3, 0.2, 0.05],
    s: [0.524979, 0.574443, 0.549834, 0.512497],
    mask: [0.5, 0.5, -1e4, -1e4],
    upstream: [1, 2, 3, 4],
    ds: [0, 1.673864, 0, 0],
    dg: [0, 0.40919, 0, 0],
  },
  {
    label: 'argmax 0 forced to 1',
    g: [0.4, 0.1, 0.2],
    s: [0.598688, 0.524979, 0.549834],
    mask: [0.5, 0.5, -1e4],
    upstream: [1, -2, 5],
    ds: [0, -0.451271, 0],
    dg: [0, -0.112536, 0],
  },
];

const RANK_VECTOR = {
  h: [0.2, 0.5, 0.1, -0.3],
  u: [0.549834, 0.622459, 0.524979, 0.425557],
  mask: [1, 1, 1e-4, 1e-4],
  upstream: [1, 2, 3, 4],
  du: [1e-4, 1.794753, 3e-4, 4e-4],
  dh: [2.475e-5, 0.4217735, 7.481e-5, 9.778e-5],
};

describe.each(TEST_BACKENDS)('GSV masks on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe.each(EXPERT_VECTORS)('expert mask, $label', (vector) => {
    it('matches the forward test vector', async () => {
      await expectNoLeaks(() =>
        tf.tidy(() => {
          const g = tf.tensor1d(vector.g);
          expectClose(tf.sigmoid(g), vector.s, 'testVector');
          expect(Array.from(expertMask(g).dataSync())).toEqual(vector.mask);
        }),
      );
    });

    it('matches the score gradient', async () => {
      await expectNoLeaks(() => {
        const s = tf.tidy(() => Array.from(tf.sigmoid(tf.tensor1d(vector.g)).dataSync()));
        expectClose(gradientOf(expertMaskFromScores, s, vector.upstream), vector.ds, 'testVector');
      });
    });

    it('matches the GSV gradient', async () => {
      await expectNoLeaks(() => {
        expectClose(gradientOf(expertMask, vector.g, vector.upstream), vector.dg, 'testVector');
      });
    });
  });

  describe('rank mask', () => {
    it('matches the forward test vector', async () => {
      await expectNoLeaks(() =>
        tf.tidy(() => {
          const h = tf.tensor1d(RANK_VECTOR.h);
          expectClose(tf.sigmoid(h), RANK_VECTOR.u, 'testVector');
          expectClose(rankMask(h), RANK_VECTOR.mask, 'exact');
        }),
      );
    });

    it('matches the score gradient', async () => {
      await expectNoLeaks(() => {
        const u = tf.tidy(() => Array.from(tf.sigmoid(tf.tensor1d(RANK_VECTOR.h)).dataSync()));
        expectClose(
          gradientOf(rankMaskFromScores, u, RANK_VECTOR.upstream),
          RANK_VECTOR.du,
          'testVector',
        );
      });
    });

    it('matches the GSV gradient', async () => {
      await expectNoLeaks(() => {
        expectClose(
          gradientOf(rankMask, RANK_VECTOR.h, RANK_VECTOR.upstream),
          RANK_VECTOR.dh,
          'testVector',
        );
      });
    });
  });

  describe('argmax ties', () => {
    it.each([
      // argmax picks index 0 of the tie, which is then forced to 1.
      { g: [0.3, 0.3, 0.1], mask: [0.5, 0.5, -1e4], gradientIndex: 1 },
      { g: [0.1, 0.5, 0.5, 0.2], mask: [0.5, 0.5, -1e4, -1e4], gradientIndex: 1 },
      { g: [0.2, 0.1, 0.7, 0.7, 0.7], mask: [0.5, 0.5, 0.5, -1e4, -1e4], gradientIndex: 2 },
    ])('expert mask of $g takes the first maximum', async ({ g, mask, gradientIndex }) => {
      await expectNoLeaks(() => {
        const maskValues = tf.tidy(() => Array.from(expertMask(tf.tensor1d(g)).dataSync()));
        expect(maskValues).toEqual(mask);
        const gradient = gradientOf(
          expertMask,
          g,
          g.map(() => 1),
        );
        gradient.forEach((value, i) => {
          if (i === gradientIndex) {
            expect(value).not.toBe(0);
          } else {
            expect(value).toBe(0);
          }
        });
      });
    });

    it.each([
      { h: [0.1, 0.4, 0.4, 0.2], mask: [1, 1, 1e-4, 1e-4], selected: 1 },
      { h: [0.6, 0.6, 0.1], mask: [1, 1e-4, 1e-4], selected: 0 },
      { h: [0.5, 0.5, 0.5, 0.5], mask: [1, 1e-4, 1e-4, 1e-4], selected: 0 },
    ])('rank mask of $h takes the first maximum', async ({ h, mask, selected }) => {
      await expectNoLeaks(() => {
        tf.tidy(() => {
          expectClose(rankMask(tf.tensor1d(h)), mask, 'exact');
        });
        const upstream = h.map((_, i) => i + 1);
        const u = h.map((v) => 1 / (1 + Math.exp(-v)));
        const gradient = gradientOf(rankMaskFromScores, u, upstream);
        const prefix = upstream
          .slice(0, selected + 1)
          .reduce((sum, g, i) => sum + g * (u[i] as number), 0);
        const expected = upstream.map((g, j) => (j === selected ? prefix : 1e-4 * g));
        expectClose(gradient, expected, 'reassociated');
      });
    });
  });

  it('reads no tensor back in forward or backward', async () => {
    const reads = [
      vi.spyOn(tf.Tensor.prototype, 'dataSync'),
      vi.spyOn(tf.Tensor.prototype, 'arraySync'),
      vi.spyOn(tf.Tensor.prototype, 'data'),
      vi.spyOn(tf.Tensor.prototype, 'array'),
    ];
    await expectNoLeaks(() =>
      tf.tidy(() => {
        const upstream = tf.tensor1d([1, 2, 3, 4]);
        tf.grad((g) => tf.sum(tf.mul(expertMask(g as tf.Tensor1D), upstream)))(
          tf.tensor1d([0.1, 0.3, 0.2, 0.05]),
        );
        tf.grad((h) => tf.sum(tf.mul(rankMask(h as tf.Tensor1D), upstream)))(
          tf.tensor1d([0.2, 0.5, 0.1, -0.3]),
        );
      }),
    );
    for (const read of reads) {
      expect(read).not.toHaveBeenCalled();
    }
  });

  it.each([
    {
      label: 'expert mask of one entry',
      run: () => expertMask(tf.tensor1d([0.5])),
      message: /length >= 2/,
    },
    {
      label: 'expert mask of a matrix',
      run: () => expertMask(tf.zeros([2, 2]) as unknown as tf.Tensor1D),
      message: /shape \[2, 2\]/,
    },
    {
      label: 'rank mask of int32',
      run: () => rankMask(tf.tensor1d([1, 2], 'int32')),
      message: /must be float32, received int32/,
    },
  ])('rejects the $label', async ({ run, message }) => {
    await expectNoLeaks(() =>
      tf.tidy(() => {
        expect(run).toThrow(ShapeError);
        expect(run).toThrow(message);
      }),
    );
  });
});
