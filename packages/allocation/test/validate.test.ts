import type { Allocation } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import {
  AllocationValidationError,
  uniformPolicyPlugin,
  validateAllocation,
} from '../src/index.js';
import { babyContext, randomGsv } from './fixtures.js';

const context = babyContext(1);
const valid = uniformPolicyPlugin.create({ experts: 4, rank: 4 }).allocate(context);

/** `valid` with module `index` replaced by `change` applied to it. */
function withModule(
  index: number,
  change: { ranks?: number[]; topK?: number; path?: string },
): Allocation {
  return {
    modules: valid.modules.map((entry, i) => (i === index ? { ...entry, ...change } : entry)),
  };
}

describe('validateAllocation', () => {
  it('accepts a valid allocation', () => {
    expect(validateAllocation(valid, context)).toEqual(valid);
  });

  it.each([
    [
      'a missing module',
      { modules: valid.modules.slice(1) },
      /"model\.layers\.0\.self_attn\.q_proj" is missing/,
    ],
    [
      'a repeated module',
      { modules: [...valid.modules, valid.modules[0]] },
      /self_attn\.q_proj" appears more than once/,
    ],
    [
      'an unknown module',
      withModule(2, { path: 'model.layers.9.mlp.up_proj' }),
      /layers\.9\.mlp\.up_proj" is not in context\.modules/,
    ],
    [
      'too many experts',
      withModule(0, { ranks: new Array(9).fill(1) }),
      /has 9 experts; allowed 1 to maxExperts = 8/,
    ],
    ['no experts', withModule(0, { ranks: [], topK: 1 }), /has 0 experts/],
    ['rank 0', withModule(1, { ranks: [4, 0] }), /k_proj" expert 1 has rank 0/],
    ['a fractional rank', withModule(1, { ranks: [4, 2.5] }), /expert 1 has rank 2\.5/],
    ['a NaN rank', withModule(1, { ranks: [Number.NaN, 2] }), /expert 0 has rank NaN/],
    [
      'a rank above maxRank',
      withModule(6, { ranks: [9, 2] }),
      /down_proj" expert 0 has rank 9; allowed integers 1 to maxRank = 8/,
    ],
    [
      'topK above experts',
      withModule(3, { ranks: [2, 2], topK: 3 }),
      /o_proj" has topK 3, more than its 2 experts/,
    ],
    ['topK 0', withModule(3, { topK: 0 }), /has topK 0/],
    [
      'one expert with top-2',
      withModule(4, { ranks: [8], topK: 2 }),
      /gate_proj" has one expert but topK 2.*allowSingleExpertTopK/,
    ],
  ])('rejects %s', (_name, allocation, message) => {
    const run = () => validateAllocation(allocation as Allocation, context);
    expect(run).toThrow(AllocationValidationError);
    expect(run).toThrow(message);
  });

  it('lowers top-k of single experts on request', () => {
    const allocation = withModule(4, { ranks: [8], topK: 2 });
    const result = validateAllocation(allocation, context, { allowSingleExpertTopK: true });
    expect(result.modules[4]).toEqual({
      path: 'model.layers.0.mlp.gate_proj',
      ranks: [8],
      topK: 1,
    });
    expect(result.modules[0]).toEqual(valid.modules[0]);
  });

  it('checks the budget', () => {
    // 7 modules × 4 experts × rank 4 on BabyLlama dims.
    const parameters = context.modules.reduce(
      (sum, m) => sum + 4 * m.dIn + 16 * (m.dIn + m.dOut),
      0,
    );
    expect(() => validateAllocation(valid, context, { budget: parameters })).not.toThrow();
    expect(() => validateAllocation(valid, context, { budget: parameters - 1 })).toThrow(
      `the allocation has ${parameters} trainable parameters, over the budget of ${parameters - 1}`,
    );
  });

  it('honours tighter maxima', () => {
    expect(() => validateAllocation(valid, context, { maxExperts: 3 })).toThrow(/maxExperts = 3/);
    expect(() => validateAllocation(valid, context, { maxRank: 3 })).toThrow(/maxRank = 3/);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.NEGATIVE_INFINITY],
  ])('rejects %s GSV scores', (_name, bad) => {
    const gsv = randomGsv(context, 9);
    const ranks = gsv.get('model.layers.0.mlp.up_proj')?.ranks[2];
    if (ranks !== undefined) {
      ranks[6] = bad;
    }
    expect(() => validateAllocation(valid, { ...context, gsv })).toThrow(
      /"model\.layers\.0\.mlp\.up_proj" rank GSV 2 has (NaN|-Infinity) at index 6/,
    );
  });

  it('lists every issue', () => {
    const allocation = {
      modules: [{ ...valid.modules[0], ranks: [0], topK: 2 }, ...valid.modules.slice(1, 3)],
    };
    try {
      validateAllocation(allocation as Allocation, context);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AllocationValidationError);
      const issues = (error as AllocationValidationError).issues;
      expect(issues).toHaveLength(6);
    }
  });
});
