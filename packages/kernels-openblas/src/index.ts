export type { OpenBlasStatus } from './addon.js';
export { describeOpenBlas, isOpenBlasAvailable } from './addon.js';
export type { SupportedBackend } from './backend-access.js';
export { SUPPORTED_BACKENDS } from './backend-access.js';
export type { OpenBlasKernelOptions, OpenBlasRegistration, SkippedBackend } from './register.js';
export { registerOpenBlasKernels, unregisterOpenBlasKernels } from './register.js';
