/**
 * Progress of a long phase (search, training, evaluation, loading). Libraries emit these and
 * the application decides how to show them, for example as progress bars.
 */
export interface ProgressEvent {
  /** Phase name, such as `search`, `train`, `eval` or `load`. */
  readonly phase: string;
  /** Steps completed so far, from 0 to `total`. */
  readonly step: number;
  /** Total number of steps in the phase. */
  readonly total: number;
  /** Latest scalar metrics of the phase, such as `loss` or `accuracy`. */
  readonly metrics?: Readonly<Record<string, number>>;
  /** Short human-readable detail, such as the current task or file. */
  readonly detail?: string;
}

/** Receives progress events. It must return quickly and must not throw. */
export type ProgressCallback = (event: ProgressEvent) => void;

/** A progress callback that ignores every event. */
export const ignoreProgress: ProgressCallback = () => {};
