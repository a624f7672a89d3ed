import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';

/** Dropout mask to prepare: the multipliers that `seededDropout` draws for `size` elements. */
export interface DropoutMaskRequest {
  readonly seed: number;
  readonly size: number;
  readonly rate: number;
}

interface PendingMask {
  readonly values: Float32Array;
  readonly ready: Int32Array;
}

// The worker runs this CommonJS source. It fills each job's shared buffer with the multipliers
// of fillDropoutMultipliers (dropout-mask.ts) and then sets the job's ready flag. The prefetch
// test compares the two bit for bit, so a change to one must be made to the other.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const alea = require(workerData.aleaPath);
parentPort.on('message', (jobs) => {
  for (const job of jobs) {
    const out = new Float32Array(job.values);
    const keep = Math.fround(1 - job.rate);
    const scale = Math.fround(1 / keep);
    const random = alea(String(job.seed));
    for (let i = 0; i < out.length; i++) {
      out[i] = Math.fround(Math.fround(random()) + keep) >= 1 ? scale : 0;
    }
    const ready = new Int32Array(job.ready);
    Atomics.store(ready, 0, 1);
    Atomics.notify(ready, 0);
  }
});
`;

/** Maximum wait for one mask, after which the worker is given up and masks are computed inline. */
const WAIT_LIMIT_MS = 10_000;

let enabled = false;
let worker: Worker | undefined;
let workerFailed = false;
const pending = new Map<string, PendingMask>();
/** Buffers returned by {@link recycleDropoutMask}, by byte length, for the next requests. */
const spare = new Map<number, SharedArrayBuffer[]>();

function keyOf(seed: number, size: number, rate: number): string {
  return `${seed}:${size}:${rate}`;
}

/**
 * Turns background generation of dropout masks on or off (default off). When it is on, a
 * forward pass can hand its masks to {@link prefetchDropoutMasks} before it runs, and one
 * worker thread draws them while the main thread computes, where `seededDropout` would draw
 * each one inline. The masks are the same either way. Turning it off stops the worker.
 */
export function setDropoutPrefetch(on: boolean): void {
  enabled = on;
  if (!on) {
    pending.clear();
    spare.clear();
    void worker?.terminate();
    worker = undefined;
  }
}

/** Returns the number of queued masks that no dropout call has taken yet, for diagnostics. */
export function pendingDropoutMaskCount(): number {
  return pending.size;
}

/** Returns whether {@link setDropoutPrefetch} turned prefetching on and the worker is usable. */
export function isDropoutPrefetchActive(): boolean {
  return enabled && !workerFailed;
}

function startWorker(): Worker | undefined {
  if (!enabled || workerFailed) {
    return undefined;
  }
  if (worker !== undefined) {
    return worker;
  }
  try {
    const require = createRequire(import.meta.url);
    const { Worker: WorkerClass } =
      require('node:worker_threads') as typeof import('node:worker_threads');
    const aleaPath = require.resolve('seedrandom/lib/alea.js');
    const started = new WorkerClass(WORKER_SOURCE, { eval: true, workerData: { aleaPath } });
    // The worker must not keep the process alive once the program is done.
    started.unref();
    started.on('error', () => {
      workerFailed = true;
    });
    worker = started;
    return started;
  } catch {
    workerFailed = true;
    return undefined;
  }
}

/**
 * Queues the masks that the next forward pass's dropout calls will need, in the order they will
 * be taken, and drops any queued mask that an earlier pass did not take. Does nothing unless
 * {@link setDropoutPrefetch} turned prefetching on.
 */
export function prefetchDropoutMasks(requests: readonly DropoutMaskRequest[]): void {
  const target = startWorker();
  if (target === undefined) {
    return;
  }
  pending.clear();
  const jobs = [];
  for (const { seed, size, rate } of requests) {
    if (!(rate > 0 && rate < 1) || !Number.isInteger(size) || size < 1) {
      continue;
    }
    const values = spare.get(size * 4)?.pop() ?? new SharedArrayBuffer(size * 4);
    const ready = new SharedArrayBuffer(4);
    pending.set(keyOf(seed, size, rate), {
      values: new Float32Array(values),
      ready: new Int32Array(ready),
    });
    jobs.push({ seed, rate, values, ready });
  }
  if (jobs.length > 0) {
    target.postMessage(jobs);
  }
}

/**
 * Returns the buffer of a mask from {@link takePrefetchedDropoutMask} for reuse by later
 * requests. Call it only once nothing reads `mask` any more, such as after the backend copied it
 * into its own memory. Other arrays are ignored.
 */
export function recycleDropoutMask(mask: Float32Array): void {
  const { buffer } = mask;
  if (!enabled || !(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== mask.byteLength) {
    return;
  }
  const list = spare.get(buffer.byteLength) ?? [];
  // A forward pass needs at most one buffer per adapted module of a given size.
  if (list.length < 64) {
    list.push(buffer);
    spare.set(buffer.byteLength, list);
  }
}

/**
 * Returns the prefetched multipliers for this seed, size and rate, waiting for the worker to
 * finish them, or undefined when none were queued. After a wait longer than 10 s the worker is
 * given up: this and every later call return undefined, so the caller computes inline.
 */
export function takePrefetchedDropoutMask(
  seed: number,
  size: number,
  rate: number,
): Float32Array | undefined {
  const key = keyOf(seed, size, rate);
  const entry = pending.get(key);
  if (entry === undefined) {
    return undefined;
  }
  pending.delete(key);
  if (Atomics.wait(entry.ready, 0, 0, WAIT_LIMIT_MS) === 'timed-out' || workerFailed) {
    workerFailed = true;
    pending.clear();
    return undefined;
  }
  return entry.values;
}
