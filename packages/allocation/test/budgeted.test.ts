import type { AllocationContext, AllocationPolicyPlugin } from '@guilomo/core';
import { ConfigError, createRegistry, NumericError, PLUGIN_API_VERSION } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import type { BudgetedParams } from '../src/index.js';
import {
  budgetedPolicyPlugin,
  countParameters,
  fillBudget,
  minimumParameters,
  molaPolicyPlugin,
  uniformPolicyPlugin,
  validateAllocation,
} from '../src/index.js';
import { babyContext, peakedGsv, randomGsv } from './fixtures.js';

/** Largest new-expert cost at rank 1, `max (dIn + 1·(dIn + dOut))`, the allowed slack. */
function expertSize(context: AllocationContext): number {
  return Math.max(...context.modules.map((module) => 2 * module.dIn + module.dOut));
}

describe('allocation:budgeted', () => {
  const context = babyContext(5);
  const gsv = randomGsv(context, 5);
  const maximum = countParameters(
    uniformPolicyPlugin.create({}).allocate(context),
    context.modules,
  );

  it.each([
    ['10%', Math.round(0.1 * maximum)],
    ['25%', Math.round(0.25 * maximum)],
    ['50%', Math.round(0.5 * maximum)],
    ['90%', Math.round(0.9 * maximum)],
    ['100%', maximum],
  ])('spends a %s budget within one expert', (_name, budget) => {
    const allocation = budgetedPolicyPlugin.create({ budget }).allocate({ ...context, gsv });
    const parameters = countParameters(allocation, context.modules);
    expect(parameters).toBeLessThanOrEqual(budget);
    expect(budget - parameters).toBeLessThan(expertSize(context));
    validateAllocation(allocation, context, { budget });
  });

  it.each([
    ['uniform 8×8', uniformPolicyPlugin, 'uniform', { experts: 8, rank: 8 }],
    ['uniform 4×4', uniformPolicyPlugin, 'allocation:uniform', { experts: 4, rank: 4 }],
    ['MoLA 2468', molaPolicyPlugin, 'mola', { shape: '2468' }],
  ])('takes the budget of %s', (_name, plugin, policy, params) => {
    const budget = countParameters(plugin.create(params).allocate(context), context.modules);
    const allocation = budgetedPolicyPlugin
      .create({ budgetOf: { policy, params } })
      .allocate({ ...context, gsv });
    const parameters = countParameters(allocation, context.modules);
    expect(parameters).toBeLessThanOrEqual(budget);
    expect(budget - parameters).toBeLessThan(expertSize(context));
  });

  it('reproduces the GSV allocation at its own size', () => {
    const peaked = peakedGsv(context, 4, () => 4);
    const budget = countParameters(
      uniformPolicyPlugin.create({ experts: 4, rank: 4 }).allocate(context),
      context.modules,
    );
    const allocation = budgetedPolicyPlugin
      .create({ budget })
      .allocate({ ...context, gsv: peaked });
    for (const entry of allocation.modules) {
      expect(entry.ranks).toEqual([4, 4, 4, 4]);
      expect(entry.topK).toBe(2);
    }
  });

  it('scales ranks in proportion to the targets', () => {
    // Targets: ranks 2, 4, 6, 8 for experts 0-3. Half their size gives about 1, 2, 3, 4.
    const peaked = peakedGsv(context, 4, (e) => 2 * (e + 1));
    const target = context.modules.reduce((sum, m) => sum + 4 * m.dIn + 20 * (m.dIn + m.dOut), 0);
    const half = context.modules.reduce((sum, m) => sum + 4 * m.dIn + 10 * (m.dIn + m.dOut), 0);
    expect(target).toBeGreaterThan(half);
    const allocation = budgetedPolicyPlugin
      .create({ budget: half })
      .allocate({ ...context, gsv: peaked });
    for (const entry of allocation.modules) {
      expect(entry.ranks).toEqual([1, 2, 3, 4]);
    }
  });

  it('breaks ties by lowest module path then expert', () => {
    const flat = peakedGsv(context, 1, () => 1);
    const limits = { minExperts: 2, minRank: 1, maxExperts: 8, maxRank: 8 };
    const targets = context.modules.map((m) => ({
      ...m,
      preferredExperts: 2,
      targetRanks: [1, 1],
    }));
    const minimum = minimumParameters(targets, limits);
    // One rank component of layer 0's down_proj (352 + 128) fits, and the natural path order puts
    // model.layers.0.mlp.down_proj first.
    const allocation = budgetedPolicyPlugin
      .create({ budget: minimum + 480 })
      .allocate({ ...context, gsv: flat });
    const grown = allocation.modules.filter((entry) => entry.ranks.join() !== '1,1');
    expect(grown).toEqual([{ path: 'model.layers.0.mlp.down_proj', ranks: [2, 1], topK: 2 }]);
  });

  it('follows the shape of a base policy', () => {
    const allocation = budgetedPolicyPlugin
      .create({
        budgetOf: { policy: 'uniform', params: { experts: 4, rank: 4 } },
        base: { policy: 'mola', params: { shape: '2468', rank: 4 } },
      })
      .allocate(context);
    const experts = [0, 1, 2, 3, 4].map(
      (layer) =>
        allocation.modules.find((entry) => entry.path === `model.layers.${layer}.mlp.up_proj`)
          ?.ranks.length ?? 0,
    );
    for (let layer = 1; layer < 5; layer++) {
      expect(experts[layer]).toBeGreaterThanOrEqual(experts[layer - 1] ?? 0);
    }
    expect(experts[4]).toBeGreaterThan(experts[0] ?? 0);
  });

  it('resolves a user policy from the registry', () => {
    const registry = createRegistry();
    const custom: AllocationPolicyPlugin = {
      kind: 'allocation',
      name: 'first-layer-heavy',
      apiVersion: PLUGIN_API_VERSION,
      create: () => ({
        id: 'allocation:first-layer-heavy',
        allocate: (ctx) => ({
          modules: ctx.modules.map((m) => ({
            path: m.path,
            ranks: m.layer === 0 ? [8, 8, 8] : [1, 1],
            topK: 2,
          })),
        }),
      }),
    };
    const params: BudgetedParams = {
      budgetOf: { policy: 'uniform', params: { experts: 2, rank: 4 } },
      base: { policy: 'first-layer-heavy' },
      registry,
    };
    const policy = budgetedPolicyPlugin.create(params);
    // Registered after create: specs resolve at allocate time.
    registry.register(custom);
    const allocation = policy.allocate(context);
    const layer0 = allocation.modules[0]?.ranks ?? [];
    const layer4 = allocation.modules[28]?.ranks ?? [];
    expect(layer0.reduce((a, b) => a + b, 0)).toBeGreaterThan(layer4.reduce((a, b) => a + b, 0));
  });

  it('rejects a budget below the minimum', () => {
    const run = () => budgetedPolicyPlugin.create({ budget: 1000 }).allocate({ ...context, gsv });
    expect(run).toThrow(ConfigError);
    // 35 modules × (2·dIn + 2·(dIn + dOut)) at rank 1.
    const minimum = context.modules.reduce((sum, m) => sum + 2 * m.dIn + 2 * (m.dIn + m.dOut), 0);
    expect(run).toThrow(
      `is too small: 1000 parameters, but the minimum allocation (2 experts of rank 1 on each of 35 modules) needs ${minimum}`,
    );
  });

  it('rejects a budget above the maximum', () => {
    const run = () =>
      budgetedPolicyPlugin.create({ budget: maximum + 1 }).allocate({ ...context, gsv });
    expect(run).toThrow(/more than the largest allocation allows/);
  });

  it('rejects NaN scores', () => {
    const bad = randomGsv(context, 6);
    bad.get('model.layers.2.self_attn.o_proj')?.expert.fill(Number.NaN);
    const run = () =>
      budgetedPolicyPlugin
        .create({ budget: Math.floor(maximum / 2) })
        .allocate({ ...context, gsv: bad });
    expect(run).toThrow(NumericError);
    expect(run).toThrow(/layers\.2\.self_attn\.o_proj/);
  });

  it.each([
    [{}, /budget.*is missing/],
    [{ budget: 10, budgetOf: { policy: 'uniform' } }, /are both set|and budgetOf are both set/],
    [{ budget: -5 }, /budget.*received -5/],
    [{ budgetOf: { policy: 'nope' } }, null],
    [{ budget: 100, minExperts: 9 }, null],
  ] as const)('rejects params %j', (params, message) => {
    const run = () => budgetedPolicyPlugin.create(params).allocate({ ...context, gsv });
    expect(run).toThrow();
    if (message !== null) {
      expect(run).toThrow(message);
    }
  });

  it('needs scores', () => {
    const run = () =>
      budgetedPolicyPlugin.create({ budget: Math.floor(maximum / 2) }).allocate(context);
    expect(run).toThrow(/context\.gsv/);
  });
});

