import type { AllocationContext, LogRecord, ModuleInfo, ProgressEvent } from '@guilomo/core';
import { ConfigError, createLogger, NumericError, Rng, ShapeError } from '@guilomo/core';
import { expectNoLeaks, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayerScores } from '../src/index.js';
import {
  alphaloraLayerScores,
  alphaloraPolicyPlugin,
  defaultAlphaloraTotal,
  esdEigenvalues,
  estimatePlAlphaHill,
  roundHalfEven,
  scaleExpertCounts,
} from '../src/index.js';
import { babyModules } from './fixtures.js';

describe('scaleExpertCounts', () => {
  it('matches the published unit vector', () => {
    const scores = [3.0, 3.5, 2.5, 4.0, 3.2, 2.8, 3.9, 4.4];
    expect(scaleExpertCounts(scores, 40, 2.5)).toEqual([3, 5, 2, 7, 4, 3, 7, 9]);
  });

  it.each([
    [[1, 1, 1], 7, [3, 2, 2]],
    [[1, 1, 1], 8, [2, 3, 3]],
    [[5], 9, [9]],
  ])('scales %j to total %i', (scores, total, expected) => {
    const counts = scaleExpertCounts(scores, total, 2.5);
    expect(counts).toEqual(expected);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
  });

  it('can leave a layer without experts', () => {
    // s = [2^2.5, 1] = [5.66, 1], so round(2.55) = 3 and round(0.45) = 0 already sum to 3.
    expect(scaleExpertCounts([2, 1], 3, 2.5)).toEqual([3, 0]);
  });

  it.each([[[Number.NaN, 1]], [[-1, 2]], [[0, 0]]])('rejects scores %j', (scores) => {
    expect(() => scaleExpertCounts(scores, 4, 2.5)).toThrow(NumericError);
  });
});

describe('roundHalfEven', () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [2.4999, 2],
    [2.5001, 3],
    [-1.5, -2],
    [-2.5, -2],
  ])('rounds %f to %f', (value, expected) => {
    expect(roundHalfEven(value)).toBe(expected);
  });
});

describe('defaultAlphaloraTotal', () => {
  it.each([
    [32, 160],
    [5, 25],
    [1, 5],
    [40, 200],
  ])('is %i layers → %i experts', (layers, total) => {
    expect(defaultAlphaloraTotal(layers)).toBe(total);
  });
});

/** Seeded N(0, σ²) weights per module; σ grows with depth so the layers' spectra differ. */
function makeWeights(modules: readonly ModuleInfo[], seed: number): Map<string, tf.Tensor2D> {
  const rng = new Rng(seed);
  return new Map(
    modules.map((module) => {
      const std = 0.02 * (1 + module.layer);
      const values = rng.normalArray(module.dOut * module.dIn, 0, std);
      // A few large entries give the spectra a heavier tail in deeper layers.
      for (let i = 0; i < module.layer * 3; i++) {
        values[rng.nextInt(values.length)] = 5 * std * (1 + module.layer);
      }
      return [module.path, tf.tensor2d(values, [module.dOut, module.dIn])];
    }),
  );
}

function contextWith(
  modules: ModuleInfo[],
  numLayers: number,
  weights: Map<string, tf.Tensor2D>,
): AllocationContext {
  return {
    modules,
    numLayers,
    maxExperts: 8,
    maxRank: 8,
    topK: 2,
    frozenWeight: (path) => {
      const weight = weights.get(path);
      if (weight === undefined) {
        throw new Error(`no weight for ${path}`);
      }
      return weight;
    },
  };
}

