import { join } from 'node:path';
import { GuiLoMoError, writeFileAtomic } from '@guilomo/core';
import type { ResolvedConfig, TaskName } from '../config/types.js';
import { writeJson } from '../run-dir.js';
import type { Session } from '../session.js';
import { loadTaskExamples } from '../session.js';
import { RunStopped } from '../stop-after.js';
import { runCell } from './cell.js';
import type { CellRecord, ComparisonResults } from './results.js';
import { comparisonCsv, comparisonMarkdown, summarizeRows } from './results.js';
import type { PlannedRow, PolicyRef } from './rows.js';
import { parseCompareRows, planRows, readBudgetReference } from './rows.js';

/** Files `guilomo compare` writes into the run folder. */
export const COMPARE_FILES = {
  json: 'compare-results.json',
  markdown: 'compare-results.md',
  csv: 'compare-results.csv',
} as const;

/** Summary returned by {@link commandCompare}. */
export interface CompareSummary {
  readonly cells: number;
  readonly computed: number;
  readonly reused: number;
  readonly failed: number;
  /** Path of compare-results.md. */
  readonly results: string;
  readonly markdown: string;
  readonly comparison: ComparisonResults;
}

/**
 * `guilomo compare`: runs every row of `compare.rows` on every task of `compare.tasks` with
 * `compare.seeds` seeds. Each cell runs the pipeline's stages in `cells/<task>/<row>/<seed>/`
 * (see {@link runCell}), and all cells of a task share the session's model and registry. Writes
 * `compare-results.{json,md,csv}` after every cell, so that an interrupted comparison keeps the
 * table of the cells that finished, and logs the Markdown table at the end.
 *
 * A cell that fails with a GuiLoMo error (a diverged loss, a policy that rejects the model) is
 * logged, listed as failed and retried by the next run. A requested stop (`RunStopped`) and
 * any other error end the comparison.
 */
export async function commandCompare(session: Session): Promise<CompareSummary> {
  const { config, logger } = session;
  const reference = readBudgetReference(config.compare.budgetOf, session.registry);
  const rows = planRows(
    parseCompareRows(config.compare.rows, session.registry),
    config.compare.matchBudget,
    reference,
  );
  const tasks = (
    config.compare.tasks.length === 0 ? [config.data.task] : config.compare.tasks
  ) as TaskName[];
  const seeds = Array.from({ length: config.compare.seeds }, (_, i) => config.run.seed + i);
  const plan: ComparePlan = { rows, tasks, seeds, reference };
  const total = rows.length * tasks.length * seeds.length;
  logger.info(
    `Comparing ${rows.length} rows × ${tasks.length} tasks × ${seeds.length} seeds = ${total} cells in ${join(session.runDir.root, 'cells')}.`,
    {
      rows: rows
        .map(
          (row) => `${row.label} (${row.budget === 'matched' ? 'budgeted' : row.effectivePolicy})`,
        )
        .join(', '),
      tasks: tasks.join(','),
      seeds: seeds.join(','),
    },
  );

  const cells: CellRecord[] = [];
  let written = await writeResults(session, plan, cells);
  for (const task of tasks) {
    const taskSession = await openTask(session, task);
    for (const row of rows) {
      for (const seed of seeds) {
        cells.push(await runCellRecord(taskSession, task, row, seed, cells.length + 1, total));
        session.progress({
          phase: 'compare',
          step: cells.length,
          total,
          detail: `${task} ${row.label} seed ${seed}`,
        });
        written = await writeResults(session, plan, cells);
      }
    }
  }

  const markdown = written.markdown;
  logger.info(
    `Comparison results (${COMPARE_FILES.markdown}, ${COMPARE_FILES.csv}, ${COMPARE_FILES.json} in ${session.runDir.root}):\n\n${markdown}`,
  );
  const count = (status: CellRecord['status']) =>
    cells.filter((cell) => cell.status === status).length;
  const failed = count('failed');
  if (failed > 0) {
    logger.warn(`${failed} of ${total} cells failed; run the same command again to retry them.`);
  }
  return {
    cells: total,
    computed: count('computed'),
    reused: count('reused'),
    failed,
    results: join(session.runDir.root, COMPARE_FILES.markdown),
    markdown,
    comparison: written.comparison,
  };
}

/** Derives the session of one task: its data, with the model and registry of `session`. */
async function openTask(session: Session, task: TaskName): Promise<Session> {
  const config: ResolvedConfig = { ...session.config, data: { ...session.config.data, task } };
  const { trainExamples, evalExamples } = await loadTaskExamples(
    config,
    session.logger.child(task),
  );
  return { ...session, config, trainExamples, evalExamples };
}

async function runCellRecord(
  taskSession: Session,
  task: TaskName,
  row: PlannedRow,
  seed: number,
  index: number,
  total: number,
): Promise<CellRecord> {
  const ids = { task, row: row.label, slug: row.slug, seed };
  taskSession.logger.info(`Cell ${index}/${total}: ${task}, ${row.label}, seed ${seed}.`);
  try {
    const outcome = await runCell(taskSession, { task, row, seed });
    return { ...ids, status: outcome.status, result: outcome.result, error: null };
  } catch (error) {
    // A requested stop (run.stopAfter) ends the comparison, and --resume continues the cell.
    if (!(error instanceof GuiLoMoError) || error instanceof RunStopped) {
      throw error;
    }
    const message = `${error.name}: ${error.message}`;
    taskSession.logger.error(`Cell ${task}/${row.slug}/${seed} failed: ${message}`, ids);
    return { ...ids, status: 'failed', result: null, error: message };
  }
}

interface ComparePlan {
  readonly rows: readonly PlannedRow[];
  readonly tasks: readonly TaskName[];
  readonly seeds: readonly number[];
  readonly reference: PolicyRef;
}

async function writeResults(
  session: Session,
  plan: ComparePlan,
  cells: readonly CellRecord[],
): Promise<{ markdown: string; comparison: ComparisonResults }> {
  const { config, runDir } = session;
  const comparison: ComparisonResults = {
    format: 'guilomo-compare-results',
    version: 1,
    runFolder: runDir.root,
    tasks: plan.tasks,
    seeds: plan.seeds,
    matchBudget: config.compare.matchBudget,
    budgetOf: plan.reference,
    rows: summarizeRows(plan.rows, plan.tasks, cells),
    cells,
  };
  const markdown = comparisonMarkdown(comparison);
  await writeJson(join(runDir.root, COMPARE_FILES.json), comparison);
  await writeFileAtomic(
    join(runDir.root, COMPARE_FILES.markdown),
    `# GuiLoMo comparison\n\n${settingsLine(config)}\n\n${markdown}`,
  );
  await writeFileAtomic(join(runDir.root, COMPARE_FILES.csv), comparisonCsv(comparison));
  return { markdown, comparison };
}

/** Formats the settings that size the comparison as one line for the Markdown file. */
function settingsLine(config: ResolvedConfig): string {
  const { data, search, train, eval: evaluation, adapter } = config;
  return (
    `Settings: ${data.trainLimit === 0 ? 'all' : data.trainLimit} training and ${data.evalLimit === 0 ? 'all' : data.evalLimit} evaluation examples per task, ` +
    `${train.steps} training steps of ${train.batchSize} sequences, ${search.steps} search steps of ${search.batchSize} for rows that need GSVs, ` +
    `targets ${adapter.targets.join(',')}, router ${adapter.router}, top-${adapter.topK}, ${evaluation.scoring} scoring, ${data.template} template.`
  );
}
