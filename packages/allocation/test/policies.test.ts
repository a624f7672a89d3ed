import type { AllocationContext } from '@guilomo/core';
import { createRegistry, Rng } from '@guilomo/core';
import { expectNoLeaks, useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PolicyParams } from '../src/index.js';
import { builtinAllocationPolicies, countParameters, validateAllocation } from '../src/index.js';
import { babyModules, randomGsv } from './fixtures.js';

const POLICIES: readonly [string, PolicyParams][] = [
  ['guilomo', {}],
  ['uniform', { experts: 4, rank: 4 }],
  ['mola', { shape: '8228', rank: 4 }],
  ['alphalora', { rank: 4 }],
  ['budgeted', { budgetOf: { policy: 'uniform', params: { experts: 4, rank: 4 } } }],
  ['compose', { experts: { policy: 'alphalora' }, ranks: { policy: 'guilomo' } }],
];

/** Builds a context with everything every policy reads: GSVs and seeded frozen weights. */
function fullContext(numLayers: number, weights: Map<string, tf.Tensor2D>): AllocationContext {
  // Dimensions divided by 8 keep the SVDs cheap, and the policies only see the shapes.
  const modules = babyModules(numLayers, 8);
  const rng = new Rng(numLayers);
  for (const module of modules) {
    weights.set(
      module.path,
      tf.tensor2d(rng.normalArray(module.dOut * module.dIn, 0, 0.05), [module.dOut, module.dIn]),
    );
  }
  const base: AllocationContext = { modules, numLayers, maxExperts: 8, maxRank: 8, topK: 2 };
  return {
    ...base,
    gsv: randomGsv(base, 100 + numLayers),
    frozenWeight: (path) => weights.get(path) ?? tf.zeros([1, 1]),
  };
}

describe.each(POLICIES)('allocation:%s', (name, params) => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it.each([1, 3, 5, 7])('gives a valid allocation on %i layers', async (numLayers) => {
    const weights = new Map<string, tf.Tensor2D>();
    const context = fullContext(numLayers, weights);
    await expectNoLeaks(() => {
      const plugin = builtinAllocationPolicies.find((candidate) => candidate.name === name);
      const policy = plugin?.create(params);
      expect(policy?.id).toBe(`allocation:${name}`);
      const allocation = policy?.allocate(context) ?? { modules: [] };
      expect(allocation.modules.map((entry) => entry.path)).toEqual(
        context.modules.map((m) => m.path),
      );
      expect(() => validateAllocation(allocation, context)).not.toThrow();
      expect(countParameters(allocation, context.modules)).toBeGreaterThan(0);
    });
    for (const weight of weights.values()) {
      weight.dispose();
    }
  });
});

describe('builtinAllocationPolicies', () => {
  it('registers under allocation ids', () => {
    const registry = createRegistry();
    expect(registry.list('allocation')).toEqual([]);
    for (const plugin of builtinAllocationPolicies) {
      registry.register(plugin);
    }
    expect(registry.list('allocation')).toEqual([
      'allocation:alphalora',
      'allocation:budgeted',
      'allocation:compose',
      'allocation:guilomo',
      'allocation:mola',
      'allocation:uniform',
    ]);
  });

  it('describes every plugin', () => {
    for (const plugin of builtinAllocationPolicies) {
      expect(plugin.kind).toBe('allocation');
      expect(plugin.apiVersion).toBe(1);
      expect(plugin.description?.length ?? 0).toBeGreaterThan(10);
    }
  });
});