describe('allocation:alphalora on BabyLlama dimensions', () => {
  const modules = babyModules(5);
  let weights: Map<string, tf.Tensor2D>;

  beforeAll(async () => {
    await useBackend('cpu');
    weights = makeWeights(modules, 7);
  });

  afterAll(() => {
    for (const weight of weights.values()) {
      weight.dispose();
    }
  });

  it('allocates the total by mean layer α', async () => {
    await expectNoLeaks(() => {
      const events: ProgressEvent[] = [];
      const logs: LogRecord[] = [];
      const policy = alphaloraPolicyPlugin.create({
        onProgress: (event: ProgressEvent) => events.push(event),
        logger: createLogger({ level: 'debug', sink: (record) => logs.push(record) }),
      });
      const allocation = policy.allocate(contextWith(modules, 5, weights));

      // The debug records carry each module's α, so the layer scores can be rebuilt from them.
      const alphaOf = new Map<string, number>();
      for (const record of logs) {
        if (record.message === 'PL_Alpha_Hill estimated') {
          alphaOf.set(String(record.fields?.path), Number(record.fields?.alpha));
        }
      }
      expect(alphaOf.size).toBe(35);
      const scores = [0, 1, 2, 3, 4].map((layer) => {
        const layerModules = modules.filter((module) => module.layer === layer);
        const sum = layerModules.reduce((acc, module) => acc + (alphaOf.get(module.path) ?? 0), 0);
        return sum / layerModules.length;
      });
      const expected = scaleExpertCounts(scores, 25, 2.5);

      allocation.modules.forEach((entry, i) => {
        const layer = modules[i]?.layer ?? -1;
        const count = expected[layer] ?? 0;
        expect(entry.ranks).toEqual(new Array<number>(count).fill(8));
        expect(entry.topK).toBe(Math.min(2, count));
      });
      expect(expected.reduce((a, b) => a + b, 0)).toBe(25);
      expect(Math.min(...expected)).toBeGreaterThanOrEqual(1);
      expect(events).toHaveLength(35);
      expect(events[34]).toMatchObject({ phase: 'alphalora', step: 35, total: 35 });

      // One module recomputed directly gives the α that the policy logged.
      const down = modules.find(
        (module) => module.path === 'model.layers.3.mlp.down_proj',
      ) as ModuleInfo;
      const weight = weights.get(down.path) as tf.Tensor2D;
      const direct = estimatePlAlphaHill(esdEigenvalues(weight.dataSync(), down.dOut, down.dIn));
      expect(alphaOf.get(down.path)).toBe(direct.alpha);
    });
  });
});

describe('allocation:alphalora across backends', () => {
  it('gives the same scores on cpu and wasm', async () => {
    const modules = babyModules(3, 4);
    const results: LayerScores[] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend);
      const weights = makeWeights(modules, 21);
      await expectNoLeaks(() => {
        results.push(alphaloraLayerScores(contextWith(modules, 3, weights)));
      });
      for (const weight of weights.values()) {
        weight.dispose();
      }
    }
    expect(results[1]?.scores).toEqual(results[0]?.scores);
    expect(results[0]?.layers).toEqual([0, 1, 2]);
  });
});

