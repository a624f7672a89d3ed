import type { RouterOptions, RouterPlugin } from '@guilomo/core';
import * as tf from '@tensorflow/tfjs-core';
import { expertChoiceRouterPlugin } from '../src/expert-choice-router.js';
import { softRouterPlugin } from '../src/soft-router.js';
import { switchRouterPlugin } from '../src/switch-router.js';
import { topKRouterPlugin } from '../src/top-k-router.js';
import { topPRouterPlugin } from '../src/top-p-router.js';

/** Logit of an expert that a GSV mask has switched off. */
export const MASKED = -1e4;

/**
 * Router logits `[5 tokens, 4 experts]` with expert 3 masked. Competing logits differ by at
 * least 0.1 and competing probabilities by at least 0.01, so a central-difference step of 1e-2
 * changes no selection of the cases below. The gradient tests check this.
 */
export const LOGITS = [
  [1.2, -0.3, 0.4, MASKED],
  [-0.5, 0.9, -0.1, MASKED],
  [0.3, 0.2, 1.1, MASKED],
  [0.8, 1.5, -0.6, MASKED],
  [-0.2, -0.9, 0.7, MASKED],
];

/** One router configuration of the shared test table. */
export interface RouterCase {
  readonly label: string;
  readonly plugin: RouterPlugin;
  readonly options: RouterOptions;
  /** Whether every token's weights sum to 1. */
  readonly renormalizes: boolean;
  /** Whether the balance loss is a constant without gradient. */
  readonly constantBalance: boolean;
}

export const ROUTER_CASES: readonly RouterCase[] = [
  {
    label: 'top-k',
    plugin: topKRouterPlugin,
    options: { numExperts: 4, topK: 2 },
    renormalizes: true,
    constantBalance: false,
  },
  {
    label: 'top-p',
    plugin: topPRouterPlugin,
    options: { numExperts: 4, topK: 2, params: { p: 0.8 } },
    renormalizes: true,
    constantBalance: false,
  },
  {
    label: 'soft',
    plugin: softRouterPlugin,
    options: { numExperts: 4, topK: 4 },
    renormalizes: true,
    constantBalance: false,
  },
  {
    label: 'switch',
    plugin: switchRouterPlugin,
    // Capacity ceil(0.8 · 5 / 4) = 1, so the fixture drops tokens 3 and 4.
    options: { numExperts: 4, topK: 1, params: { capacityFactor: 0.8, zLossCoef: 0.01 } },
    renormalizes: false,
    constantBalance: false,
  },
  {
    label: 'expert-choice',
    plugin: expertChoiceRouterPlugin,
    options: { numExperts: 4, topK: 2 },
    renormalizes: false,
    constantBalance: true,
  },
];

/** Fixed loss weights `[tokens, experts]`, so that the test loss `Σ C ⊙ w` mixes all entries. */
export function lossWeights(tokens: number, experts: number): number[][] {
  return Array.from({ length: tokens }, (_, t) =>
    Array.from({ length: experts }, (_, e) => (((t * 7 + e * 3) % 5) - 2) / 2 + 0.1 * e),
  );
}

/**
 * Computes the central-difference gradient of `loss` at `values`, with step `h`, in float32.
 * `pattern` returns a selection fingerprint of an input. It must be the same at every
 * perturbed point, otherwise the difference quotient crosses a selection boundary.
 */
export function centralDifference(
  loss: (x: tf.Tensor2D) => tf.Scalar,
  values: readonly (readonly number[])[],
  h: number,
  pattern: (x: tf.Tensor2D) => string,
): { gradient: number[]; patternsMatch: boolean } {
  const shape: [number, number] = [values.length, (values[0] as readonly number[]).length];
  const flat = values.flat();
  const evaluate = (point: number[]): { value: number; selection: string } =>
    tf.tidy(() => {
      const x = tf.tensor2d(point, shape);
      return { value: loss(x).dataSync()[0] as number, selection: pattern(x) };
    });
  const base = evaluate(flat).selection;
  let patternsMatch = true;
  const gradient = flat.map((_, i) => {
    const plus = [...flat];
    const minus = [...flat];
    plus[i] = (plus[i] as number) + h;
    minus[i] = (minus[i] as number) - h;
    const up = evaluate(plus);
    const down = evaluate(minus);
    patternsMatch = patternsMatch && up.selection === base && down.selection === base;
    return (up.value - down.value) / (2 * h);
  });
  return { gradient, patternsMatch };
}
