import { ConfigError } from '@guilomo/core';

/** Architecture of a LLaMA-family decoder, in llama2.c's terms. */
export interface LlamaConfig {
  /** Model width (embedding size). */
  readonly dim: number;
  /** Inner width of the SwiGLU MLP. */
  readonly hiddenDim: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Key/value heads. Fewer than `numHeads` means grouped-query attention. */
  readonly numKvHeads: number;
  readonly vocabSize: number;
  /** Context length: the maximum sequence length the model accepts. */
  readonly seqLen: number;
  /** True when the output head reuses the token embedding (tied weights). */
  readonly sharedClassifier: boolean;
  /** RMSNorm epsilon. Default 1e-5. */
  readonly normEps: number;
  /** RoPE base θ: pair i of a head rotates at θ^(-2i/headSize) radians per position. */
  readonly ropeTheta: number;
}

/** Values derived from a {@link LlamaConfig}. */
export interface LlamaDims {
  readonly headSize: number;
  /** Width of the key and value projections: `numKvHeads · headSize`. */
  readonly kvDim: number;
  /** Query heads per key/value head. */
  readonly kvGroupSize: number;
}

/** User-facing config: `normEps`, `ropeTheta` and `sharedClassifier` may be omitted. */
export type LlamaConfigInput = Omit<LlamaConfig, 'normEps' | 'ropeTheta' | 'sharedClassifier'> &
  Partial<Pick<LlamaConfig, 'normEps' | 'ropeTheta' | 'sharedClassifier'>>;

/**
 * Validates `input` and fills the defaults (`normEps` 1e-5, `ropeTheta` 10000, tied
 * classifier). Throws a {@link ConfigError} naming the first invalid field.
 */
export function resolveLlamaConfig(input: LlamaConfigInput): LlamaConfig {
  const positiveIntegers = [
    'dim',
    'hiddenDim',
    'numLayers',
    'numHeads',
    'numKvHeads',
    'vocabSize',
    'seqLen',
  ] as const;
  for (const field of positiveIntegers) {
    const value = input[field];
    if (!Number.isInteger(value) || value < 1) {
      throw new ConfigError(field, `must be a positive integer, received ${value}.`);
    }
  }
  if (input.dim % input.numHeads !== 0) {
    throw new ConfigError(
      'numHeads',
      `must divide \`dim\` (${input.dim}), received ${input.numHeads}.`,
    );
  }
  const headSize = input.dim / input.numHeads;
  if (headSize % 2 !== 0) {
    throw new ConfigError(
      'numHeads',
      `gives an odd head size ${headSize} (dim ${input.dim} / ${input.numHeads} heads); ` +
        'RoPE rotates pairs of dimensions, so the head size must be even.',
    );
  }
  if (input.numKvHeads > input.numHeads || input.numHeads % input.numKvHeads !== 0) {
    throw new ConfigError(
      'numKvHeads',
      `must divide \`numHeads\` (${input.numHeads}), received ${input.numKvHeads}.`,
    );
  }
  const normEps = input.normEps ?? 1e-5;
  if (!(normEps > 0)) {
    throw new ConfigError('normEps', `must be > 0, received ${normEps}.`);
  }
  const ropeTheta = input.ropeTheta ?? 10000;
  if (!(ropeTheta > 1)) {
    throw new ConfigError('ropeTheta', `must be > 1, received ${ropeTheta}.`);
  }
  return Object.freeze({
    dim: input.dim,
    hiddenDim: input.hiddenDim,
    numLayers: input.numLayers,
    numHeads: input.numHeads,
    numKvHeads: input.numKvHeads,
    vocabSize: input.vocabSize,
    seqLen: input.seqLen,
    sharedClassifier: input.sharedClassifier ?? true,
    normEps,
    ropeTheta,
  });
}

/** Returns head size, key/value width and query heads per key/value head. */
export function llamaDims(config: LlamaConfig): LlamaDims {
  const headSize = config.dim / config.numHeads;
  return {
    headSize,
    kvDim: config.numKvHeads * headSize,
    kvGroupSize: config.numHeads / config.numKvHeads,
  };
}

/**
 * Counts the model's weights: embedding, norms, projections and, when not shared, the
 * classifier. llama2.c's stored RoPE tables are not parameters and are not counted.
 */
export function llamaParameterCount(config: LlamaConfig): number {
  const { dim, hiddenDim, numLayers, vocabSize } = config;
  const { kvDim } = llamaDims(config);
  const perLayer =
    2 * dim + // attention and MLP RMSNorm weights
    dim * dim * 2 + // q and o
    dim * kvDim * 2 + // k and v
    dim * hiddenDim * 3; // gate, up and down
  const classifier = config.sharedClassifier ? 0 : vocabSize * dim;
  return vocabSize * dim + numLayers * perLayer + dim + classifier;
}
