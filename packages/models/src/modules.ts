import type { ModuleInfo, ProjectionName } from '@guilomo/core';
import { ConfigError, PROJECTION_NAMES } from '@guilomo/core';
import type { LlamaConfig } from './config.js';
import { llamaDims } from './config.js';

/** HF leaf name and parent block of each projection. */
const PROJECTION_PATHS: Readonly<Record<ProjectionName, string>> = {
  q: 'self_attn.q_proj',
  k: 'self_attn.k_proj',
  v: 'self_attn.v_proj',
  o: 'self_attn.o_proj',
  gate: 'mlp.gate_proj',
  up: 'mlp.up_proj',
  down: 'mlp.down_proj',
};

/** Returns the HF-style path of a projection, such as `model.layers.3.mlp.up_proj`. */
export function modulePath(layer: number, projection: ProjectionName): string {
  return `model.layers.${layer}.${PROJECTION_PATHS[projection]}`;
}

/** Input and output widths of a projection. */
export function projectionShape(
  config: LlamaConfig,
  projection: ProjectionName,
): { dIn: number; dOut: number } {
  const { kvDim } = llamaDims(config);
  switch (projection) {
    case 'q':
    case 'o':
      return { dIn: config.dim, dOut: config.dim };
    case 'k':
    case 'v':
      return { dIn: config.dim, dOut: kvDim };
    case 'gate':
    case 'up':
      return { dIn: config.dim, dOut: config.hiddenDim };
    case 'down':
      return { dIn: config.hiddenDim, dOut: config.dim };
  }
}

/** Lists every adaptable projection, layer by layer, in the order q, k, v, o, gate, up, down. */
export function listLlamaModules(config: LlamaConfig): ModuleInfo[] {
  const modules: ModuleInfo[] = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (const projection of PROJECTION_NAMES) {
      const { dIn, dOut } = projectionShape(config, projection);
      modules.push({ path: modulePath(layer, projection), layer, projection, dIn, dOut });
    }
  }
  return modules;
}

function isProjectionName(value: string): value is ProjectionName {
  return (PROJECTION_NAMES as readonly string[]).includes(value);
}

const VALID_FORMS =
  `a projection name (${PROJECTION_NAMES.join(', ')}), \`all\`, a glob on the module path ` +
  'such as `model.layers.*.mlp.*`, or a short path such as `layers.0-2.q`';

/** Matches one path segment: `*` is any run of characters, `N-M` an inclusive number range. */
function segmentMatcher(pattern: string, segment: string): (value: string) => boolean {
  const range = /^(\d+)-(\d+)$/.exec(segment);
  if (range !== null) {
    const low = Number(range[1]);
    const high = Number(range[2]);
    if (low > high) {
      throw new ConfigError(
        'targets',
        `pattern ${JSON.stringify(pattern)} has the layer range ${segment} whose start is ` +
          `greater than its end. Write it as ${high}-${low}.`,
      );
    }
    return (value) => /^\d+$/.test(value) && Number(value) >= low && Number(value) <= high;
  }
  const escaped = segment.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  const regex = new RegExp(`^${escaped}$`);
  return (value) => regex.test(value);
}

/** Returns the predicate of one pattern, or throws a ConfigError for a malformed one. */
function compilePattern(pattern: string): (module: ModuleInfo) => boolean {
  const trimmed = pattern.trim();
  if (trimmed === 'all') {
    return () => true;
  }
  if (!trimmed.includes('.') && !trimmed.includes('*')) {
    if (!isProjectionName(trimmed)) {
      throw new ConfigError(
        'targets',
        `unknown projection name ${JSON.stringify(pattern)}. Valid names: ` +
          `${PROJECTION_NAMES.join(', ')}, or \`all\`; globs and short paths are also accepted.`,
      );
    }
    return (module) => module.projection === trimmed;
  }
  const segments = trimmed.split('.');
  const shortLeaf = segments.length === 3 && segments[0] === 'layers' ? segments[2] : undefined;
  if (shortLeaf !== undefined && !shortLeaf.includes('*') && !isProjectionName(shortLeaf)) {
    throw new ConfigError(
      'targets',
      `pattern ${JSON.stringify(pattern)} ends in the unknown projection name ` +
        `${JSON.stringify(shortLeaf)}. Valid names: ${PROJECTION_NAMES.join(', ')}, or *.`,
    );
  }
  const matchers = segments.map((segment) => segmentMatcher(pattern, segment));
  const matchesAll = (parts: readonly string[]) =>
    parts.length === matchers.length && matchers.every((match, i) => match(parts[i] as string));
  // A pattern matches either the full path (`model.layers.3.mlp.up_proj`) or the short path
  // (`layers.3.up`), segment by segment.
  return (module) =>
    matchesAll(module.path.split('.')) ||
    matchesAll(['layers', String(module.layer), module.projection]);
}

/**
 * Resolves target patterns to modules, in `modules` order and without duplicates.
 *
 * A pattern is a projection name (`q`, `k`, `v`, `o`, `gate`, `up`, `down`), `all`, or a glob
 * matched segment by segment against the full path (`model.layers.*.mlp.*`) or the short path
 * `layers.<layer>.<projection>` (`layers.0-2.q`). In a glob, `*` matches any characters within
 * one segment and `N-M` matches layer numbers N to M inclusive.
 *
 * @throws ConfigError (field `targets`) for an unknown projection name, an empty pattern list,
 *   or a pattern that matches no module.
 */
export function resolveModuleTargets(
  modules: readonly ModuleInfo[],
  patterns: string | readonly string[],
): ModuleInfo[] {
  const list = typeof patterns === 'string' ? [patterns] : [...patterns];
  if (list.length === 0) {
    throw new ConfigError('targets', `received an empty list. Give at least ${VALID_FORMS}.`);
  }
  const selected = new Set<string>();
  for (const pattern of list) {
    const matches = compilePattern(pattern);
    const hits = modules.filter(matches);
    if (hits.length === 0) {
      const numLayers = new Set(modules.map((module) => module.layer)).size;
      throw new ConfigError(
        'targets',
        `pattern ${JSON.stringify(pattern)} matches no module of this ${numLayers}-layer model. ` +
          `Use ${VALID_FORMS}.`,
      );
    }
    for (const hit of hits) {
      selected.add(hit.path);
    }
  }
  return modules.filter((module) => selected.has(module.path));
}
