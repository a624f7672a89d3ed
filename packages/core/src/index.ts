export type { AdapterContext, AdapterOutput, LinearAdapter, LoraMoeModifiers } from './adapter.js';
export type {
  Allocation,
  AllocationContext,
  AllocationPolicy,
  AllocationPolicyPlugin,
  ModuleAllocation,
  ModuleInfo,
  ProjectionName,
} from './allocation.js';
export { PROJECTION_NAMES } from './allocation.js';
export { seededDropout } from './dropout.js';
export type { DropoutMaskRequest } from './dropout-prefetch.js';
export {
  isDropoutPrefetchActive,
  pendingDropoutMaskCount,
  prefetchDropoutMasks,
  setDropoutPrefetch,
} from './dropout-prefetch.js';
export {
  assert,
  ConfigError,
  FormatError,
  formatValue,
  GuiLoMoError,
  NotSupportedError,
  NumericError,
  RegistryError,
  ShapeError,
} from './errors.js';
export { leanVariableGrads } from './lean-gradients.js';
export type { LogFields, Logger, LoggerOptions, LogLevel, LogRecord, LogSink } from './logger.js';
export { createLogger, silentLogger } from './logger.js';
export type { LoraOptions } from './lora.js';
export { Lora } from './lora.js';
export type { LoraInit, LoraMoeOptions, ScalingMode } from './lora-moe.js';
export { LoraMoe } from './lora-moe.js';
export {
  isTransposedMatMulFast,
  matMul2d,
  matMulConst,
  setTransposedMatMulFast,
} from './matmul.js';
export type { PluginBase, PluginId, PluginKind, PluginKindMap } from './plugin.js';
export { PLUGIN_API_VERSION } from './plugin.js';
export type { ProgressCallback, ProgressEvent } from './progress.js';
export { ignoreProgress } from './progress.js';
export type { RegisterOptions } from './registry.js';
export { createRegistry, Registry } from './registry.js';
export { Rng } from './rng.js';
export type {
  Router,
  RouterOptions,
  RouterPlugin,
  RoutingContext,
  RoutingResult,
} from './routing.js';
export type {
  DecodedSafetensors,
  DecodeSafetensorsOptions,
  SafetensorsDtype,
  SafetensorsTensor,
  SafetensorsTensorInput,
  SafetensorsWriteDtype,
} from './safetensors.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsFile,
  writeFileAtomic,
  writeSafetensorsFile,
} from './safetensors.js';
