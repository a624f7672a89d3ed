import type { ProjectionName } from '@guilomo/core';

const ATTENTION: ReadonlySet<ProjectionName> = new Set(['q', 'k', 'v', 'o']);

/**
 * Builds the HF-style path of a projection, such as `model.layers.3.self_attn.q_proj` or
 * `model.layers.3.mlp.up_proj`.
 */
export function modulePath(layer: number, projection: ProjectionName): string {
  const block = ATTENTION.has(projection) ? 'self_attn' : 'mlp';
  return `model.layers.${layer}.${block}.${projection}_proj`;
}

/**
 * Orders module paths naturally: dot-separated segments are compared one by one, numerically
 * where both are digit strings, else by UTF-16 code units. So layer 2 sorts before layer 10.
 */
export function compareModulePaths(a: string, b: string): number {
  const left = a.split('.');
  const right = b.split('.');
  const length = Math.min(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const x = left[i] as string;
    const y = right[i] as string;
    if (x === y) {
      continue;
    }
    if (/^\d+$/.test(x) && /^\d+$/.test(y)) {
      return Number(x) - Number(y);
    }
    return x < y ? -1 : 1;
  }
  return left.length - right.length;
}
