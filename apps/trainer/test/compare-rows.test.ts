import { builtinAllocationPolicies } from '@guilomo/allocation';
import type { Registry } from '@guilomo/core';
import { ConfigError, createRegistry } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import type { CellResult } from '../src/compare/cell.js';
import type { CellRecord, ComparisonResults } from '../src/compare/results.js';
import { comparisonCsv, comparisonMarkdown, summarizeRows } from '../src/compare/results.js';
import type { PlannedRow } from '../src/compare/rows.js';
import {
  canonicalJson,
  parseCompareRows,
  planRows,
  ROW_PRESETS,
  readBudgetReference,
  slugOf,
} from '../src/compare/rows.js';
import { resolveConfig } from '../src/index.js';

function builtinRegistry(): Registry {
  const registry = createRegistry();
  for (const plugin of builtinAllocationPolicies) {
    registry.register(plugin);
  }
  return registry;
}

const MOLA_2468 = { policy: 'mola', params: { shape: '2468' } };

describe('parseCompareRows', () => {
  const registry = builtinRegistry();

  it('expands every preset', () => {
    const rows = parseCompareRows(Object.keys(ROW_PRESETS), registry);
    expect(rows.map((row) => row.label)).toEqual([
      'LoRA',
      'MoE-LoRA 8×8',
      'MoLA 5555',
      'MoLA 2468',
      'MoLA 8642',
      'MoLA 8228',
      'AlphaLoRA',
      'GuiLoMo',
    ]);
    expect(rows.map((row) => row.slug)).toEqual(Object.keys(ROW_PRESETS));
    expect(rows[0]).toMatchObject({
      policy: 'uniform',
      params: { experts: 1, rank: 8, topK: 1 },
      match: false,
    });
  });

  it.each([
    [
      'policy name',
      'uniform',
      { label: 'uniform', slug: 'uniform', policy: 'uniform', params: {}, match: true },
    ],
    ['prefixed name', 'allocation:mola', { label: 'allocation:mola', policy: 'mola', params: {} }],
    [
      'name with JSON',
      'mola:{"shape":"8228","rank":4}',
      { policy: 'mola', params: { shape: '8228', rank: 4 }, slug: 'mola-shape-8228-rank-4' },
    ],
    [
      'object',
      { label: 'MoLA 2468 r4', policy: 'mola', params: { shape: '2468', rank: 4 }, match: false },
      { label: 'MoLA 2468 r4', slug: 'mola-2468-r4', policy: 'mola', match: false },
    ],
    [
      'object without label',
      { policy: 'uniform', params: { experts: 2 } },
      { label: 'uniform {"experts":2}', slug: 'uniform-experts-2' },
    ],
  ])('reads a %s', (_name, entry, expected) => {
    const [row] = parseCompareRows([entry], registry);
    expect(row).toMatchObject(expected);
  });

  it.each([
    ['an empty list', [], 'compare.rows'],
    ['an unknown policy', ['no-such-policy'], 'not registered'],
    ['a parameter the policy rejects', [{ policy: 'uniform', params: { expert: 2 } }], 'expert'],
    ['invalid JSON parameters', ['mola:{shape}'], 'invalid JSON'],
    ['an unknown row field', [{ policy: 'mola', rank: 4 }], 'compare.rows[0].rank'],
    ['a non-boolean match', [{ policy: 'mola', match: 'yes' }], 'compare.rows[0].match'],
    ['a number', [42], 'compare.rows[0]'],
    ['duplicate labels', ['lora', { label: 'LoRA', policy: 'uniform' }], 'same label'],
    [
      'duplicate folder names',
      [
        { label: 'A b', policy: 'uniform' },
        { label: 'a-B', policy: 'mola' },
      ],
      'same folder name',
    ],
  ])('rejects %s', (_name, entries, message) => {
    expect(() => parseCompareRows(entries, registry)).toThrow(ConfigError);
    expect(() => parseCompareRows(entries, registry)).toThrow(message);
  });
});

