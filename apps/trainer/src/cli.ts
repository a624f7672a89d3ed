#!/usr/bin/env node
import { Command, Option } from 'commander';
import { GuiLoMoError, createLogger } from '@guilomo/core';
import type { Logger } from '@guilomo/core';
import { COMMAND_SECTIONS, addConfigOptions, readConfigFlags } from './cli-options.js';
import { readConfigFile, resolveConfig } from './config/resolve-config.js';
import type { ResolvedConfig } from './config/types.js';
import { commandAllocate, commandEval, commandRun, commandSearch, commandTrain } from './pipeline.js';
import type { Session } from './session.js';
import { openSession } from './session.js';
import { ConsoleOutput } from './ui/console.js';
import type { OutputMode } from './ui/console.js';

interface CommonFlags {
  config?: string;
  quiet?: boolean;
  json?: boolean;
  verbose?: boolean;
  resume?: boolean;
  [key: string]: unknown;
}

const program = new Command();
program
  .name('guilomo')
  .description(
    'GuiLoMo on TensorFlow.js: learn per-module expert counts and per-expert LoRA ranks with GuidedSelection Vectors (stage 1), allocate, train the LoRA-MoE adapters (stage 2) and evaluate.',
  )
  .showHelpAfterError();

function defineCommand(name: string, description: string, action: (session: Session, output: ConsoleOutput) => Promise<unknown>, options: { withoutData?: boolean } = {}): void {
  const command = program.command(name).description(description);
  command
    .option('-c, --config <path>', 'JSON or YAML config file; flags override its values')
    .option('--resume', 'Continue from the run folder\'s last checkpoints (same seed gives the same result as an uninterrupted run)')
    .addOption(new Option('-q, --quiet', 'Print warnings and errors only').conflicts('json'))
    .option('--json', 'Print logs, progress and results as JSON lines, for scripts')
    .option('-v, --verbose', 'Print debug logs');
  addConfigOptions(command, COMMAND_SECTIONS[name] ?? []);
  command.action(async (flags: CommonFlags) => {
    const mode: OutputMode = flags.json === true ? 'json' : flags.quiet === true ? 'quiet' : 'normal';
    const output = new ConsoleOutput(mode);
    const logger = createLogger({ level: flags.verbose === true ? 'debug' : 'info', sink: output.sink });
    try {
      const config = resolveConfig(flags.config === undefined ? {} : readConfigFile(flags.config), readConfigFlags(flags));
      const session = await openSession({ config, logger, progress: output.progress, resume: flags.resume === true, ...options });
      const result = await action(session, output);
      output.stopBar();
      if (result !== undefined && typeof result === 'object') {
        output.result(name, summarize(result as Record<string, unknown>, config));
      }
    } catch (error) {
      output.stopBar();
      reportError(error, logger);
      process.exitCode = 1;
    }
  });
}

defineCommand('search', 'Stage 1: bilevel search of the expert and rank GSVs on the maximum configuration', async (session) => {
  await commandSearch(session);
  return { gsv: session.runDir.gsv };
});
defineCommand('allocate', 'Turn GSVs (or another policy) into per-module expert counts and per-expert ranks', async (session) => {
  const allocation = await commandAllocate(session);
  return { modules: allocation.modules.length, file: session.runDir.allocation };
}, { withoutData: true });
defineCommand('train', 'Stage 2: train a fresh LoRA-MoE with the run folder\'s allocation', async (session) => {
  await commandTrain(session);
  return { adapter: session.runDir.adapterDir };
});
defineCommand('eval', 'Evaluate the run folder\'s trained adapters (or the base model) on the task', async (session) => commandEval(session));
defineCommand('run', 'Run search, allocate, train and eval in sequence, then write the report', async (session) => commandRun(session));

function summarize(result: Record<string, unknown>, config: ResolvedConfig): Record<string, unknown> {
  const { predictions: _predictions, ...rest } = result;
  return { ...rest, runFolder: config.run.out };
}

function reportError(error: unknown, logger: Logger): void {
  if (error instanceof GuiLoMoError) {
    logger.error(`${error.name}: ${error.message}`);
    return;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  logger.error(`Unexpected error: ${message}`);
}

await program.parseAsync(process.argv);
