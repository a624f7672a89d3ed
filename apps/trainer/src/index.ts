export { resolveConfig, readConfigFile } from './config/resolve-config.js';
export { CONFIG_FIELDS } from './config/fields.js';
export type { ResolvedConfig } from './config/types.js';
export { openSession } from './session.js';
export type { Session, SessionOptions } from './session.js';
export { commandAllocate, commandEval, commandRun, commandSearch, commandTrain } from './pipeline.js';
