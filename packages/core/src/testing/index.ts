import * as tf from '@tensorflow/tfjs-core';
import type { ToleranceName } from './tolerances.js';
import { TOLERANCES } from './tolerances.js';

export type { ToleranceName } from './tolerances.js';
export { TOLERANCES } from './tolerances.js';

/** Backends the test suites run on. Both ship inside npm packages and need no native code. */
export const TEST_BACKENDS = ['cpu', 'wasm'] as const;
export type TestBackend = (typeof TEST_BACKENDS)[number];

/** Registers the cpu and wasm backends (idempotent) and activates `name`. */
export async function useBackend(name: TestBackend): Promise<void> {
  // tfjs-core registers gradients only through this side-effect module.
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  if (name === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
  } else {
    await import('@tensorflow/tfjs-backend-wasm');
  }
  const ok = await tf.setBackend(name);
  if (!ok) {
    throw new Error(`TF.js backend ${name} failed to initialise.`);
  }
  await tf.ready();
}

/**
 * Throws unless every element satisfies `|a − e| <= atol + rtol·|e|`, with the tolerance taken
 * from {@link TOLERANCES}. The message names the first failing index and both values.
 */
export function expectClose(
  actual: tf.Tensor | ArrayLike<number>,
  expected: tf.Tensor | ArrayLike<number>,
  tolerance: ToleranceName,
): void {
  const a = actual instanceof tf.Tensor ? actual.dataSync() : actual;
  const e = expected instanceof tf.Tensor ? expected.dataSync() : expected;
  if (actual instanceof tf.Tensor && expected instanceof tf.Tensor) {
    const same =
      actual.shape.length === expected.shape.length &&
      actual.shape.every((d, i) => d === expected.shape[i]);
    if (!same) {
      throw new Error(
        `Shape mismatch: actual [${actual.shape.join(', ')}], expected [${expected.shape.join(', ')}].`,
      );
    }
  }
  if (a.length !== e.length) {
    throw new Error(`Length mismatch: actual ${a.length}, expected ${e.length}.`);
  }
  const { atol, rtol } = TOLERANCES[tolerance];
  for (let i = 0; i < a.length; i++) {
    const av = a[i] as number;
    const ev = e[i] as number;
    if (!(Math.abs(av - ev) <= atol + rtol * Math.abs(ev))) {
      throw new Error(
        `Values differ at index ${i}: actual ${av}, expected ${ev} (tolerance '${tolerance}': atol ${atol}, rtol ${rtol}).`,
      );
    }
  }
}

/**
 * Runs `fn` and throws if the number of live tensors afterwards differs from before. Use around
 * every test body that creates tensors.
 */
export async function expectNoLeaks(fn: () => unknown | Promise<unknown>): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  const after = tf.memory().numTensors;
  if (after !== before) {
    throw new Error(
      `Tensor leak: ${after - before} tensors left alive (before ${before}, after ${after}).`,
    );
  }
}
