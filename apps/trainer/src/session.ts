import { builtinAllocationPolicies } from '@guilomo/allocation';
import { initBackend } from '@guilomo/backend';
import type { Example } from '@guilomo/benchmarks';
import { loadTask } from '@guilomo/benchmarks';
import type { Logger, ModuleInfo, ProgressCallback, Registry } from '@guilomo/core';
import { ConfigError, createRegistry, setDropoutPrefetch } from '@guilomo/core';
import type { Llama2cTokenizer, LlamaModel } from '@guilomo/models';
import { defaultModelPaths, loadLlama2c } from '@guilomo/models';
import { builtinRouters } from '@guilomo/routers';
import type { ResolvedConfig } from './config/types.js';
import { loadPluginModules } from './plugins.js';
import { RunDir, writeJson } from './run-dir.js';
import { checkPluginNames, resolveConfiguredTargets } from './session-checks.js';

/** Everything the stages share: config, run folder, logging, registry, model and task data. */
export interface Session {
  readonly config: ResolvedConfig;
  readonly runDir: RunDir;
  readonly logger: Logger;
  readonly progress: ProgressCallback;
  readonly registry: Registry;
  readonly model: LlamaModel;
  readonly tokenizer: Llama2cTokenizer;
  /** Adapted modules, resolved from `adapter.targets`. */
  readonly targets: readonly ModuleInfo[];
  readonly trainExamples: readonly Example[];
  readonly evalExamples: readonly Example[];
  readonly backend: string;
  /** Whether this run continues from the run folder's checkpoints. */
  readonly resume: boolean;
}

/** Options of {@link openSession}. */
export interface SessionOptions {
  readonly config: ResolvedConfig;
  readonly logger: Logger;
  readonly progress: ProgressCallback;
  readonly resume: boolean;
  /** Plugins registered in code, after the built-ins and before the config's plugin modules. */
  readonly register?: (registry: Registry) => void;
  /** Skips loading the task data (for commands that do not need it). */
  readonly withoutData?: boolean;
}

/**
 * Prepares a run: selects the backend, registers plugins, loads the model and the task's data,
 * and writes the resolved config into the run folder.
 */
export async function openSession(options: SessionOptions): Promise<Session> {
  const { config, logger } = options;
  const runDir = new RunDir(config.run.out);
  runDir.ensure();
  await writeJson(runDir.config, config);

  const backend = await initBackend({ backend: config.run.backend, logger: logger.child('backend') });
  setDropoutPrefetch(config.run.dropoutWorker);
  if (config.run.openblas && backend.name !== 'tensorflow') {
    await registerOptionalKernels(logger, backend.name);
  }

  const registry = createRegistry(logger.child('registry'));
  for (const plugin of builtinRouters) {
    registry.register(plugin);
  }
  for (const plugin of builtinAllocationPolicies) {
    registry.register(plugin);
  }
  options.register?.(registry);
  await loadPluginModules(registry, config.run.plugins, logger.child('plugins'));
  checkPluginNames(registry, config);

  // The data loads before the model, so that a data error leaves no model tensors behind.
  const { trainExamples, evalExamples } =
    options.withoutData === true ? { trainExamples: [], evalExamples: [] } : await loadTaskExamples(config, logger);

  const defaults = defaultModelPaths();
  const { model, tokenizer } = await loadLlama2c({
    checkpoint: config.model.checkpoint === '' ? defaults.checkpoint : config.model.checkpoint,
    tokenizer: config.model.tokenizer === '' ? defaults.tokenizer : config.model.tokenizer,
    logger: logger.child('model'),
  });
  let targets: ModuleInfo[];
  try {
    if (config.data.maxLength > model.config.seqLen) {
      throw new ConfigError('data.maxLength', `must be at most the model's context of ${model.config.seqLen} tokens, received ${config.data.maxLength}.`);
    }
    targets = resolveConfiguredTargets(model, config.adapter.targets);
  } catch (error) {
    model.dispose();
    throw error;
  }
  logger.info(`Adapting ${targets.length} modules (${config.adapter.targets.join(',')}).`);

  return {
    config,
    runDir,
    logger,
    progress: options.progress,
    registry,
    model,
    tokenizer,
    targets,
    trainExamples,
    evalExamples,
    backend: backend.name,
    resume: options.resume,
  };
}

/**
 * Loads the training and evaluation examples of `config.data.task`, cut to `data.trainLimit` and
 * `data.evalLimit`. Malformed rows skipped under `data.onInvalidRow = skip` are counted in a warning.
 */
export async function loadTaskExamples(
  config: ResolvedConfig,
  logger: Logger,
): Promise<{ trainExamples: Example[]; evalExamples: Example[] }> {
  const loadOptions = {
    ...(config.data.dir === '' ? {} : { dataRoot: config.data.dir }),
    onInvalidRow: config.data.onInvalidRow,
  };
  const [train, evaluation] = await Promise.all([
    loadTask(config.data.task, 'train', loadOptions),
    loadTask(config.data.task, 'eval', loadOptions),
  ]);
  for (const split of [train, evaluation]) {
    if (split.skipped.length > 0) {
      logger.warn(`Skipped malformed rows of ${config.data.task} ${split.split}: ${split.skipped.length}.`, {
        first: `${split.skipped[0]?.file}:${split.skipped[0]?.line} ${split.skipped[0]?.reason}`,
      });
    }
  }
  const trainExamples = limit(train.examples, config.data.trainLimit);
  const evalExamples = limit(evaluation.examples, config.data.evalLimit);
  logger.info(
    `Task ${config.data.task}: ${trainExamples.length} training examples (of ${train.examples.length}), ${evalExamples.length} evaluation examples (of ${evaluation.examples.length}).`,
  );
  return { trainExamples, evalExamples };
}

function limit<T>(items: readonly T[], count: number): T[] {
  return count === 0 ? [...items] : items.slice(0, count);
}

async function registerOptionalKernels(logger: Logger, backendName: string): Promise<void> {
  if (backendName !== 'wasm' && backendName !== 'cpu') {
    return;
  }
  try {
    const kernels = await import('@guilomo/kernels-openblas');
    kernels.registerOpenBlasKernels({ backends: [backendName], logger: logger.child('openblas') });
  } catch (error) {
    logger.info(`OpenBLAS kernels not used: ${(error as Error).message}`);
  }
}