describe('allocation:alphalora checks', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it.each([1, 3, 7])('works on %i layers', async (numLayers) => {
    const modules = babyModules(numLayers, 8);
    const weights = makeWeights(modules, numLayers);
    const logs: LogRecord[] = [];
    const logger = createLogger({ level: 'debug', sink: (record) => logs.push(record) });
    const allocation = alphaloraPolicyPlugin
      .create({ rank: 4, logger })
      .allocate(contextWith(modules, numLayers, weights));
    const total = allocation.modules
      .filter((_, i) => modules[i]?.projection === 'q')
      .reduce((sum, entry) => sum + entry.ranks.length, 0);
    expect(total).toBe(5 * numLayers);
    expect(allocation.modules[0]?.ranks.every((rank) => rank === 4)).toBe(true);
    expect(logs.filter((record) => record.level === 'debug')).toHaveLength(modules.length);
    for (const weight of weights.values()) {
      weight.dispose();
    }
  });

  it('gives one-expert layers top-1', () => {
    const modules = babyModules(3, 8);
    const weights = makeWeights(modules, 3);
    const allocation = alphaloraPolicyPlugin
      .create({ total: 3 })
      .allocate(contextWith(modules, 3, weights));
    for (const entry of allocation.modules) {
      expect(entry.ranks).toHaveLength(1);
      expect(entry.topK).toBe(1);
    }
    for (const weight of weights.values()) {
      weight.dispose();
    }
  });

  it('rejects a total below the layer count', () => {
    const modules = babyModules(3, 8);
    const context: AllocationContext = {
      ...contextWith(modules, 3, new Map()),
      frozenWeight: undefined,
    };
    expect(() => alphaloraPolicyPlugin.create({ total: 2 }).allocate(context)).toThrow(
      /allocation:alphalora\.total.*is 2, fewer than the 3 adapted layers/,
    );
  });

  it('rejects a missing frozenWeight', () => {
    const modules = babyModules(1, 8);
    const context: AllocationContext = {
      ...contextWith(modules, 1, new Map()),
      frozenWeight: undefined,
    };
    expect(() => alphaloraPolicyPlugin.create({}).allocate(context)).toThrow(ConfigError);
  });

  it('rejects a transposed weight', () => {
    const modules = babyModules(1, 8).filter((module) => module.projection === 'up');
    const module = modules[0] as ModuleInfo;
    const weight = tf.zeros([module.dIn, module.dOut]) as tf.Tensor2D;
    const context = contextWith(modules, 1, new Map([[module.path, weight]]));
    expect(() => alphaloraPolicyPlugin.create({}).allocate(context)).toThrow(ShapeError);
    weight.dispose();
  });

  it('rejects NaN weights naming the module', () => {
    const modules = babyModules(1, 8).slice(0, 1);
    const module = modules[0] as ModuleInfo;
    const values = new Float32Array(module.dIn * module.dOut).fill(0.1);
    values[5] = Number.NaN;
    const weight = tf.tensor2d(values, [module.dOut, module.dIn]);
    const context = contextWith(modules, 1, new Map([[module.path, weight]]));
    expect(() => alphaloraPolicyPlugin.create({}).allocate(context)).toThrow(
      /self_attn\.q_proj.*NaN at flat index 5/,
    );
    weight.dispose();
  });

  it('rejects a negative beta', () => {
    expect(() => alphaloraPolicyPlugin.create({ beta: -1 })).toThrow(/allocation:alphalora\.beta/);
  });
});

describe('allocation:alphalora with layer scores', () => {
  it('allocates the unit vector without weights', () => {
    const modules = babyModules(8, 8);
    const context: AllocationContext = {
      modules,
      numLayers: 8,
      maxExperts: 8,
      maxRank: 8,
      topK: 2,
    };
    const allocation = alphaloraPolicyPlugin
      .create({ layerScores: [3.0, 3.5, 2.5, 4.0, 3.2, 2.8, 3.9, 4.4], total: 40, rank: 2 })
      .allocate(context);
    const perLayer = allocation.modules
      .filter((entry) => entry.path.endsWith('.mlp.up_proj'))
      .map((entry) => entry.ranks.length);
    expect(perLayer).toEqual([3, 5, 2, 7, 4, 3, 7, 9]);
    expect(allocation.modules[0]?.ranks).toEqual([2, 2, 2]);
  });

  it.each([
    [[1, 2], /has 2 scores, but the context adapts 3 layers \(0, 1, 2\)/],
    [[1, Number.NaN, 2], /expected a non-empty array of finite numbers/],
    ['1,2,3', /expected a non-empty array/],
  ])('rejects layerScores %j', (layerScores, message) => {
    const context: AllocationContext = {
      modules: babyModules(3, 8),
      numLayers: 3,
      maxExperts: 8,
      maxRank: 8,
      topK: 2,
    };
    expect(() => alphaloraPolicyPlugin.create({ layerScores }).allocate(context)).toThrow(message);
  });
});
