import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LogRecord, Registry, RouterOptions, RouterPlugin } from '@guilomo/core';
import { createLogger } from '@guilomo/core';
import { useBackend } from '@guilomo/core/testing';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigPath } from '../src/config/fields.js';
import type { ResolvedConfig } from '../src/index.js';
import { commandTrain, openSession } from '../src/index.js';
import { makeTempDir, readJson, readJsonLines, removeTempDir, tinyConfig } from './helpers.js';

const TARGETS = ['q', 'v'];
/** 5 layers × 2 targets. */
const MODULES = 10;
const EXPERTS = 4;

/** Stage 2 only: every module gets 4 experts of rank 2, routed by the router under test. */
function settings(
  router: string,
  extra: Partial<Record<ConfigPath, unknown>> = {},
): Partial<Record<ConfigPath, unknown>> {
  return {
    'adapter.targets': TARGETS,
    'adapter.router': router,
    'allocation.policy': 'uniform',
    'allocation.params': { experts: EXPERTS, rank: 2 },
    'train.steps': 2,
    ...extra,
  };
}

interface RouterCalls {
  created: RouterOptions[];
  routed: number;
}

/**
 * Creates a router plugin defined outside the routers package: dense softmax routing with the first expert's
 * logit raised by `params.bias` (default 2), and no balance loss.
 */
function firstExpertHeavyRouter(calls: RouterCalls): RouterPlugin {
  return {
    kind: 'router',
    name: 'first-expert-heavy',
    apiVersion: 1,
    description: 'Dense softmax routing that favours the first expert.',
    create(options) {
      calls.created.push(options);
      const bias = typeof options.params?.bias === 'number' ? options.params.bias : 2;
      return {
        id: 'router:first-expert-heavy',
        numExperts: options.numExperts,
        route(logits) {
          calls.routed++;
          const weights = tf.tidy(() => {
            const offset = tf.mul(
              tf.cast(tf.oneHot(tf.tensor1d([0], 'int32'), options.numExperts), 'float32'),
              bias,
            );
            return tf.softmax(tf.add(logits, offset)) as Tensor2D;
          });
          return { weights };
        },
        balanceLoss: () => tf.scalar(0),
      };
    },
  };
}

interface TrainOutcome {
  readonly log: Record<string, unknown>[];
  readonly records: LogRecord[];
  /** Live tensors before and after `commandTrain`, with the model loaded. */
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
}

/** Opens a session with a collecting logger, runs `guilomo train` in-process, disposes the model. */
async function trainOnce(
  config: ResolvedConfig,
  register?: (registry: Registry) => void,
): Promise<TrainOutcome> {
  const records: LogRecord[] = [];
  const logger = createLogger({ level: 'debug', sink: (record) => records.push(record) });
  const session = await openSession({
    config,
    logger,
    progress: () => {},
    resume: false,
    ...(register === undefined ? {} : { register }),
  });
  const tensorsBefore = tf.memory().numTensors;
  let tensorsAfter: number;
  try {
    await commandTrain(session);
    tensorsAfter = tf.memory().numTensors;
  } finally {
    session.model.dispose();
  }
  return {
    log: readJsonLines(join(config.run.out, 'train-log.jsonl')),
    records,
    tensorsBefore,
    tensorsAfter,
  };
}

// @guilomo/routers tests the routers' numerics on both backends. This test covers the extension
// point, so it runs on wasm only: on the 2-vCPU development machine the cpu backend took about
// 26 s for these two steps, and wasm about 3 s.
describe('router plugin registered in code', () => {
  const backend = 'wasm';
  let out: string;
  const calls: RouterCalls = { created: [], routed: 0 };
  let outcome: TrainOutcome;

  beforeAll(async () => {
    await useBackend(backend);
    out = makeTempDir(`router-inline-${backend}`);
    const config = tinyConfig(out, {
      'run.backend': backend,
      ...settings('first-expert-heavy', { 'adapter.routerParams': { bias: 3 } }),
    });
    outcome = await trainOnce(config, (registry) =>
      registry.register(firstExpertHeavyRouter(calls)),
    );
  }, 120_000);

  afterAll(() => {
    removeTempDir(out);
  });

  it('creates one router per module', () => {
    // openSession creates one router first to validate adapter.routerParams.
    expect(calls.created).toHaveLength(MODULES + 1);
    for (const options of calls.created.slice(1)) {
      expect(options).toMatchObject({ numExperts: EXPERTS, params: { bias: 3 } });
    }
  });

  it('routes every module in every step', () => {
    // At least one training forward pass per step plus the routing-health passes.
    expect(calls.routed).toBeGreaterThanOrEqual(MODULES * 2);
  });

  it('trains with a finite loss', () => {
    expect(outcome.log.map((record) => record.step)).toEqual([1, 2]);
    for (const record of outcome.log) {
      expect(Number.isFinite(record.loss), `step ${record.step}`).toBe(true);
    }
  });

  it('logs the dense routing health', () => {
    // Dense weights route every token to every expert: equal slot shares, entropy ln(4).
    const last = outcome.log.at(-1);
    expect(last?.maxExpertShare).toBeCloseTo(1 / EXPERTS, 6);
    expect(last?.routingEntropy).toBeCloseTo(Math.log(EXPERTS), 6);
  });

  it('names the router in the adapter config', () => {
    const adapterConfig = readJson(join(out, 'adapter', 'adapter_config.json'));
    expect(adapterConfig.routing_strategy).toBe('router:first-expert-heavy');
  });

  it('leaves no tensors alive', () => {
    expect(outcome.tensorsAfter).toBe(outcome.tensorsBefore);
  });
});

