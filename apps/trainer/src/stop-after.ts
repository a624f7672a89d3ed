import { GuiLoMoError } from '@guilomo/core';

/**
 * Thrown by the search and training loops when `run.stopAfter` steps of a phase have run in
 * this invocation and the phase is not finished. The phase's checkpoint is written before the
 * throw, so `--resume` continues from it and ends with the same result as an uninterrupted run.
 */
export class RunStopped extends GuiLoMoError {
  constructor(
    readonly phase: 'search' | 'train',
    readonly step: number,
    readonly total: number,
    readonly checkpointDir: string,
  ) {
    super(
      `Stopped the ${phase} phase after step ${step} of ${total} (run.stopAfter); its checkpoint is in ${checkpointDir}. Continue with --resume.`,
    );
  }
}

/**
 * Returns the step after which a phase that starts at `firstStep` stops in this invocation, or
 * undefined when `stopAfter` is 0 or the phase finishes first.
 */
export function stopStep(stopAfter: number, firstStep: number, total: number): number | undefined {
  if (stopAfter === 0 || firstStep + stopAfter >= total) {
    return undefined;
  }
  return firstStep + stopAfter;
}
