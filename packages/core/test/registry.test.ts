import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  AllocationPolicyPlugin,
  LogRecord,
  PluginBase,
  Router,
  RouterPlugin,
} from '../src/index.js';
import {
  createLogger,
  createRegistry,
  PLUGIN_API_VERSION,
  Registry,
  RegistryError,
} from '../src/index.js';
import { expectNoLeaks, useBackend } from '../src/testing/index.js';

/** A plugin kind that exists only in this test, added to the kind map by declaration merging. */
interface MetricPlugin extends PluginBase<'metric'> {
  score(predictions: readonly string[], references: readonly string[]): number;
}

declare module '../src/index.js' {
  interface PluginKindMap {
    metric: MetricPlugin;
  }
}

function routerPlugin(name: string): RouterPlugin {
  return {
    kind: 'router',
    name,
    apiVersion: PLUGIN_API_VERSION,
    create: ({ numExperts }): Router => ({
      id: `router:${name}`,
      numExperts,
      route: (logits) => ({ weights: tf.softmax(logits) }),
      balanceLoss: () => tf.scalar(0),
    }),
  };
}

const exactMatch: MetricPlugin = {
  kind: 'metric',
  name: 'exact-match',
  apiVersion: PLUGIN_API_VERSION,
  score: (predictions, references) =>
    predictions.filter((prediction, index) => prediction === references[index]).length /
    predictions.length,
};

const uniformPolicy: AllocationPolicyPlugin = {
  kind: 'allocation',
  name: 'uniform',
  apiVersion: PLUGIN_API_VERSION,
  create: () => ({
    id: 'allocation:uniform',
    allocate: (context) => ({
      modules: context.modules.map((module) => ({
        path: module.path,
        ranks: [context.maxRank],
        topK: 1,
      })),
    }),
  }),
};

function recordingRegistry(): { registry: Registry; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = createLogger({ level: 'debug', sink: (record) => records.push(record) });
  return { registry: createRegistry(logger), records };
}