describe('fillBudget', () => {
  it('uses second-tier experts only after the first tier is full', () => {
    const targets = [{ path: 'a', dIn: 4, dOut: 4, preferredExperts: 2, targetRanks: [2, 2] }];
    const limits = { minExperts: 2, minRank: 1, maxExperts: 3, maxRank: 2 };
    // Minimum 2·4 + 2·8 = 24. First tier full at rank 2: 2·4 + 4·8 = 40. Third expert: +12.
    expect(fillBudget(targets, 39, limits).ranks).toEqual([[2, 1]]);
    expect(fillBudget(targets, 40, limits).ranks).toEqual([[2, 2]]);
    expect(fillBudget(targets, 52, limits)).toEqual({ ranks: [[2, 2, 1]], parameters: 52 });
  });

  it('adds experts as a prefix', () => {
    const targets = [
      { path: 'a', dIn: 2, dOut: 2, preferredExperts: 4, targetRanks: [1, 1, 1, 8] },
    ];
    const limits = { minExperts: 1, minRank: 1, maxExperts: 4, maxRank: 8 };
    const fill = fillBudget(targets, 2 + 4 + 2 + 4, limits);
    expect(fill.ranks).toEqual([[1, 1]]);
  });
});

describe('MoLA budgets', () => {
  it('matches 160 experts per module type on 32 layers', () => {
    const context = babyContext(32);
    const allocation = molaPolicyPlugin.create({ shape: '2468' }).allocate(context);
    const qExperts = allocation.modules
      .filter((entry) => entry.path.endsWith('q_proj'))
      .reduce((sum, entry) => sum + entry.ranks.length, 0);
    expect(qExperts).toBe(160);
  });
});