describe('planRows', () => {
  const registry = builtinRegistry();
  const rows = parseCompareRows(
    [
      'lora',
      'moe-lora',
      'mola-2468',
      'guilomo',
      { label: 'Fixed', policy: 'budgeted', params: { budget: 1000 } },
    ],
    registry,
  );

  it('keeps every policy without matching', () => {
    const planned = planRows(rows, false, MOLA_2468);
    expect(planned.map((row) => row.budget)).toEqual(['own', 'own', 'own', 'own', 'own']);
    expect(planned.map((row) => row.effectivePolicy)).toEqual([
      'uniform',
      'uniform',
      'mola',
      'guilomo',
      'budgeted',
    ]);
  });

  it('wraps matched rows in the budgeted policy', () => {
    const planned = planRows(rows, true, MOLA_2468);
    expect(planned.map((row) => row.budget)).toEqual([
      'own',
      'matched',
      'reference',
      'matched',
      'own',
    ]);
    expect(planned[1]?.effectivePolicy).toBe('budgeted');
    expect(planned[1]?.effectiveParams).toEqual({
      budgetOf: MOLA_2468,
      base: { policy: 'uniform', params: { experts: 8, rank: 8 } },
    });
    expect(planned[2]?.effectivePolicy).toBe('mola');
    expect(planned[4]?.effectiveParams).toEqual({ budget: 1000 });
  });

  it('reads the budget reference', () => {
    expect(
      readBudgetReference({ policy: 'allocation:mola', params: { shape: '2468' } }, registry),
    ).toEqual(MOLA_2468);
    expect(() => readBudgetReference({ policy: 'nope' }, registry)).toThrow(
      'compare.budgetOf.policy',
    );
    expect(() => readBudgetReference({ policy: 'mola', shape: '2468' }, registry)).toThrow(
      'compare.budgetOf.shape',
    );
  });
});

describe('helpers', () => {
  it.each([
    ['MoLA 2468', 'mola-2468'],
    ['  --GuiLoMo!  ', 'guilomo'],
    ['×××', 'row-3'],
  ])('slugOf(%j)', (label, slug) => {
    expect(slugOf(label, 3)).toBe(slug);
  });

  it('canonicalJson ignores key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [1, { e: 3, f: 2 }] }, b: 1 }),
    );
  });
});

describe('compare config fields', () => {
  it('uses the main table by default', () => {
    const config = resolveConfig();
    expect(config.compare).toEqual({
      rows: Object.keys(ROW_PRESETS),
      tasks: [],
      seeds: 1,
      matchBudget: false,
      budgetOf: MOLA_2468,
    });
  });

  it.each([
    ['comma-separated names', 'lora, mola-2468,guilomo', ['lora', 'mola-2468', 'guilomo']],
    [
      'a JSON array',
      '["lora",{"policy":"mola","params":{"shape":"8228"}}]',
      ['lora', { policy: 'mola', params: { shape: '8228' } }],
    ],
  ])('reads rows from %s on the command line', (_name, text, rows) => {
    expect(resolveConfig({}, { 'compare.rows': text }).compare.rows).toEqual(rows);
  });

  it('reads row objects from a config file', () => {
    const rows = [{ label: 'MoLA 2468', policy: 'mola', params: { shape: '2468' } }, 'guilomo'];
    expect(resolveConfig({ compare: { rows } }).compare.rows).toEqual(rows);
  });

  it.each([
    ['rows that are not a list', { 'compare.rows': { policy: 'mola' } }, 'compare.rows'],
    ['rows with invalid JSON', { 'compare.rows': '[lora' }, 'JSON array'],
    ['an unknown task', { 'compare.tasks': 'openbookqa,mnli' }, 'unknown task'],
    ['a repeated task', { 'compare.tasks': 'cola,mrpc,cola' }, 'more than once'],
    ['zero seeds', { 'compare.seeds': '0' }, 'compare.seeds'],
  ])('rejects %s', (_name, overrides, message) => {
    expect(() => resolveConfig({}, overrides)).toThrow(ConfigError);
    expect(() => resolveConfig({}, overrides)).toThrow(message);
  });
});

function plannedRow(slug: string, label: string): PlannedRow {
  return {
    label,
    slug,
    policy: 'uniform',
    params: {},
    match: true,
    budget: 'own',
    effectivePolicy: 'uniform',
    effectiveParams: {},
  };
}

