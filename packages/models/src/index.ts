export type {
  Llama2cCheckpoint,
  LlamaLayerArrays,
  LlamaWeightArrays,
} from './checkpoint.js';
export {
  llama2cCheckpointBytes,
  parseLlama2cCheckpoint,
  readLlama2cCheckpoint,
} from './checkpoint.js';
export type { LlamaConfig, LlamaConfigInput, LlamaDims } from './config.js';
export { llamaDims, llamaParameterCount, resolveLlamaConfig } from './config.js';
export type { LlamaForwardOptions, LlamaForwardOutput, LlamaModelOptions } from './decoder.js';
export { createRandomLlamaModel, LlamaModel, llamaModelFromCheckpoint } from './decoder.js';
export type { GenerateOptions, GenerateResult } from './generate.js';
export { generateGreedy } from './generate.js';
export type { Llama2cPaths, LoadLlama2cOptions } from './load.js';
export { defaultModelPaths, loadLlama2c } from './load.js';
export { nextTokenLoss } from './loss.js';
export { listLlamaModules, modulePath, projectionShape, resolveModuleTargets } from './modules.js';
export type { RopeBatchTables, RopeTables } from './rope.js';
export { computeRopeTables, RotaryEmbedding } from './rope.js';
export type { EncodeOptions, EncodeResult, TokenizerOptions } from './tokenizer.js';
export {
  BOS_ID,
  DEFAULT_SUBSTITUTIONS,
  EOS_ID,
  Llama2cTokenizer,
  parseLlama2cTokenizer,
  readLlama2cTokenizer,
  UNK_ID,
} from './tokenizer.js';
export { randomLlamaWeightArrays } from './weights.js';
