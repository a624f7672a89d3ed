import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ProgressEvent } from '@guilomo/core';
import { useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigPath } from '../src/config/fields.js';
import type { CellResult, CompareSummary, ComparisonResults } from '../src/index.js';
import { commandCompare, RunStopped } from '../src/index.js';
import type { Captured } from './helpers.js';
import {
  makeTempDir,
  openCapturedSession,
  readJson,
  readJsonLines,
  removeTempDir,
  tinyConfig,
} from './helpers.js';

/** Plain LoRA (no router, no search) and GuiLoMo (search, then a routed LoRA-MoE). */
const ROWS = ['lora', 'guilomo'];
const TARGETS = ['q', 'v'];
/** BabyLlama: 5 layers, q is 128 → 128 and v is 128 → 64. */
const LORA_PARAMETERS = 5 * 8 * (128 + 128) + 5 * 8 * (128 + 64);

const SETTINGS: Partial<Record<ConfigPath, unknown>> = {
  'adapter.targets': TARGETS,
  'compare.rows': ROWS,
  'train.steps': 2,
  'data.evalLimit': 4,
  'run.checkpointEvery': 100,
};

interface Invocation extends Captured {
  readonly summary: CompareSummary | undefined;
  readonly error: unknown;
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
}

/** Runs `guilomo compare` in-process, counting live tensors around it, and disposes the model. */
async function compareOnce(
  out: string,
  overrides: Partial<Record<ConfigPath, unknown>>,
  resume: boolean,
): Promise<Invocation> {
  const config = tinyConfig(out, { ...SETTINGS, ...overrides });
  const { session, records, events } = await openCapturedSession(config, {
    resume,
    withoutData: true,
  });
  const tensorsBefore = tf.memory().numTensors;
  let summary: CompareSummary | undefined;
  let error: unknown;
  try {
    summary = await commandCompare(session);
  } catch (caught) {
    error = caught;
  }
  const tensorsAfter = tf.memory().numTensors;
  session.model.dispose();
  return { summary, error, records, events, tensorsBefore, tensorsAfter };
}

function phaseSteps(events: readonly ProgressEvent[], phase: string): number[] {
  return events.filter((event) => event.phase === phase).map((event) => event.step);
}

describe('guilomo compare', () => {
  let out: string;
  let stopped: Invocation;
  let resumed: Invocation;
  let repeated: Invocation;
  const cell = (row: string) => join(out, 'cells', 'openbookqa', row, '42');
  const resultMtimes: Record<string, number> = {};
  /** Files as the stopped and the resumed invocations left them. */
  const afterStop = { checkpoint: false, loraResult: false, guilomoFolder: false };
  let resultsAfterResume: ComparisonResults;

  beforeAll(async () => {
    await useBackend('wasm');
    out = makeTempDir('compare');
    // The first cell (LoRA) stops after 1 of its 2 training steps, as an interrupted run would.
    stopped = await compareOnce(out, { 'run.stopAfter': 1 }, false);
    afterStop.checkpoint = existsSync(join(cell('lora'), 'checkpoints', 'train', 'latest.json'));
    afterStop.loraResult = existsSync(join(cell('lora'), 'cell-result.json'));
    afterStop.guilomoFolder = existsSync(cell('guilomo'));
    resumed = await compareOnce(out, {}, true);
    resultsAfterResume = readJson<ComparisonResults>(join(out, 'compare-results.json'));
    for (const row of ROWS) {
      resultMtimes[row] = statSync(join(cell(row), 'cell-result.json')).mtimeMs;
    }
    repeated = await compareOnce(out, {}, false);
  }, 180_000);

  afterAll(() => {
    removeTempDir(out);
  });

  it('stops with the first cell unfinished', () => {
    expect(stopped.error).toBeInstanceOf(RunStopped);
    expect(stopped.error).toMatchObject({ phase: 'train', step: 1, total: 2 });
    expect(afterStop).toEqual({ checkpoint: true, loraResult: false, guilomoFolder: false });
  });

  it('resumes the unfinished cell', () => {
    expect(resumed.error).toBeUndefined();
    expect(resumed.summary).toMatchObject({ cells: 2, computed: 2, reused: 0, failed: 0 });
    const lora = readJson<CellResult>(join(cell('lora'), 'cell-result.json'));
    expect(lora.resumed).toBe(true);
    expect(
      readJsonLines(join(cell('lora'), 'train-log.jsonl')).map((record) => record.step),
    ).toEqual([1, 2]);
    expect(phaseSteps(resumed.events, 'train')).toEqual([1, 2, 0, 1, 2]);
  });

  it('runs the search only for GuiLoMo', () => {
    expect(existsSync(join(cell('guilomo'), 'gsv.safetensors'))).toBe(true);
    expect(existsSync(join(cell('lora'), 'gsv.safetensors'))).toBe(false);
    expect(phaseSteps(resumed.events, 'search')).toEqual([0, 1, 2]);
  });

  it('writes the results files', () => {
    const results = resultsAfterResume;
    expect(results.rows.map((row) => row.label)).toEqual(['LoRA', 'GuiLoMo']);
    expect(results.tasks).toEqual(['openbookqa']);
    expect(results.seeds).toEqual([42]);
    expect(results.cells.map((entry) => entry.status)).toEqual(['computed', 'computed']);
    for (const row of results.rows) {
      expect(row.accuracy.openbookqa?.n, row.label).toBe(1);
      expect(row.average, row.label).toBe(row.accuracy.openbookqa?.mean);
    }
    const csv = readFileSync(join(out, 'compare-results.csv'), 'utf8').trimEnd().split('\n');
    expect(csv).toHaveLength(3);
    const markdown = readFileSync(join(out, 'compare-results.md'), 'utf8');
    expect(markdown).toContain('| LoRA | ');
    expect(markdown).toContain('| GuiLoMo | ');
    // The file contains the last invocation's table, in which both cells were reused.
    expect(markdown).toContain(repeated.summary?.markdown ?? 'missing');
  });

  it('keeps parameters and routing health per cell', () => {
    const lora = readJson<CellResult>(join(cell('lora'), 'cell-result.json'));
    const guilomo = readJson<CellResult>(join(cell('guilomo'), 'cell-result.json'));
    expect(lora.trainableParameters).toBe(LORA_PARAMETERS);
    expect(lora.routing).toBeNull();
    expect(lora.allocation).toEqual({ modules: 10, experts: 10, meanRank: 8 });
    expect(guilomo.routing?.maxExpertShare).toBeGreaterThan(0);
    expect(guilomo.routing?.maxExpertShare).toBeLessThanOrEqual(1);
    expect(Number.isFinite(guilomo.routing?.routingEntropy)).toBe(true);
    expect(guilomo.allocation.experts).toBeGreaterThanOrEqual(20);
    for (const result of [lora, guilomo]) {
      expect(result.evaluation.total).toBe(4);
      expect(Number.isFinite(result.finalTrainLoss)).toBe(true);
    }
  });

  it('logs the Markdown table', () => {
    const table = resumed.records.find((record) => record.message.startsWith('Comparison results'));
    expect(table?.message).toContain(
      '| Method | openbookqa | Avg. | Trainable params | Wall time (s) |',
    );
  });

  it('reuses finished cells', () => {
    expect(repeated.error).toBeUndefined();
    expect(repeated.summary).toMatchObject({ cells: 2, computed: 0, reused: 2, failed: 0 });
    expect(phaseSteps(repeated.events, 'train')).toEqual([]);
    expect(phaseSteps(repeated.events, 'search')).toEqual([]);
    for (const row of ROWS) {
      expect(statSync(join(cell(row), 'cell-result.json')).mtimeMs, row).toBe(resultMtimes[row]);
    }
  });

  it('leaves no tensors alive', () => {
    for (const invocation of [stopped, resumed, repeated]) {
      expect(invocation.tensorsAfter).toBe(invocation.tensorsBefore);
    }
  });
});

