import type { CellResult } from './cell.js';
import type { BudgetStatus, PlannedRow, PolicyRef } from './rows.js';

/** One cell as the results list it: its result, or why it has none. */
export interface CellRecord {
  readonly task: string;
  readonly row: string;
  readonly slug: string;
  readonly seed: number;
  /** `computed` in this process, `reused` from an earlier cell-result.json, or `failed`. */
  readonly status: 'computed' | 'reused' | 'failed';
  readonly result: CellResult | null;
  /** Error message of a failed cell. */
  readonly error: string | null;
}

/** Accuracy of one row on one task over its seeds, as fractions in [0, 1]. */
export interface TaskAccuracy {
  /** Null when no seed of the cell finished. */
  readonly mean: number | null;
  /** Sample standard deviation (n − 1 denominator); null with fewer than 2 finished seeds. */
  readonly std: number | null;
  /** Finished seeds. */
  readonly n: number;
}

/** One row of the comparison table. */
export interface RowSummary {
  readonly label: string;
  readonly slug: string;
  readonly policy: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly budget: BudgetStatus;
  /** Policy the cells ran: the row's own, or `budgeted` when matched. */
  readonly effectivePolicy: string;
  readonly accuracy: Readonly<Record<string, TaskAccuracy>>;
  /** Mean over tasks of the per-task mean accuracy; null unless every task has one. */
  readonly average: number | null;
  /** Mean trainable-parameter count over the finished seeds of each task; null when none finished. */
  readonly parameters: Readonly<Record<string, number | null>>;
  /** Whether the finished seeds of a task differ in their trainable-parameter count. */
  readonly parametersVary: Readonly<Record<string, boolean>>;
  /** Sum of the wall times of the row's finished cells, in seconds. */
  readonly wallSeconds: number;
  readonly finishedCells: number;
  readonly failedCells: number;
}

/** Everything `compare-results.json` contains. */
export interface ComparisonResults {
  readonly format: 'guilomo-compare-results';
  readonly version: 1;
  readonly runFolder: string;
  readonly tasks: readonly string[];
  readonly seeds: readonly number[];
  readonly matchBudget: boolean;
  readonly budgetOf: PolicyRef;
  readonly rows: readonly RowSummary[];
  readonly cells: readonly CellRecord[];
}

/** Aggregates the cells of each row: accuracy mean ± std per task, average, parameters, time. */
export function summarizeRows(
  rows: readonly PlannedRow[],
  tasks: readonly string[],
  cells: readonly CellRecord[],
): RowSummary[] {
  return rows.map((row) => {
    const own = cells.filter((cell) => cell.slug === row.slug);
    const accuracy: Record<string, TaskAccuracy> = {};
    const parameters: Record<string, number | null> = {};
    const parametersVary: Record<string, boolean> = {};
    for (const task of tasks) {
      const results = own
        .filter((cell) => cell.task === task)
        .flatMap((cell) => (cell.result === null ? [] : [cell.result]));
      accuracy[task] = meanAndStd(results.map((result) => result.evaluation.accuracy));
      const counts = results.map((result) => result.trainableParameters);
      parameters[task] =
        counts.length === 0 ? null : counts.reduce((a, b) => a + b, 0) / counts.length;
      parametersVary[task] = new Set(counts).size > 1;
    }
    const means = tasks.map((task) => accuracy[task]?.mean ?? null);
    const average =
      means.every((mean): mean is number => mean !== null) && means.length > 0
        ? means.reduce((a, b) => a + b, 0) / means.length
        : null;
    const finished = own.flatMap((cell) => (cell.result === null ? [] : [cell.result]));
    return {
      label: row.label,
      slug: row.slug,
      policy: row.policy,
      params: row.params,
      budget: row.budget,
      effectivePolicy: row.effectivePolicy,
      accuracy,
      average,
      parameters,
      parametersVary,
      wallSeconds: finished.reduce((sum, result) => sum + result.seconds.total, 0),
      finishedCells: finished.length,
      failedCells: own.filter((cell) => cell.status === 'failed').length,
    };
  });
}

function meanAndStd(values: readonly number[]): TaskAccuracy {
  const n = values.length;
  if (n === 0) {
    return { mean: null, std: null, n };
  }
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) {
    return { mean, std: null, n };
  }
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (n - 1);
  return { mean, std: Math.sqrt(variance), n };
}

/**
 * Renders the comparison as Markdown: the main table (accuracy in percent per task, average,
 * trainable parameters, wall time), notes on how each column was computed, and the per-cell
 * table with allocation size and final routing health.
 */
