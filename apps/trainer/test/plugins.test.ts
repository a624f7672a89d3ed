import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, RegistryError } from '@guilomo/core';
import { useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandRun } from '../src/index.js';
import type { Captured } from './helpers.js';
import {
  makeTempDir,
  openCapturedSession,
  readJson,
  readTensors,
  removeTempDir,
  tinyConfig,
} from './helpers.js';

/** An allocation policy plugin as a user would write it: plain JavaScript, no imports. */
const PER_LAYER_POLICY = `
export const perLayerPolicy = {
  kind: 'allocation',
  name: 'per-layer',
  apiVersion: 1,
  description: 'One expert count per layer, taken from params.experts, and every expert gets params.rank.',
  create(params) {
    const experts = params.experts ?? [2];
    const rank = params.rank ?? 4;
    return {
      id: 'allocation:per-layer',
      allocate(context) {
        return {
          modules: context.modules.map((module) => {
            const count = experts[Math.min(module.layer, experts.length - 1)];
            return { path: module.path, ranks: new Array(count).fill(rank), topK: Math.min(context.topK, count) };
          }),
        };
      },
    };
  },
};
`;

const REGISTER_FUNCTION = `
export function register(registry) {
  registry.register({
    kind: 'allocation',
    name: 'two-everywhere',
    apiVersion: 1,
    create: () => ({
      id: 'allocation:two-everywhere',
      allocate: (context) => ({ modules: context.modules.map((module) => ({ path: module.path, ranks: [2, 2], topK: 2 })) }),
    }),
  });
}
`;

const EXPERTS_PER_LAYER = [1, 2, 3, 2, 1];

interface AllocationFile {
  policy: string;
  modules: { path: string; ranks: number[]; topK: number }[];
}

describe('plugin modules from run.plugins', () => {
  let dir: string;
  let out: string;
  let captured: Captured;
  let tensorsBefore = 0;
  let tensorsAfter = 0;

  beforeAll(async () => {
    await useBackend('wasm');
    dir = makeTempDir('plugins');
    out = join(dir, 'run');
    const pluginPath = join(dir, 'per-layer-policy.mjs');
    writeFileSync(pluginPath, PER_LAYER_POLICY);
    writeFileSync(join(dir, 'register.mjs'), REGISTER_FUNCTION);
    writeFileSync(join(dir, 'empty.mjs'), 'export const answer = 42;\n');
    writeFileSync(join(dir, 'broken.mjs'), 'export const = ;\n');
    writeFileSync(
      join(dir, 'old-api.mjs'),
      "export default { kind: 'allocation', name: 'old', apiVersion: 0, create() {} };\n",
    );

    tensorsBefore = tf.memory().numTensors;
    const config = tinyConfig(out, {
      'run.plugins': [pluginPath],
      'allocation.policy': 'per-layer',
      'allocation.params': { experts: EXPERTS_PER_LAYER, rank: 4 },
      'adapter.targets': ['q', 'v'],
      'train.steps': 1,
      'data.evalLimit': 1,
    });
    const opened = await openCapturedSession(config);
    captured = opened;
    try {
      await commandRun(opened.session);
    } finally {
      opened.session.model.dispose();
    }
    tensorsAfter = tf.memory().numTensors;
  }, 90_000);

  afterAll(() => {
    removeTempDir(dir);
  });

  it('registers the exported policy', () => {
    const messages = captured.records.map((record) => record.message);
    expect(messages).toContainEqual(
      expect.stringMatching(/^Registered allocation:per-layer from .*per-layer-policy\.mjs\.$/),
    );
  });

  it('allocates with the plugin policy', () => {
    const allocation = readJson<AllocationFile>(join(out, 'allocation.json'));
    expect(allocation.policy).toBe('allocation:per-layer');
    expect(allocation.modules).toHaveLength(10);
    for (const module of allocation.modules) {
      const layer = Number(/^model\.layers\.(\d+)\./.exec(module.path)?.[1]);
      const experts = EXPERTS_PER_LAYER[layer] as number;
      expect(module.ranks, module.path).toEqual(new Array(experts).fill(4));
      expect(module.topK, module.path).toBe(Math.min(2, experts));
    }
  });

  it('skips the search for a policy without GSVs', () => {
    expect(existsSync(join(out, 'gsv.safetensors'))).toBe(false);
    expect(captured.records.map((record) => record.message)).toContain(
      'Policy per-layer needs no search; skipping stage 1.',
    );
  });

  it('trains a plain LoRA where a module has one expert', async () => {
    const tensors = await readTensors(join(out, 'adapter', 'adapter_model.safetensors'));
    const plain = 'base_model.model.model.layers.0.self_attn.q_proj';
    expect(tensors.get(`${plain}.lora_A.weight`)?.shape).toEqual([4, 128]);
    expect(tensors.get(`${plain}.lora_B.weight`)?.shape).toEqual([128, 4]);
    const moe = 'base_model.model.model.layers.2.self_attn.v_proj';
    expect(tensors.get(`${moe}.moe_gate.weight`)?.shape).toEqual([3, 128]);
    expect(tensors.get(`${moe}.experts.2.lora_B.weight`)?.shape).toEqual([64, 4]);
    expect(existsSync(join(out, 'eval-results.json'))).toBe(true);
  });

  it('leaves no tensors alive', () => {
    expect(tensorsAfter).toBe(tensorsBefore);
  });

  it('calls an exported register function', async () => {
    const config = tinyConfig(join(dir, 'register-run'), {
      'run.plugins': [join(dir, 'register.mjs')],
      'allocation.policy': 'two-everywhere',
    });
    const { session } = await openCapturedSession(config, { withoutData: true });
    session.model.dispose();
    expect(session.registry.has('allocation', 'two-everywhere')).toBe(true);
  });

  it.each([
    [
      'exports no plugin',
      'empty.mjs',
      ConfigError,
      'exports no plugin: export objects with kind, name and apiVersion',
    ],
    ['fails to load', 'broken.mjs', ConfigError, 'cannot load plugin module'],
    ['does not exist', 'missing.mjs', ConfigError, 'cannot load plugin module'],
    ['targets another plugin API version', 'old-api.mjs', RegistryError, 'targets apiVersion 0'],
  ])('rejects a module that %s', async (_case, file, ErrorClass, message) => {
    const config = tinyConfig(join(dir, 'bad-run'), { 'run.plugins': [join(dir, file)] });
    await expect(openCapturedSession(config, { withoutData: true })).rejects.toThrow(ErrorClass);
    await expect(openCapturedSession(config, { withoutData: true })).rejects.toThrow(message);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});
