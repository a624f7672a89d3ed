import { ConfigError, NumericError, ShapeError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import { allocateFromGsv, guilomoPolicyPlugin } from '../src/index.js';
import { babyContext, peakedGsv, randomGsv } from './fixtures.js';

describe('allocation:guilomo', () => {
  it('takes argmax + 1 for experts and ranks', () => {
    const context = babyContext(2);
    const gsv = peakedGsv(context, 5, (e) => e + 2);
    const allocation = guilomoPolicyPlugin.create({}).allocate({ ...context, gsv });
    expect(allocation.modules).toHaveLength(14);
    for (const entry of allocation.modules) {
      expect(entry.ranks).toEqual([2, 3, 4, 5, 6]);
      expect(entry.topK).toBe(2);
    }
  });

  it('keeps at least two experts', () => {
    const context = babyContext(1);
    const gsv = peakedGsv(context, 1, () => 3);
    const allocation = allocateFromGsv({ ...context, gsv });
    expect(allocation.modules[0]?.ranks).toEqual([3, 3]);
  });

  it('breaks all-equal GSV ties at the first index', () => {
    const context = babyContext(1);
    const flat = {
      expert: new Float32Array(8).fill(0.5),
      ranks: Array.from({ length: 8 }, () => new Float32Array(8).fill(0.5)),
    };
    const gsv = new Map(context.modules.map((module) => [module.path, flat]));
    const allocation = guilomoPolicyPlugin.create({}).allocate({ ...context, gsv });
    for (const entry of allocation.modules) {
      expect(entry.ranks).toEqual([1, 1]);
    }
  });

  it('ignores rank GSVs of unused experts', () => {
    const context = babyContext(1);
    const gsv = peakedGsv(context, 3, (e) => (e < 3 ? 4 : 8));
    const path = context.modules[0]?.path ?? '';
    const entry = gsv.get(path);
    entry?.ranks[7]?.fill(Number.NaN);
    const allocation = allocateFromGsv({ ...context, gsv });
    expect(allocation.modules[0]?.ranks).toEqual([4, 4, 4]);
  });

  it('honours minExperts', () => {
    const context = babyContext(1);
    const gsv = peakedGsv(context, 2, () => 1);
    const allocation = guilomoPolicyPlugin.create({ minExperts: 4 }).allocate({ ...context, gsv });
    expect(allocation.modules[0]?.ranks).toHaveLength(4);
  });

  it('rejects a module without GSVs', () => {
    const context = babyContext(1);
    const gsv = randomGsv(context, 1);
    gsv.delete('model.layers.0.mlp.up_proj');
    expect(() => allocateFromGsv({ ...context, gsv })).toThrow(ConfigError);
    expect(() => allocateFromGsv({ ...context, gsv })).toThrow(/model\.layers\.0\.mlp\.up_proj/);
  });

  it('rejects missing context.gsv', () => {
    expect(() => allocateFromGsv(babyContext(1))).toThrow(/context\.gsv.*is missing/);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('rejects %s in an expert GSV', (_name, bad) => {
    const context = babyContext(1);
    const gsv = randomGsv(context, 2);
    const expert = gsv.get('model.layers.0.self_attn.v_proj')?.expert;
    if (expert !== undefined) {
      expert[3] = bad;
    }
    const run = () => allocateFromGsv({ ...context, gsv });
    expect(run).toThrow(NumericError);
    expect(run).toThrow(/self_attn\.v_proj.*\[3\] is (NaN|Infinity)/);
  });

  it('rejects NaN in a used rank GSV', () => {
    const context = babyContext(1);
    const gsv = peakedGsv(context, 8, () => 2);
    gsv.get('model.layers.0.mlp.down_proj')?.ranks[5]?.fill(Number.NaN);
    expect(() => allocateFromGsv({ ...context, gsv })).toThrow(
      /Rank GSV 5 of module "model\.layers\.0\.mlp\.down_proj"/,
    );
  });

  it('rejects GSVs of the wrong length', () => {
    const context = babyContext(1);
    const gsv = randomGsv({ ...context, maxExperts: 6 }, 3);
    expect(() => allocateFromGsv({ ...context, gsv })).toThrow(ShapeError);
  });

  it('rejects unknown parameters', () => {
    expect(() => guilomoPolicyPlugin.create({ minExpert: 2 })).toThrow(
      /allocation:guilomo\.minExpert.*unknown parameter/,
    );
  });
});