/**
 * A plugin module as a user would write it: plain JavaScript importing TensorFlow.js from its
 * own node_modules. It routes each token to one expert chosen by hashing the token's row index
 * (no learned routing), and counts its calls in an exported object.
 */
const HASH_ROUTER_SOURCE = `import * as tf from '@tensorflow/tfjs-core';

export const calls = { created: 0, routed: 0 };

export const hashRouter = {
  kind: 'router',
  name: 'hash-router',
  apiVersion: 1,
  description: 'Routes token t to expert (t * 2654435761) mod 2^32 mod numExperts.',
  create({ numExperts }) {
    calls.created++;
    return {
      id: 'router:hash-router',
      numExperts,
      route(logits) {
        calls.routed++;
        const tokens = logits.shape[0];
        const mask = new Float32Array(tokens * numExperts);
        for (let t = 0; t < tokens; t++) {
          mask[t * numExperts + (Math.imul(t, 2654435761) >>> 0) % numExperts] = 1;
        }
        // The mask selects one expert, and its softmax probability carries the gradient.
        const weights = tf.tidy(() => tf.mul(tf.softmax(logits), tf.tensor2d(mask, [tokens, numExperts])));
        return { weights };
      },
      balanceLoss: () => tf.scalar(0),
    };
  },
};
`;

describe('router plugin loaded from run.plugins', () => {
  let out: string;
  let pluginDir: string;
  let outcome: TrainOutcome;
  let calls: { created: number; routed: number };

  beforeAll(async () => {
    await useBackend('wasm');
    out = makeTempDir('router-file');
    pluginDir = makeTempDir('router-plugin');
    // The plugin resolves '@tensorflow/tfjs-core' from its own node_modules, linked to ours.
    const tfjsCore = dirname(
      createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/package.json'),
    );
    mkdirSync(join(pluginDir, 'node_modules', '@tensorflow'), { recursive: true });
    symlinkSync(tfjsCore, join(pluginDir, 'node_modules', '@tensorflow', 'tfjs-core'), 'dir');
    const pluginPath = join(pluginDir, 'hash-router.mjs');
    writeFileSync(pluginPath, HASH_ROUTER_SOURCE);

    const config = tinyConfig(out, { ...settings('hash-router'), 'run.plugins': [pluginPath] });
    outcome = await trainOnce(config);
    calls = (
      (await import(pathToFileURL(pluginPath).href)) as {
        calls: { created: number; routed: number };
      }
    ).calls;
  }, 120_000);

  afterAll(() => {
    removeTempDir(out);
    removeTempDir(pluginDir);
  });

  it('registers the plugin from the file', () => {
    expect(
      outcome.records.some((record) => record.message.includes('Registered router:hash-router')),
    ).toBe(true);
  });

  it('creates and calls the router', () => {
    // One validation router from openSession, then one per module.
    expect(calls.created).toBe(MODULES + 1);
    expect(calls.routed).toBeGreaterThanOrEqual(MODULES * 2);
  });

  it('trains with a finite loss', () => {
    expect(outcome.log.map((record) => record.step)).toEqual([1, 2]);
    for (const record of outcome.log) {
      expect(Number.isFinite(record.loss), `step ${record.step}`).toBe(true);
    }
  });

  it('logs the routing health of the hash', () => {
    // The odd multiplier permutes the residues mod 4, and batches are padded to a multiple of
    // 8 tokens, so every expert receives exactly a quarter of the tokens.
    const last = outcome.log.at(-1);
    expect(last?.maxExpertShare).toBeCloseTo(1 / EXPERTS, 6);
    expect(last?.routingEntropy).toBeCloseTo(Math.log(EXPERTS), 6);
  });

  it('leaves no tensors alive', () => {
    expect(outcome.tensorsAfter).toBe(outcome.tensorsBefore);
  });
});
