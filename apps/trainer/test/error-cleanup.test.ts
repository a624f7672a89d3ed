import type { RouterPlugin } from '@guilomo/core';
import { createLogger, GuiLoMoError } from '@guilomo/core';
import { useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandTrain, openSession } from '../src/index.js';
import { makeTempDir, removeTempDir, tinyConfig } from './helpers.js';

/** Creates a router that routes `okCalls` times and then raises, as a diverging step would. */
function failingRouter(okCalls: number): RouterPlugin {
  let calls = 0;
  return {
    kind: 'router',
    name: 'fails-later',
    apiVersion: 1,
    create(options) {
      return {
        id: 'router:fails-later',
        numExperts: options.numExperts,
        route(logits) {
          calls++;
          if (calls > okCalls) {
            throw new GuiLoMoError('router failed on purpose');
          }
          return { weights: tf.softmax(logits) };
        },
        balanceLoss: () => tf.scalar(0),
      };
    },
  };
}

describe('stage failure', () => {
  let out: string;

  beforeAll(async () => {
    await useBackend('wasm');
    out = makeTempDir('error-cleanup');
  });

  afterAll(() => {
    removeTempDir(out);
  });

  // NOTE: only stage 2 is checked. When the search fails inside a forward pass of the bilevel
  // step, TF.js 4.22 keeps the tensors that tf.customGrad saved for the backward pass (and the
  // engine's active tape) alive, because no backward pass runs to release them.
  it.each([{ command: 'train', policy: 'uniform', params: { experts: 2, rank: 2 } }] as const)(
    '$command releases tensors on error',
    async ({ command, policy, params }) => {
      const config = tinyConfig(`${out}/${command}`, {
        'adapter.targets': ['q', 'v'],
        'adapter.router': 'fails-later',
        'allocation.policy': policy,
        'allocation.params': params,
      });
      const session = await openSession({
        config,
        logger: createLogger({ level: 'silent' }),
        progress: () => {},
        resume: false,
        // 5 layers x 2 modules: one forward pass routes 10 times, so the first step fails midway.
        register: (registry) => registry.register(failingRouter(15)),
      });
      const before = tf.memory().numTensors;
      try {
        expect(command).toBe('train');
        await expect(commandTrain(session)).rejects.toThrow(/router failed on purpose/);
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        session.model.dispose();
      }
    },
    120_000,
  );
});