export function comparisonMarkdown(results: ComparisonResults): string {
  const { tasks, rows, matchBudget } = results;
  const header = [
    'Method',
    ...(matchBudget ? ['Budget'] : []),
    ...tasks,
    'Avg.',
    'Trainable params',
    'Wall time (s)',
  ];
  const align = [
    '---',
    ...(matchBudget ? ['---'] : []),
    ...tasks.map(() => '---:'),
    '---:',
    '---:',
    '---:',
  ];
  const lines = [tableLine(header), tableLine(align)];
  for (const row of rows) {
    lines.push(
      tableLine([
        escapeCell(row.label),
        ...(matchBudget ? [row.budget] : []),
        ...tasks.map((task) => formatAccuracy(row.accuracy[task])),
        row.average === null ? '—' : percent(row.average),
        formatParameters(row, tasks),
        row.finishedCells === 0 ? '—' : row.wallSeconds.toFixed(0),
      ]),
    );
  }

  const seedText =
    results.seeds.length === 1
      ? `1 seed (${results.seeds[0]})`
      : `${results.seeds.length} seeds (${results.seeds.join(', ')})`;
  const notes = [
    `Accuracy in %, mean ± sample standard deviation over ${seedText}; Avg. is the mean of the per-task means.`,
    'Trainable params counts the stage-2 adapter values (LoRA A and B factors, routers); a per-task list appears where tasks differ, and ≈ marks a mean over seeds that differ.',
    "Wall time sums search, allocation, training and evaluation over the row's cells, as measured by the process that finished each cell.",
  ];
  if (matchBudget) {
    const reference = `${results.budgetOf.policy} ${JSON.stringify(results.budgetOf.params)}`;
    notes.push(
      `Budget: \`matched\` rows were re-fitted with the budgeted policy to the trainable-parameter count of ${reference}; \`reference\` is that allocation itself; \`own\` rows keep their own count.`,
    );
  }
  const failed = results.cells.filter((cell) => cell.status === 'failed');
  if (failed.length > 0) {
    notes.push(`${failed.length} cell(s) failed and are left out; see the cell table.`);
  }

  const cellLines = [
    tableLine([
      'Task',
      'Method',
      'Seed',
      'Status',
      'Accuracy',
      'Trainable params',
      'Experts',
      'Mean rank',
      'Max expert share',
      'Routing entropy',
      'Final loss',
      'Time (s)',
    ]),
    tableLine([
      '---',
      '---',
      '---:',
      '---',
      '---:',
      '---:',
      '---:',
      '---:',
      '---:',
      '---:',
      '---:',
      '---:',
    ]),
  ];
  for (const cell of results.cells) {
    const result = cell.result;
    cellLines.push(
      tableLine([
        cell.task,
        escapeCell(cell.row),
        String(cell.seed),
        cell.status === 'failed' ? `failed: ${escapeCell(cell.error ?? '')}` : cell.status,
        result === null ? '—' : percent(result.evaluation.accuracy),
        result === null ? '—' : formatCount(result.trainableParameters),
        result === null ? '—' : String(result.allocation.experts),
        result === null ? '—' : result.allocation.meanRank.toFixed(2),
        result?.routing == null ? '—' : result.routing.maxExpertShare.toFixed(3),
        result?.routing == null ? '—' : result.routing.routingEntropy.toFixed(3),
        result?.finalTrainLoss == null ? '—' : result.finalTrainLoss.toFixed(4),
        result === null ? '—' : result.seconds.total.toFixed(1),
      ]),
    );
  }
  return `${lines.join('\n')}\n\n${notes.map((note) => `- ${note}`).join('\n')}\n\n### Cells\n\n${cellLines.join('\n')}\n`;
}

/**
 * Renders the row table as CSV, one line per row: accuracy mean, std and finished seeds per
 * task (fractions), the average, the trainable parameters per task and the wall time.
 */
export function comparisonCsv(results: ComparisonResults): string {
  const { tasks } = results;
  const header = [
    'label',
    'slug',
    'policy',
    'effective_policy',
    'budget',
    ...tasks.flatMap((task) => [`${task}_accuracy_mean`, `${task}_accuracy_std`, `${task}_seeds`]),
    'average_accuracy',
    ...tasks.map((task) => `${task}_trainable_parameters`),
    'wall_seconds',
    'failed_cells',
  ];
  const lines = [header.map(csvField).join(',')];
  for (const row of results.rows) {
    const fields = [
      row.label,
      row.slug,
      row.policy,
      row.effectivePolicy,
      row.budget,
      ...tasks.flatMap((task) => {
        const accuracy = row.accuracy[task];
        return [
          numberField(accuracy?.mean ?? null),
          numberField(accuracy?.std ?? null),
          String(accuracy?.n ?? 0),
        ];
      }),
      numberField(row.average),
      ...tasks.map((task) => numberField(row.parameters[task] ?? null)),
      row.wallSeconds.toFixed(1),
      String(row.failedCells),
    ];
    lines.push(fields.map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

function formatAccuracy(accuracy: TaskAccuracy | undefined): string {
  if (accuracy === undefined || accuracy.mean === null) {
    return '—';
  }
  return accuracy.std === null
    ? percent(accuracy.mean)
    : `${percent(accuracy.mean)} ± ${percent(accuracy.std)}`;
}

function formatParameters(row: RowSummary, tasks: readonly string[]): string {
  const present = tasks.filter((task) => row.parameters[task] != null);
  if (present.length === 0) {
    return '—';
  }
  const values = present.map((task) => row.parameters[task] as number);
  const varies = present.some((task) => row.parametersVary[task] === true);
  if (!varies && new Set(values).size === 1) {
    return formatCount(values[0] as number);
  }
  return present
    .map(
      (task) =>
        `${task}: ${row.parametersVary[task] === true ? '≈' : ''}${formatCount(row.parameters[task] as number)}`,
    )
    .join('<br>');
}

function percent(fraction: number): string {
  return (fraction * 100).toFixed(2);
}

function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function tableLine(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function numberField(value: number | null): string {
  return value === null ? '' : String(value);
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
