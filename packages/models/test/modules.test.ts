import { ConfigError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import { listLlamaModules, resolveLlamaConfig, resolveModuleTargets } from '../src/index.js';

const config = resolveLlamaConfig({
  dim: 128,
  hiddenDim: 352,
  numLayers: 5,
  numHeads: 8,
  numKvHeads: 4,
  vocabSize: 105,
  seqLen: 256,
});
const modules = listLlamaModules(config);
const paths = (patterns: string | string[]) =>
  resolveModuleTargets(modules, patterns).map((module) => module.path);

describe('listLlamaModules', () => {
  it('lists 7 projections per layer', () => {
    expect(modules).toHaveLength(35);
    expect(modules[0]?.path).toBe('model.layers.0.self_attn.q_proj');
    expect(modules[34]?.path).toBe('model.layers.4.mlp.down_proj');
  });

  it.each([
    { projection: 'q', path: 'model.layers.2.self_attn.q_proj', dIn: 128, dOut: 128 },
    { projection: 'k', path: 'model.layers.2.self_attn.k_proj', dIn: 128, dOut: 64 },
    { projection: 'v', path: 'model.layers.2.self_attn.v_proj', dIn: 128, dOut: 64 },
    { projection: 'o', path: 'model.layers.2.self_attn.o_proj', dIn: 128, dOut: 128 },
    { projection: 'gate', path: 'model.layers.2.mlp.gate_proj', dIn: 128, dOut: 352 },
    { projection: 'up', path: 'model.layers.2.mlp.up_proj', dIn: 128, dOut: 352 },
    { projection: 'down', path: 'model.layers.2.mlp.down_proj', dIn: 352, dOut: 128 },
  ])('gives $projection its path and shape', ({ projection, path, dIn, dOut }) => {
    const found = modules.find((module) => module.layer === 2 && module.projection === projection);
    expect(found).toEqual({ path, layer: 2, projection, dIn, dOut });
  });
});

describe('resolveModuleTargets', () => {
  it.each([
    { patterns: 'q', count: 5, first: 'model.layers.0.self_attn.q_proj' },
    { patterns: 'all', count: 35, first: 'model.layers.0.self_attn.q_proj' },
    { patterns: ['q', 'v'], count: 10, first: 'model.layers.0.self_attn.q_proj' },
    { patterns: 'model.layers.*.mlp.*', count: 15, first: 'model.layers.0.mlp.gate_proj' },
    {
      patterns: 'model.layers.1.self_attn.*_proj',
      count: 4,
      first: 'model.layers.1.self_attn.q_proj',
    },
    { patterns: 'layers.0-2.q', count: 3, first: 'model.layers.0.self_attn.q_proj' },
    { patterns: 'layers.3.*', count: 7, first: 'model.layers.3.self_attn.q_proj' },
    { patterns: 'model.layers.3-4.mlp.down_proj', count: 2, first: 'model.layers.3.mlp.down_proj' },
    { patterns: ['down', 'layers.4.down'], count: 5, first: 'model.layers.0.mlp.down_proj' },
  ])('resolves $patterns', ({ patterns, count, first }) => {
    const resolved = paths(patterns);
    expect(resolved).toHaveLength(count);
    expect(resolved[0]).toBe(first);
    expect(new Set(resolved).size).toBe(count);
  });

  it('keeps model order whatever the pattern order', () => {
    expect(paths(['layers.1.up', 'layers.0.k'])).toEqual([
      'model.layers.0.self_attn.k_proj',
      'model.layers.1.mlp.up_proj',
    ]);
  });

  it.each([
    {
      patterns: 'qq',
      message: /`targets`: unknown projection name "qq". Valid names: q, k, v, o, gate, up, down/,
    },
    {
      patterns: 'layers.0.query',
      message:
        /ends in the unknown projection name "query". Valid names: q, k, v, o, gate, up, down/,
    },
    {
      patterns: 'layers.9.q',
      message: /pattern "layers.9.q" matches no module of this 5-layer model/,
    },
    {
      patterns: 'model.layers.*.attn.*',
      message: /pattern "model.layers.\*.attn.\*" matches no module/,
    },
    { patterns: 'layers.3-1.q', message: /layer range 3-1 whose start is greater than its end/ },
    { patterns: [], message: /`targets`: received an empty list/ },
  ])('rejects $patterns', ({ patterns, message }) => {
    expect(() => resolveModuleTargets(modules, patterns)).toThrow(ConfigError);
    expect(() => resolveModuleTargets(modules, patterns)).toThrow(message);
  });
});

describe('resolveLlamaConfig', () => {
  const base = {
    dim: 16,
    hiddenDim: 24,
    numLayers: 1,
    numHeads: 4,
    numKvHeads: 2,
    vocabSize: 9,
    seqLen: 8,
  };
  it('fills the defaults', () => {
    expect(resolveLlamaConfig(base)).toMatchObject({
      normEps: 1e-5,
      ropeTheta: 10000,
      sharedClassifier: true,
    });
  });

  it.each([
    { change: { hiddenDim: 0 }, message: /`hiddenDim`: must be a positive integer, received 0/ },
    { change: { numHeads: 3 }, message: /`numHeads`: must divide `dim` \(16\), received 3/ },
    { change: { numHeads: 16 }, message: /`numHeads`: gives an odd head size 1/ },
    {
      change: { numKvHeads: 3 },
      message: /`numKvHeads`: must divide `numHeads` \(4\), received 3/,
    },
    { change: { normEps: 0 }, message: /`normEps`: must be > 0, received 0/ },
  ])('rejects $change', ({ change, message }) => {
    expect(() => resolveLlamaConfig({ ...base, ...change })).toThrow(message);
  });
});
