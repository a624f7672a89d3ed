import { ConfigError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import {
  molaBlockOfLayer,
  molaLayerExperts,
  molaPolicyPlugin,
  parseMolaShape,
  uniformPolicyPlugin,
} from '../src/index.js';
import { babyContext } from './fixtures.js';

const repeat = (value: number, times: number): number[] => new Array<number>(times).fill(value);

describe('MoLA block rule', () => {
  it.each([
    ['5555', [5, 5, 5, 5]],
    ['2468', [2, 4, 6, 8]],
    ['8642', [8, 6, 4, 2]],
    ['8228', [8, 2, 2, 8]],
  ])('shape %s on 32 layers gives blocks of 8', (shape, blocks) => {
    const expected = blocks.flatMap((count) => repeat(count, 8));
    expect(molaLayerExperts(parseMolaShape(shape), 32)).toEqual(expected);
  });

  it('gives 160 experts per module type on 32 layers', () => {
    for (const shape of ['5555', '2468', '8642', '8228']) {
      const total = molaLayerExperts(parseMolaShape(shape), 32).reduce((a, b) => a + b, 0);
      expect(total).toBe(160);
    }
  });

  it.each([
    [1, [8]],
    [2, [4, 8]],
    [3, [4, 6, 8]],
    [4, [2, 4, 6, 8]],
    [5, [2, 4, 6, 8, 8]],
    [6, [2, 4, 4, 6, 8, 8]],
    [7, [2, 4, 4, 6, 6, 8, 8]],
    [10, [2, 2, 4, 4, 4, 6, 6, 8, 8, 8]],
  ])('shape 2468 on %i layers', (numLayers, expected) => {
    expect(molaLayerExperts([2, 4, 6, 8], numLayers)).toEqual(expected);
  });

  it('puts every layer in exactly one block', () => {
    for (let numLayers = 1; numLayers <= 40; numLayers++) {
      for (let layer = 0; layer < numLayers; layer++) {
        const block = molaBlockOfLayer(layer, numLayers);
        expect(Math.floor((block * numLayers) / 4)).toBeLessThanOrEqual(layer);
        expect(layer).toBeLessThan(Math.floor(((block + 1) * numLayers) / 4));
      }
    }
  });

  it.each([
    ['triangle', [2, 4, 6, 8]],
    ['hourglass', [8, 2, 2, 8]],
    ['10,2,3,12', [10, 2, 3, 12]],
  ] as const)('parses shape %s', (shape, expected) => {
    expect(parseMolaShape(shape)).toEqual(expected);
  });

  it('parses an array shape', () => {
    expect(parseMolaShape([1, 2, 3, 4])).toEqual([1, 2, 3, 4]);
  });

  it.each([['246'], ['24680'], ['2068'], [[2, 4, 6]], [[2, 4, 6, 8.5]], [42]])(
    'rejects shape %j',
    (shape) => {
      expect(() => parseMolaShape(shape)).toThrow(ConfigError);
    },
  );
});

describe('allocation:mola', () => {
  it('applies the layer count to all modules of the layer', () => {
    const context = babyContext(5);
    const allocation = molaPolicyPlugin.create({ shape: '2468' }).allocate(context);
    const perLayer = [2, 4, 6, 8, 8];
    for (const [i, entry] of allocation.modules.entries()) {
      const layer = context.modules[i]?.layer ?? -1;
      expect(entry.ranks).toEqual(repeat(8, perLayer[layer] ?? 0));
      expect(entry.topK).toBe(2);
    }
  });

  it('routes single-expert layers with top-1', () => {
    const allocation = molaPolicyPlugin
      .create({ shape: [1, 1, 3, 3], rank: 4 })
      .allocate(babyContext(4));
    expect(allocation.modules[0]?.ranks).toEqual([4]);
    expect(allocation.modules[0]?.topK).toBe(1);
    expect(allocation.modules[27]?.topK).toBe(2);
  });

  it('rejects a bad rank', () => {
    expect(() => molaPolicyPlugin.create({ rank: 0 })).toThrow(/allocation:mola\.rank.*received 0/);
  });
});

describe('allocation:uniform', () => {
  it('gives every module the same experts and rank', () => {
    const allocation = uniformPolicyPlugin
      .create({ experts: 4, rank: 6, topK: 1 })
      .allocate(babyContext(3));
    expect(allocation.modules).toHaveLength(21);
    for (const entry of allocation.modules) {
      expect(entry.ranks).toEqual([6, 6, 6, 6]);
      expect(entry.topK).toBe(1);
    }
  });

  it('defaults to the context limits', () => {
    const allocation = uniformPolicyPlugin
      .create({})
      .allocate(babyContext(1, { maxExperts: 3, maxRank: 5 }));
    expect(allocation.modules[0]?.ranks).toEqual([5, 5, 5]);
    expect(allocation.modules[0]?.topK).toBe(2);
  });

  it('rejects topK above experts', () => {
    expect(() => uniformPolicyPlugin.create({ experts: 1, topK: 2 })).toThrow(
      /allocation:uniform\.topK.*is 2, larger than experts = 1/,
    );
  });

  it('rejects a non-integer expert count', () => {
    expect(() => uniformPolicyPlugin.create({ experts: 2.5 })).toThrow(/received 2\.5/);
  });
});

describe('MoLA block sizes', () => {
  it('differ by at most one', () => {
    for (let numLayers = 4; numLayers <= 40; numLayers++) {
      const sizes = [0, 0, 0, 0];
      for (let layer = 0; layer < numLayers; layer++) {
        const block = molaBlockOfLayer(layer, numLayers);
        sizes[block] = (sizes[block] ?? 0) + 1;
      }
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });
});
