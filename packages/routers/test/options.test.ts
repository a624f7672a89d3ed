import type { RouterOptions } from '@guilomo/core';
import { ConfigError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import { builtinRouters } from '../src/builtin-routers.js';

function pluginNamed(name: string) {
  const plugin = builtinRouters.find((candidate) => candidate.name === name);
  if (plugin === undefined) {
    throw new Error(`no built-in router named ${name}`);
  }
  return plugin;
}

const INVALID: readonly { router: string; options: RouterOptions; message: RegExp }[] = [
  {
    router: 'top-k',
    options: { numExperts: 0, topK: 1 },
    message: /`numExperts`: must be a positive integer, received 0/,
  },
  { router: 'top-k', options: { numExperts: 2.5, topK: 1 }, message: /`numExperts`.*received 2.5/ },
  {
    router: 'top-k',
    options: { numExperts: 4, topK: 5 },
    message: /`topK`: must be an integer in \[1, numExperts = 4\], received 5/,
  },
  { router: 'top-k', options: { numExperts: 4, topK: 0 }, message: /`topK`.*received 0/ },
  {
    router: 'top-k',
    options: { numExperts: 4, topK: 2, params: { balanceScale: 'N' } },
    message: /`params.balanceScale`: must be one of 'n', 'none', received "N"/,
  },
  {
    router: 'top-k',
    options: { numExperts: 4, topK: 2, params: { topP: 0.5 } },
    message:
      /`params.topP`: is not an option of router `router:top-k`. Allowed params: balanceScale/,
  },
  {
    router: 'top-p',
    options: { numExperts: 4, topK: 2, params: { p: 0 } },
    message: /`params.p`: must be a finite number > 0 and <= 1, received 0/,
  },
  {
    router: 'top-p',
    options: { numExperts: 4, topK: 2, params: { p: 1.5 } },
    message: /`params.p`.*received 1.5/,
  },
  {
    router: 'top-p',
    options: { numExperts: 4, topK: 2, params: { p: '0.5' } },
    message: /`params.p`.*received "0.5"/,
  },
  {
    router: 'top-p',
    options: { numExperts: 4, topK: 2, params: { maxExperts: 5 } },
    message: /`params.maxExperts`: must be an integer >= 1 and <= 4, received 5/,
  },
  {
    router: 'top-p',
    options: { numExperts: 4, topK: 2, params: { maxExperts: 1.5 } },
    message: /`params.maxExperts`.*received 1.5/,
  },
  {
    router: 'soft',
    options: { numExperts: 4, topK: 4, params: { p: 0.5 } },
    message: /`params.p`: is not an option of router `router:soft`/,
  },
  {
    router: 'switch',
    options: { numExperts: 4, topK: 1, params: { capacityFactor: 0 } },
    message: /`params.capacityFactor`: must be a finite number > 0, received 0/,
  },
  {
    router: 'switch',
    options: { numExperts: 4, topK: 1, params: { zLossCoef: -1 } },
    message: /`params.zLossCoef`: must be a finite number >= 0, received -1/,
  },
  {
    router: 'switch',
    options: { numExperts: 4, topK: 1, params: { zLossCoef: Number.NaN } },
    message: /`params.zLossCoef`.*received NaN/,
  },
  {
    router: 'switch',
    options: { numExperts: 4, topK: 3 },
    message: /`topK`: must be 1 for router `router:switch`/,
  },
  {
    router: 'expert-choice',
    options: { numExperts: 4, topK: 2, params: { capacityFactor: -0.5 } },
    message: /`params.capacityFactor`: must be a finite number > 0, received -0.5/,
  },
  {
    router: 'expert-choice',
    options: { numExperts: 4, topK: 2, params: { balanceScale: 'n' } },
    message:
      /`params.balanceScale`: is not an option of router `router:expert-choice`. Allowed params: capacityFactor/,
  },
];

describe('router options', () => {
  it.each(INVALID)('$router rejects $message', ({ router, options, message }) => {
    const plugin = pluginNamed(router);
    expect(() => plugin.create(options)).toThrow(ConfigError);
    expect(() => plugin.create(options)).toThrow(message);
  });

  it.each(builtinRouters.map((plugin) => ({ name: plugin.name, plugin })))(
    '$name accepts its defaults',
    ({ plugin }) => {
      const topK = plugin.name === 'switch' ? 1 : 2;
      const router = plugin.create({ numExperts: 8, topK });
      expect(router.numExperts).toBe(8);
      expect(router.id).toBe(`router:${plugin.name}`);
    },
  );
});