function cell(
  task: string,
  row: PlannedRow,
  seed: number,
  accuracy: number,
  parameters: number,
): CellRecord {
  const result = {
    task,
    row: row.label,
    slug: row.slug,
    seed,
    trainableParameters: parameters,
    allocation: { modules: 2, experts: 4, meanRank: 2 },
    evaluation: {
      task,
      scoring: 'loglikelihood',
      template: 'compact',
      total: 4,
      correct: 1,
      failed: 0,
      truncated: 0,
      accuracy,
    },
    routing: { maxExpertShare: 0.5, routingEntropy: 0.69 },
    finalTrainLoss: 3.5,
    seconds: { search: 0, allocate: 0.1, train: 2, evaluate: 1, total: 3.1 },
  } as unknown as CellResult;
  return { task, row: row.label, slug: row.slug, seed, status: 'computed', result, error: null };
}

describe('summarizeRows', () => {
  const plain = plannedRow('plain', 'Plain, "quoted"');
  const mixed = plannedRow('mixed', 'Mixed');
  const cells: CellRecord[] = [
    cell('mrpc', plain, 1, 0.5, 100),
    cell('mrpc', plain, 2, 0.7, 100),
    cell('cola', plain, 1, 0.6, 100),
    cell('cola', plain, 2, 0.6, 100),
    cell('mrpc', mixed, 1, 0.4, 120),
    cell('mrpc', mixed, 2, 0.4, 130),
    {
      task: 'cola',
      row: 'Mixed',
      slug: 'mixed',
      seed: 1,
      status: 'failed',
      result: null,
      error: 'NumericError: loss became NaN',
    },
  ];
  const [plainSummary, mixedSummary] = summarizeRows([plain, mixed], ['mrpc', 'cola'], cells);

  it('takes the mean and sample std per task', () => {
    expect(plainSummary?.accuracy.mrpc?.mean).toBeCloseTo(0.6, 12);
    expect(plainSummary?.accuracy.mrpc?.std).toBeCloseTo(Math.SQRT2 * 0.1, 12);
    expect(plainSummary?.accuracy.cola).toEqual({ mean: 0.6, std: 0, n: 2 });
    expect(plainSummary?.average).toBeCloseTo(0.6, 12);
    expect(plainSummary?.wallSeconds).toBeCloseTo(12.4, 12);
  });

  it('leaves the average empty when a task has no result', () => {
    expect(mixedSummary?.accuracy.cola).toEqual({ mean: null, std: null, n: 0 });
    expect(mixedSummary?.average).toBeNull();
    expect(mixedSummary?.failedCells).toBe(1);
    expect(mixedSummary?.parameters).toEqual({ mrpc: 125, cola: null });
    expect(mixedSummary?.parametersVary).toEqual({ mrpc: true, cola: false });
  });

  const results: ComparisonResults = {
    format: 'guilomo-compare-results',
    version: 1,
    runFolder: '/tmp/x',
    tasks: ['mrpc', 'cola'],
    seeds: [1, 2],
    matchBudget: false,
    budgetOf: MOLA_2468,
    rows: [plainSummary, mixedSummary].filter((row) => row !== undefined),
    cells,
  };

  it('renders the Markdown table', () => {
    const markdown = comparisonMarkdown(results);
    const lines = markdown.split('\n');
    expect(lines[0]).toBe('| Method | mrpc | cola | Avg. | Trainable params | Wall time (s) |');
    expect(lines[2]).toBe('| Plain, "quoted" | 60.00 ± 14.14 | 60.00 ± 0.00 | 60.00 | 100 | 12 |');
    expect(lines[3]).toBe('| Mixed | 40.00 ± 0.00 | — | — | mrpc: ≈125 | 6 |');
    expect(markdown).toContain('1 cell(s) failed');
    expect(markdown).toContain('| cola | Mixed | 1 | failed: NumericError: loss became NaN |');
  });

  it('renders the CSV table', () => {
    const lines = comparisonCsv(results).trimEnd().split('\n');
    expect(lines[0]).toBe(
      'label,slug,policy,effective_policy,budget,mrpc_accuracy_mean,mrpc_accuracy_std,mrpc_seeds,cola_accuracy_mean,cola_accuracy_std,cola_seeds,average_accuracy,mrpc_trainable_parameters,cola_trainable_parameters,wall_seconds,failed_cells',
    );
    expect(lines[1]?.startsWith('"Plain, ""quoted""",plain,uniform,uniform,own,0.6')).toBe(true);
    expect(lines[2]).toBe('Mixed,mixed,uniform,uniform,own,0.4,0,2,,,0,,125,,6.2,1');
  });
});
