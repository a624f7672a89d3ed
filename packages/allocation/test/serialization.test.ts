import { FormatError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import {
  fromAllocationJson,
  fromAuthorFiles,
  guilomoPolicyPlugin,
  molaPolicyPlugin,
  summarizeAllocation,
  toAllocationJson,
  toAuthorFiles,
} from '../src/index.js';
import { babyContext, peakedGsv, randomGsv } from './fixtures.js';

const context = babyContext(2);
const gsv = randomGsv(context, 42);
const allocation = guilomoPolicyPlugin.create({}).allocate({ ...context, gsv });

describe('allocation.json', () => {
  it('round-trips through text', () => {
    const json = toAllocationJson(allocation, {
      modules: context.modules,
      policy: 'allocation:guilomo',
    });
    const text = JSON.stringify(json, null, 2);
    expect(fromAllocationJson(text)).toEqual(allocation);
    expect(fromAllocationJson(JSON.parse(text))).toEqual(allocation);
  });

  it('writes totals', () => {
    const mola = molaPolicyPlugin.create({ shape: '2468', rank: 2 }).allocate(context);
    const json = toAllocationJson(mola, { modules: context.modules });
    // 2 layers → blocks 1 and 3 → 4 and 8 experts on each of 7 modules.
    expect(json.totals).toEqual({
      modules: 14,
      experts: 84,
      rank: 168,
      parameters: summarizeAllocation(mola, context.modules).parameters,
    });
    expect(json.modules[0]).toEqual({
      path: 'model.layers.0.self_attn.q_proj',
      experts: 4,
      ranks: [2, 2, 2, 2],
      topK: 2,
    });
    expect(json.format).toBe('guilomo-allocation');
    expect(json.version).toBe(1);
  });

  it.each([
    ['invalid JSON', '{"format":', /allocation\.json: invalid JSON/],
    [
      'a wrong format',
      { format: 'other', version: 1, modules: [] },
      /expected format "guilomo-allocation" version 1/,
    ],
    [
      'experts ≠ ranks',
      {
        format: 'guilomo-allocation',
        version: 1,
        modules: [{ path: 'a', experts: 3, ranks: [1, 2], topK: 2 }],
      },
      /modules\[0\]\.experts is 3, but ranks lists 2 experts/,
    ],
    [
      'a zero rank',
      {
        format: 'guilomo-allocation',
        version: 1,
        modules: [{ path: 'a', experts: 2, ranks: [1, 0], topK: 2 }],
      },
      /modules\[0\]\.ranks\[1\]: expected an integer of at least 1, received 0/,
    ],
    [
      'a repeated path',
      {
        format: 'guilomo-allocation',
        version: 1,
        modules: [
          { path: 'a', experts: 1, ranks: [1], topK: 1 },
          { path: 'a', experts: 1, ranks: [1], topK: 1 },
        ],
      },
      /modules\[1\] repeats path "a"/,
    ],
    [
      'wrong totals',
      {
        format: 'guilomo-allocation',
        version: 1,
        totals: { experts: 5 },
        modules: [{ path: 'a', experts: 1, ranks: [1], topK: 1 }],
      },
      /totals\.experts is 5, but the modules give 1/,
    ],
  ])('rejects %s', (_name, input, message) => {
    const run = () => fromAllocationJson(input, 'allocation.json');
    expect(run).toThrow(FormatError);
    expect(run).toThrow(message);
  });
});

describe('author files', () => {
  it('uses the reference key formats', () => {
    const peaked = peakedGsv(context, 3, (e) => e + 1);
    const files = toAuthorFiles(
      guilomoPolicyPlugin.create({}).allocate({ ...context, gsv: peaked }),
    );
    const experts = JSON.parse(files['expert.json']);
    const ranks = JSON.parse(files['rank.json']);
    expect(Object.keys(experts)).toHaveLength(14);
    expect(experts['model.layers.1.mlp.up_proj']).toBe(3);
    expect(ranks['model.layers.1.mlp.up_proj.expertlora_E_vector_2']).toBe(3);
    expect(Object.keys(ranks)).toHaveLength(42);
    expect(files['expert.json'].startsWith('{\n    "model.layers.0.self_attn.q_proj": 3,\n')).toBe(
      true,
    );
  });

  it('lists every expert that has a rank GSV', () => {
    const peaked = peakedGsv(context, 3, (e) => 8 - e);
    const small = guilomoPolicyPlugin.create({}).allocate({ ...context, gsv: peaked });
    const ranks = JSON.parse(toAuthorFiles(small, { gsv: peaked })['rank.json']);
    expect(Object.keys(ranks)).toHaveLength(14 * 8);
    expect(ranks['model.layers.0.mlp.down_proj.expertlora_E_vector_7']).toBe(1);
    expect(ranks['model.layers.0.mlp.down_proj.expertlora_E_vector_0']).toBe(8);
  });

  it.each([
    ['with all GSV experts', true],
    ['with allocated experts only', false],
  ])('round-trips %s', (_name, withGsv) => {
    const files = toAuthorFiles(allocation, withGsv ? { gsv } : {});
    expect(fromAuthorFiles(files)).toEqual(allocation);
    expect(
      fromAuthorFiles({
        'expert.json': JSON.parse(files['expert.json']),
        'rank.json': JSON.parse(files['rank.json']),
      }),
    ).toEqual(allocation);
  });

  it('clamps top-k to the expert count', () => {
    const files = {
      'expert.json': { 'model.layers.0.mlp.up_proj': 1 },
      'rank.json': { 'model.layers.0.mlp.up_proj.expertlora_E_vector_0': 4 },
    };
    expect(fromAuthorFiles(files).modules[0]).toEqual({
      path: 'model.layers.0.mlp.up_proj',
      ranks: [4],
      topK: 1,
    });
  });

  it.each([
    [
      'a missing rank',
      { 'expert.json': { m: 2 }, 'rank.json': { 'm.expertlora_E_vector_0': 1 } },
      /missing "m\.expertlora_E_vector_1"; expert\.json gives module "m" 2 experts/,
    ],
    [
      'an unknown module',
      {
        'expert.json': { m: 1 },
        'rank.json': { 'm.expertlora_E_vector_0': 1, 'n.expertlora_E_vector_0': 1 },
      },
      /names module "n", which expert\.json does not list/,
    ],
    [
      'a bad key',
      { 'expert.json': { m: 1 }, 'rank.json': { 'm.lora_E_0': 1 } },
      /"m\.lora_E_0" does not have the form/,
    ],
    ['a zero count', { 'expert.json': { m: 0 }, 'rank.json': {} }, /expert\.json: "m" has 0/],
    ['invalid JSON', { 'expert.json': '{', 'rank.json': '{}' }, /expert\.json: invalid JSON/],
  ])('rejects %s', (_name, files, message) => {
    expect(() => fromAuthorFiles(files)).toThrow(FormatError);
    expect(() => fromAuthorFiles(files)).toThrow(message);
  });
});

describe('summarizeAllocation', () => {
  it('builds layer × projection grids', () => {
    const mola = molaPolicyPlugin.create({ shape: [1, 2, 3, 4], rank: 3 }).allocate(babyContext(4));
    const summary = summarizeAllocation(mola, babyContext(4).modules);
    expect(summary.layers).toEqual([0, 1, 2, 3]);
    expect(summary.projections).toEqual(['q', 'k', 'v', 'o', 'gate', 'up', 'down']);
    expect(summary.experts.map((row) => row[0])).toEqual([1, 2, 3, 4]);
    expect(summary.meanRank[2]).toEqual(new Array(7).fill(3));
    expect(summary.expertsPerLayer).toEqual([7, 14, 21, 28]);
    expect(summary.totalExperts).toBe(70);
    expect(summary.totalRank).toBe(210);
    expect(summary.numModules).toBe(28);
  });

  it('leaves absent cells null', () => {
    const modules = babyContext(2).modules.filter((m) => m.projection === 'q' || m.layer === 1);
    const partial = { modules: modules.map((m) => ({ path: m.path, ranks: [2, 4], topK: 2 })) };
    const summary = summarizeAllocation(partial, modules);
    expect(summary.experts[0]).toEqual([2, null, null, null, null, null, null]);
    expect(summary.meanRank[1]).toEqual(new Array(7).fill(3));
  });
});
