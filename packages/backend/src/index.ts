export type { BackendInfo } from './describe-backend.js';
export { describeBackend } from './describe-backend.js';
export { registerAllGradients } from './gradients.js';
export type { BackendRequest, InitBackendOptions } from './init-backend.js';
export { BACKEND_REQUESTS, BackendUnavailableError, initBackend } from './init-backend.js';
export type { NativePackage } from './native.js';
export { NATIVE_BACKEND_NAME, NATIVE_PACKAGES } from './native.js';
