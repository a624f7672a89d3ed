import { createRegistry, PLUGIN_API_VERSION, RegistryError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import { builtinRouters } from '../src/builtin-routers.js';
import { topKRouterPlugin } from '../src/top-k-router.js';

const IDS = [
  'router:expert-choice',
  'router:soft',
  'router:switch',
  'router:top-k',
  'router:top-p',
];

describe('router plugins in a registry', () => {
  it('registers every built-in router', () => {
    const registry = createRegistry();
    for (const plugin of builtinRouters) {
      registry.register(plugin);
    }
    expect(registry.list('router')).toEqual(IDS);
  });

  it('creates a router through get', () => {
    const registry = createRegistry();
    registry.register(topKRouterPlugin);
    const router = registry.get('router', 'top-k').create({ numExperts: 8, topK: 2 });
    expect(router.id).toBe('router:top-k');
    expect(registry.getById('router:top-k')).toBe(topKRouterPlugin);
  });

  it('lists the registered ids for an unknown name', () => {
    const registry = createRegistry();
    for (const plugin of builtinRouters) {
      registry.register(plugin);
    }
    expect(() => registry.get('router', 'top-q')).toThrow(RegistryError);
    expect(() => registry.get('router', 'top-q')).toThrow(`Registered: ${IDS.join(', ')}.`);
  });

  it('rejects a duplicate registration', () => {
    const registry = createRegistry();
    registry.register(topKRouterPlugin);
    expect(() => registry.register(topKRouterPlugin)).toThrow(/already registered/);
  });

  it.each(builtinRouters.map((plugin) => ({ name: plugin.name, plugin })))(
    '$name carries the plugin contract fields',
    ({ plugin }) => {
      expect(plugin.kind).toBe('router');
      expect(plugin.apiVersion).toBe(PLUGIN_API_VERSION);
      expect(plugin.description?.length ?? 0).toBeGreaterThan(10);
    },
  );
});
