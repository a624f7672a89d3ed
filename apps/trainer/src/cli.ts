#!/usr/bin/env node
import { Command, Option } from 'commander';
import { GuiLoMoError, createLogger } from '@guilomo/core';
import type { Logger } from '@guilomo/core';
import { formatBenchMarkdown } from './bench/report.js';
import { runBench } from './bench/run-bench.js';
import { COMMAND_SECTIONS, addConfigOptions, readConfigFlags } from './cli-options.js';
import { commandCompare } from './compare/compare.js';
import { readConfigFile, resolveConfig } from './config/resolve-config.js';
import { resolveCommandConfig } from './config/saved-config.js';
import type { ResolvedConfig } from './config/types.js';
import { commandAllocate, commandEval, commandRun, commandSearch, commandTrain } from './pipeline.js';
import type { Session } from './session.js';
import { openSession } from './session.js';
import { RunStopped } from './stop-after.js';
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

// A reader that closes early (`guilomo run | head`) ends the output, not the process with a stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') {
      process.exit(process.exitCode ?? 0);
    }
    throw error;
  });
}

// Ctrl-C: checkpoints are written atomically, so the last one is intact and --resume continues.
process.once('SIGINT', () => {
  process.stderr.write('\nInterrupted. The run folder keeps its last checkpoint; add --resume to the same command to continue.\n');
  process.exit(130);
});

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
    let mode: OutputMode = 'normal';
    if (flags.json === true) {
      mode = 'json';
    } else if (flags.quiet === true) {
      mode = 'quiet';
    }
    const output = new ConsoleOutput(mode);
    const logger = createLogger({ level: flags.verbose === true ? 'debug' : 'info', sink: output.sink });
    try {
      const fileConfig = flags.config === undefined ? {} : readConfigFile(flags.config);
      const config = name === 'bench' ? resolveConfig(fileConfig, readConfigFlags(flags)) : resolveCommandConfig(fileConfig, readConfigFlags(flags), logger);
      const session = await openSession({ config, logger, progress: output.progress, resume: flags.resume === true, ...options });
      const result = await action(session, output);
      output.stopBar();
      if (result !== undefined && typeof result === 'object') {
        output.result(name, summarize(result as Record<string, unknown>, config));
      }
    } catch (error) {
      output.stopBar();
      if (error instanceof RunStopped) {
        // A requested stop is not a failure, because its checkpoint is written and --resume continues from it.
        logger.warn(error.message);
        output.result(name, { stopped: error.phase, step: error.step, total: error.total });
        return;
      }
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
defineCommand(
  'compare',
  'Run each compare.rows method on each compare.tasks task with compare.seeds seeds (stage 2, plus the search where a policy needs GSVs), then write compare-results.{md,csv,json}',
  async (session) => {
    const summary = await commandCompare(session);
    if (summary.failed > 0) {
      process.exitCode = 1;
    }
    return { cells: summary.cells, computed: summary.computed, reused: summary.reused, failed: summary.failed, results: summary.results };
  },
  { withoutData: true },
);
defineCommand(
  'bench',
  'Time the stage-2 training step, the first-order and DARTS search steps (next to the PyTorch reference when available), expert scaling and evaluation throughput on random tokens; writes bench-results.{json,md}',
  async (session, output) => {
    const report = await runBench(session, { command: `guilomo ${process.argv.slice(2).join(' ')}` });
    output.stopBar();
    output.block(formatBenchMarkdown(report));
    const ratios = Object.fromEntries(report.steps.map((row) => [row.mode, row.ratio ?? null]));
    return { files: report.files, tokensPerSecond: Object.fromEntries(report.steps.map((row) => [row.mode, row.ours.tokensPerSecond])), ratioToPyTorch: ratios };
  },
  { withoutData: true },
);

function summarize(result: Record<string, unknown>, config: ResolvedConfig): Record<string, unknown> {
  const { predictions: _predictions, ...rest } = result;
  return { ...rest, runFolder: config.run.out };
}

function reportError(error: unknown, logger: Logger): void {
  if (error instanceof GuiLoMoError) {
    logger.error(`${error.name}: ${error.message}`);
    return;
  }
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (error instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    // File-system errors (ENOENT, EISDIR, EACCES, ...) carry the path in their message.
    logger.error(`${error.message}. Check the path and try again.`);
    return;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  logger.error(`Unexpected error: ${message}`);
}

await program.parseAsync(process.argv);