describe('guilomo compare with matchBudget and a failing row', () => {
  let out: string;
  let invocation: Invocation;
  let results: ComparisonResults;
  const tooWide = {
    label: 'Too wide',
    policy: 'uniform',
    params: { experts: 2, rank: 64 },
    match: false,
  };

  beforeAll(async () => {
    await useBackend('wasm');
    out = makeTempDir('compare-budget');
    invocation = await compareOnce(
      out,
      {
        'compare.rows': ['moe-lora', 'mola-2468', tooWide],
        'compare.matchBudget': true,
        'train.steps': 1,
        'data.evalLimit': 1,
      },
      false,
    );
    results = readJson<ComparisonResults>(join(out, 'compare-results.json'));
  }, 120_000);

  afterAll(() => {
    removeTempDir(out);
  });

  it('fits the matched row to the reference budget', () => {
    expect(results.rows.map((row) => row.budget)).toEqual(['matched', 'reference', 'own']);
    const [moe, mola] = results.cells.map((entry) => entry.result);
    expect(moe?.policy).toBe('budgeted');
    expect(mola?.policy).toBe('mola');
    const budget = mola?.trainableParameters ?? 0;
    // Unused budget stays below one new expert at rank 1 on the widest module: 2·128 + 128.
    expect(moe?.trainableParameters).toBeLessThanOrEqual(budget);
    expect(moe?.trainableParameters).toBeGreaterThan(budget - (2 * 128 + 128));
    expect(readFileSync(join(out, 'compare-results.md'), 'utf8')).toContain(
      '| MoE-LoRA 8×8 | matched |',
    );
  });

  it('lists a failed cell and goes on', () => {
    expect(invocation.error).toBeUndefined();
    expect(invocation.summary).toMatchObject({ cells: 3, computed: 2, reused: 0, failed: 1 });
    const failed = results.cells[2];
    expect(failed?.status).toBe('failed');
    expect(failed?.result).toBeNull();
    // Rank 64 is above adapter.maxRank = 8, so the allocation does not validate.
    expect(failed?.error).toContain('AllocationValidationError');
    expect(existsSync(join(out, 'cells', 'openbookqa', 'too-wide', '42', 'cell-result.json'))).toBe(
      false,
    );
    expect(
      invocation.records.some(
        (record) => record.level === 'error' && record.message.includes('too-wide/42 failed'),
      ),
    ).toBe(true);
  });

  it('leaves no tensors alive', () => {
    expect(invocation.tensorsAfter).toBe(invocation.tensorsBefore);
  });
});