describe('Registry', () => {
  it('registers, finds, lists and unregisters plugins', () => {
    const registry = createRegistry();
    registry.register(routerPlugin('top-k'));
    registry.register(routerPlugin('dense'));
    registry.register(uniformPolicy);

    expect(registry.has('router', 'top-k')).toBe(true);
    expect(registry.has('router', 'uniform')).toBe(false);
    expect(registry.list()).toEqual(['allocation:uniform', 'router:dense', 'router:top-k']);
    expect(registry.list('router')).toEqual(['router:dense', 'router:top-k']);
    expect(registry.get('router', 'dense').name).toBe('dense');
    expect(registry.getById('allocation:uniform')).toBe(uniformPolicy);

    expect(registry.unregister('router', 'dense')).toBe(true);
    expect(registry.unregister('router', 'dense')).toBe(false);
    expect(registry.list('router')).toEqual(['router:top-k']);
  });

  it('rejects a duplicate id without override', () => {
    const { registry, records } = recordingRegistry();
    registry.register(routerPlugin('top-k'));

    const register = () => registry.register(routerPlugin('top-k'));

    expect(register).toThrow(RegistryError);
    expect(register).toThrow(
      'Plugin `router:top-k` is already registered. Pass { override: true } to replace it.',
    );
    expect(records).toEqual([]);
  });

  it('override replaces and warns', () => {
    const { registry, records } = recordingRegistry();
    const first = routerPlugin('top-k');
    const second = routerPlugin('top-k');
    registry.register(first);

    registry.register(second, { override: true });

    expect(registry.get('router', 'top-k')).toBe(second);
    expect(records).toEqual([
      {
        level: 'warn',
        prefix: '',
        message: 'Plugin `router:top-k` replaced by an explicit override.',
      },
    ]);
  });

  it('override of a new id is silent', () => {
    const { registry, records } = recordingRegistry();

    registry.register(routerPlugin('top-k'), { override: true });

    expect(registry.has('router', 'top-k')).toBe(true);
    expect(records).toEqual([]);
  });

  it('lists registered ids on a miss', () => {
    const registry = createRegistry();
    registry.register(routerPlugin('top-k'));
    registry.register(routerPlugin('dense'));
    registry.register(uniformPolicy);

    const get = () => registry.get('router', 'switch');

    expect(get).toThrow(RegistryError);
    expect(get).toThrow(
      'Plugin `router:switch` is not registered. Registered: router:dense, router:top-k.',
    );
  });

  it('reports a kind with no plugins', () => {
    const registry = createRegistry();
    registry.register(uniformPolicy);

    expect(() => registry.get('router', 'top-k')).toThrow(
      'Plugin `router:top-k` is not registered. No plugin of kind `router` is registered.',
    );
  });

  it.each([
    { id: 'top-k', message: 'Invalid plugin id "top-k": expected `kind:name`.' },
    { id: ':top-k', message: 'Invalid plugin id ":top-k": expected `kind:name`.' },
  ])('rejects the malformed id $id', ({ id, message }) => {
    const registry = createRegistry();

    // The cast feeds ids that the template type `kind:name` would reject at compile time.
    const get = () => registry.getById(id as `router:${string}`);

    expect(get).toThrow(RegistryError);
    expect(get).toThrow(message);
  });

  it.each([
    {
      case: 'upper-case kind',
      plugin: { kind: 'Router', name: 'top-k', apiVersion: PLUGIN_API_VERSION },
      message: 'Plugin kind "Router" is invalid: use kebab-case, such as `router`.',
    },
    {
      case: 'missing kind',
      plugin: { name: 'top-k', apiVersion: PLUGIN_API_VERSION },
      message: 'Plugin kind undefined is invalid: use kebab-case, such as `router`.',
    },
    {
      case: 'name with underscore',
      plugin: { kind: 'router', name: 'top_k', apiVersion: PLUGIN_API_VERSION },
      message: 'Plugin name "top_k" of kind `router` is invalid: use kebab-case, such as `top-k`.',
    },
    {
      case: 'name with trailing dash',
      plugin: { kind: 'router', name: 'top-', apiVersion: PLUGIN_API_VERSION },
      message: 'Plugin name "top-" of kind `router` is invalid',
    },
    {
      case: 'empty name',
      plugin: { kind: 'router', name: '', apiVersion: PLUGIN_API_VERSION },
      message: 'Plugin name "" of kind `router` is invalid',
    },
    {
      case: 'other apiVersion',
      plugin: { kind: 'router', name: 'top-k', apiVersion: 2 },
      message: `Plugin \`router:top-k\` targets apiVersion 2, but this registry supports ${PLUGIN_API_VERSION}.`,
    },
    {
      case: 'missing apiVersion',
      plugin: { kind: 'router', name: 'top-k' },
      message: 'Plugin `router:top-k` targets apiVersion undefined',
    },
    { case: 'null plugin', plugin: null, message: 'A plugin must be an object, received null.' },
  ])('rejects a plugin with $case', ({ plugin, message }) => {
    const registry = createRegistry();

    const register = () => registry.register(plugin as unknown as RouterPlugin);

    expect(register).toThrow(RegistryError);
    expect(register).toThrow(message);
    expect(registry.list()).toEqual([]);
  });

  it('types get by kind without casts', async () => {
    await useBackend('cpu');
    const registry = createRegistry();
    registry.register(routerPlugin('dense'));
    registry.register(uniformPolicy);

    expectTypeOf(registry.get('router', 'dense')).toEqualTypeOf<RouterPlugin>();
    expectTypeOf(registry.get('allocation', 'uniform')).toEqualTypeOf<AllocationPolicyPlugin>();
    expectTypeOf(registry.getById('router:dense')).toEqualTypeOf<RouterPlugin>();
    // @ts-expect-error A router plugin has no `allocate` method.
    expect(registry.get('router', 'dense').allocate).toBeUndefined();

    await expectNoLeaks(() => {
      const router = registry.get('router', 'dense').create({ numExperts: 2, topK: 1 });
      const weights = tf.tidy(
        () => router.route(tf.tensor2d([[0, Math.log(3)]]), { training: false }).weights,
      );
      expect(router.numExperts).toBe(2);
      expect([...weights.dataSync()].map((value) => Number(value.toFixed(6)))).toEqual([
        0.25, 0.75,
      ]);
      weights.dispose();
    });
    const allocation = registry
      .get('allocation', 'uniform')
      .create({})
      .allocate({
        modules: [
          { path: 'model.layers.0.mlp.up_proj', layer: 0, projection: 'up', dIn: 8, dOut: 16 },
        ],
        numLayers: 1,
        maxExperts: 4,
        maxRank: 8,
        topK: 2,
      });
    expect(allocation.modules).toEqual([
      { path: 'model.layers.0.mlp.up_proj', ranks: [8], topK: 1 },
    ]);
  });

  it('accepts a kind added by declaration merging', () => {
    const registry = createRegistry();

    registry.register(exactMatch);

    expectTypeOf(registry.get('metric', 'exact-match')).toEqualTypeOf<MetricPlugin>();
    expect(registry.get('metric', 'exact-match').score(['a', 'b'], ['a', 'c'])).toBe(0.5);
    expect(registry.list('metric')).toEqual(['metric:exact-match']);
  });

  it('types a registry over a custom kind map', () => {
    const registry = new Registry<{ metric: MetricPlugin }>();
    registry.register(exactMatch);

    expectTypeOf(registry.get('metric', 'exact-match')).toEqualTypeOf<MetricPlugin>();
    // @ts-expect-error The custom map has no `router` kind.
    expect(() => registry.get('router', 'top-k')).toThrow(RegistryError);
  });
});
