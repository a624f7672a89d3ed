// Entry point of a benchmark worker process, started by runBench with child_process.fork. It
// runs one job in a fresh process, so that each job's peak RSS and wasm heap are its own.
import { createLogger } from '@guilomo/core';
import { openSession } from '../session.js';
import { runBenchJob } from './jobs.js';
import { setBenchThreads } from './threads.js';
import type { WorkerMessage, WorkerRequest } from './worker-protocol.js';

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) {
      resolve();
      return;
    }
    process.send(message, undefined, undefined, () => resolve());
  });
}

async function run(request: WorkerRequest): Promise<void> {
  const logger = createLogger({
    level: request.logLevel,
    sink: (record) => {
      void send({ type: 'log', record });
    },
  });
  try {
    const session = await openSession({
      config: request.config,
      logger,
      progress: (event) => {
        void send({ type: 'progress', event });
      },
      resume: false,
      withoutData: true,
    });
    await setBenchThreads(request.config, session.backend, logger);
    const result = await runBenchJob(session, request.job);
    await send({ type: 'result', result });
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    await send({ type: 'error', name, message });
  }
  process.disconnect();
}

process.once('message', (request: WorkerRequest) => {
  void run(request);
});
