import type { Logger } from '@guilomo/core';
import type { ResolvedConfig } from '../config/types.js';

/** OpenBLAS state that the benchmark reports. */
export interface BlasInfo {
  readonly available: boolean;
  readonly threads?: number;
  readonly config?: string;
  readonly reason?: string;
}

/**
 * Sets the OpenBLAS thread count when the OpenBLAS kernels are in use (`run.openblas`), and
 * returns their state. The session registered the kernels with OpenBLAS's default count, one
 * thread per core.
 */
export async function setBenchThreads(
  config: ResolvedConfig,
  backendName: string,
  logger: Logger,
): Promise<BlasInfo> {
  if (!config.run.openblas) {
    return { available: false, reason: 'run.openblas is false' };
  }
  if (backendName !== 'wasm' && backendName !== 'cpu') {
    return { available: false, reason: `the ${backendName} backend does not use them` };
  }
  const { threads } = config.bench;
  try {
    const kernels = await import('@guilomo/kernels-openblas');
    if (!kernels.isOpenBlasAvailable()) {
      return {
        available: false,
        reason: kernels.describeOpenBlas().reason ?? 'the addon is not built',
      };
    }
    kernels.registerOpenBlasKernels({ threads, logger: logger.child('openblas') });
    const status = kernels.describeOpenBlas();
    return {
      available: true,
      ...(status.threads === undefined ? {} : { threads: status.threads }),
      ...(status.config === undefined ? {} : { config: status.config }),
    };
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  }
}
