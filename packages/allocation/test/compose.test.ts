import type { AllocationPolicyPlugin } from '@guilomo/core';
import { ConfigError, createRegistry, PLUGIN_API_VERSION, RegistryError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import type { ComposeParams } from '../src/index.js';
import {
  builtinAllocationPolicies,
  composeAllocations,
  composePolicyPlugin,
} from '../src/index.js';
import { babyContext, peakedGsv } from './fixtures.js';

describe('allocation:compose', () => {
  const context = babyContext(5);

  it('takes experts from MoLA and ranks from GSVs', () => {
    const gsv = peakedGsv(context, 3, (e) => e + 1);
    const allocation = composePolicyPlugin
      .create({
        experts: { policy: 'mola', params: { shape: '2468' } },
        ranks: { policy: 'guilomo' },
      })
      .allocate({ ...context, gsv });
    const byLayer = (layer: number) =>
      allocation.modules.find((e) => e.path === `model.layers.${layer}.mlp.gate_proj`);
    expect(byLayer(0)?.ranks).toEqual([1, 2]);
    expect(byLayer(1)?.ranks).toEqual([1, 2, 3, 3]);
    expect(byLayer(4)?.ranks).toEqual([1, 2, 3, 3, 3, 3, 3, 3]);
    expect(byLayer(4)?.topK).toBe(2);
  });

  it.each([
    ['last', [2, 6, 6, 6]],
    ['mean', [2, 6, 4, 4]],
  ] as const)('fills missing ranks with %s', (rankFill, expected) => {
    const modules = context.modules.slice(0, 1);
    const path = modules[0]?.path ?? '';
    const composed = composeAllocations(
      { modules: [{ path, ranks: [8, 8, 8, 8], topK: 2 }] },
      { modules: [{ path, ranks: [2, 6], topK: 2 }] },
      modules,
      rankFill,
    );
    expect(composed.modules[0]?.ranks).toEqual(expected);
  });

  it('truncates extra ranks to the expert count', () => {
    const modules = context.modules.slice(0, 1);
    const path = modules[0]?.path ?? '';
    const composed = composeAllocations(
      { modules: [{ path, ranks: [8, 8], topK: 1 }] },
      { modules: [{ path, ranks: [3, 5, 7], topK: 2 }] },
      modules,
    );
    expect(composed.modules[0]).toEqual({ path, ranks: [3, 5], topK: 1 });
  });

  it('rejects a module missing from the rank source', () => {
    const modules = context.modules.slice(0, 2);
    const run = () =>
      composeAllocations(
        { modules: modules.map((m) => ({ path: m.path, ranks: [1, 1], topK: 2 })) },
        { modules: [{ path: modules[0]?.path ?? '', ranks: [2], topK: 1 }] },
        modules,
      );
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/allocation:compose\.ranks.*model\.layers\.0\.self_attn\.k_proj/);
  });

  it('resolves user plugins through the registry', () => {
    const registry = createRegistry();
    for (const plugin of builtinAllocationPolicies) {
      registry.register(plugin);
    }
    const triple: AllocationPolicyPlugin = {
      kind: 'allocation',
      name: 'triple',
      apiVersion: PLUGIN_API_VERSION,
      create: (params) => ({
        id: 'allocation:triple',
        allocate: (ctx) => ({
          modules: ctx.modules.map((m) => ({
            path: m.path,
            ranks: [Number(params.rank ?? 1), 2, 3],
            topK: 2,
          })),
        }),
      }),
    };
    const params: ComposeParams = {
      experts: { policy: 'uniform', params: { experts: 5, rank: 1 } },
      ranks: { policy: 'triple', params: { rank: 7 } },
      registry,
    };
    const policy = registry.get('allocation', 'compose').create(params);
    registry.register(triple);
    const allocation = policy.allocate(context);
    expect(allocation.modules[3]?.ranks).toEqual([7, 2, 3, 3, 3]);
  });

  it('resolves user plugins through context.policies', () => {
    const registry = createRegistry();
    registry.register({
      kind: 'allocation',
      name: 'fours',
      apiVersion: PLUGIN_API_VERSION,
      create: () => ({
        id: 'allocation:fours',
        allocate: (ctx) => ({
          modules: ctx.modules.map((m) => ({ path: m.path, ranks: [4, 4, 4], topK: 2 })),
        }),
      }),
    });
    const policy = composePolicyPlugin.create({
      experts: { policy: 'uniform', params: { experts: 2, rank: 1 } },
      ranks: { policy: 'fours' },
    });
    const allocation = policy.allocate({ ...context, policies: registry });
    expect(allocation.modules[0]?.ranks).toEqual([4, 4]);
  });

  it('names an unknown policy', () => {
    const run = () =>
      composePolicyPlugin
        .create({ experts: { policy: 'uniform' }, ranks: { policy: 'missing' } })
        .allocate(context);
    expect(run).toThrow(RegistryError);
    expect(run).toThrow(
      /allocation:compose\.ranks: allocation policy "missing" is not found.*Built-in policies: guilomo, uniform/,
    );
  });

  it.each([
    [{ experts: { policy: 'uniform' } }, /allocation:compose\.ranks`: expected a policy spec/],
    [
      { experts: 'uniform', ranks: { policy: 'uniform' } },
      /allocation:compose\.experts`: expected a policy spec/,
    ],
    [
      { experts: { policy: 'uniform' }, ranks: { policy: 'uniform' }, rankFill: 'max' },
      /rankFill.*"last", "mean"/,
    ],
    [
      { experts: { policy: 'uniform' }, ranks: { policy: 'uniform' }, registry: {} },
      /registry.*expected a Registry/,
    ],
  ])('rejects params %#', (params, message) => {
    expect(() => composePolicyPlugin.create(params)).toThrow(message);
  });
});
