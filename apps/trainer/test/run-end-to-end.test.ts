import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '@guilomo/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandRun } from '../src/index.js';
import type { Captured } from './helpers.js';
import {
  makeTempDir,
  openCapturedSession,
  readJson,
  readJsonLines,
  readTensors,
  removeTempDir,
  tinyConfig,
} from './helpers.js';

interface AllocationFile {
  modules: { path: string; ranks: number[]; topK: number }[];
}

const TARGETS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];
const NUM_LAYERS = 5;
const MODEL_DIM = 128;
const HIDDEN_DIM = 352;
const KV_DIM = 64;

/** Input and output width of each projection of the bundled BabyLlama (dim 128, 4 of 8 KV heads). */
const PROJECTION_SHAPES: Record<string, { dIn: number; dOut: number }> = {
  q_proj: { dIn: MODEL_DIM, dOut: MODEL_DIM },
  k_proj: { dIn: MODEL_DIM, dOut: KV_DIM },
  v_proj: { dIn: MODEL_DIM, dOut: KV_DIM },
  o_proj: { dIn: MODEL_DIM, dOut: MODEL_DIM },
  gate_proj: { dIn: MODEL_DIM, dOut: HIDDEN_DIM },
  up_proj: { dIn: MODEL_DIM, dOut: HIDDEN_DIM },
  down_proj: { dIn: HIDDEN_DIM, dOut: MODEL_DIM },
};

function expectedPaths(): string[] {
  const paths: string[] = [];
  for (let layer = 0; layer < NUM_LAYERS; layer++) {
    for (const projection of ['q', 'k', 'v', 'o']) {
      paths.push(`model.layers.${layer}.self_attn.${projection}_proj`);
    }
    for (const projection of ['gate', 'up', 'down']) {
      paths.push(`model.layers.${layer}.mlp.${projection}_proj`);
    }
  }
  return paths;
}

describe('run command end to end', () => {
  let out: string;
  let captured: Captured;
  let tensorsBefore = 0;
  let tensorsAfter = 0;
  let result: Awaited<ReturnType<typeof commandRun>>;

  beforeAll(async () => {
    out = makeTempDir('run');
    await useBackend('wasm');
    tensorsBefore = tf.memory().numTensors;
    const opened = await openCapturedSession(tinyConfig(out, { 'adapter.targets': TARGETS }));
    captured = opened;
    result = await commandRun(opened.session);
    opened.session.model.dispose();
    tensorsAfter = tf.memory().numTensors;
  }, 120_000);

  afterAll(() => {
    removeTempDir(out);
  });

  it('writes every run folder file', () => {
    const files = [
      'config.json',
      'search-log.jsonl',
      'train-log.jsonl',
      'gsv.safetensors',
      'allocation.json',
      'expert.json',
      'rank.json',
      'adapter/adapter_model.safetensors',
      'adapter/adapter_config.json',
      'eval-results.json',
      'eval-predictions.jsonl',
      'report.md',
      'report.html',
    ];
    const missing = files.filter((file) => !existsSync(join(out, file)));
    expect(missing).toEqual([]);
    const figures = readdirSync(join(out, 'figures')).filter((name) => name.endsWith('.svg'));
    expect(figures).toEqual(
      expect.arrayContaining([
        'allocation-experts.svg',
        'allocation-ranks.svg',
        'search-loss.svg',
        'train-loss.svg',
      ]),
    );
    for (const figure of figures) {
      expect(readFileSync(join(out, 'figures', figure), 'utf8')).toMatch(/^<svg[\s>]/);
    }
  });

  it('logs one record per step', () => {
    const search = readJsonLines(join(out, 'search-log.jsonl'));
    const train = readJsonLines(join(out, 'train-log.jsonl'));
    expect(search.map((record) => record.step)).toEqual([1, 2]);
    expect(train.map((record) => record.step)).toEqual([1, 2]);
    for (const record of [...search, ...train]) {
      expect(Number.isFinite(record.loss)).toBe(true);
    }
  });

  it('allocates every target module', () => {
    const allocation = readJson<AllocationFile>(join(out, 'allocation.json'));
    expect(allocation.modules.map((module) => module.path).sort()).toEqual(expectedPaths().sort());
    for (const module of allocation.modules) {
      expect(module.ranks.length).toBeGreaterThanOrEqual(2);
      expect(module.ranks.length).toBeLessThanOrEqual(8);
      expect(module.topK).toBeLessThanOrEqual(module.ranks.length);
      for (const rank of module.ranks) {
        expect(rank).toBeGreaterThanOrEqual(1);
        expect(rank).toBeLessThanOrEqual(8);
      }
    }
  });

  it("writes the authors' expert.json and rank.json keys", () => {
    const experts = readJson<Record<string, unknown>>(join(out, 'expert.json'));
    const ranks = readJson<Record<string, unknown>>(join(out, 'rank.json'));
    const allocation = readJson<AllocationFile>(join(out, 'allocation.json'));
    expect(Object.keys(experts).sort()).toEqual(expectedPaths().sort());
    for (const module of allocation.modules) {
      const count = experts[module.path];
      expect(Number.isInteger(count)).toBe(true);
      expect(count).toBeGreaterThanOrEqual(2);
      expect(count).toBe(module.ranks.length);
    }
    const rankKey =
      /^(model\.layers\.\d+\.(?:self_attn|mlp)\.[a-z]+_proj)\.expertlora_E_vector_(\d+)$/;
    for (const [key, rank] of Object.entries(ranks)) {
      const match = rankKey.exec(key);
      expect(match, `rank.json key ${key}`).not.toBeNull();
      expect(Number.isInteger(rank)).toBe(true);
      expect(rank).toBeGreaterThanOrEqual(1);
      expect(rank).toBeLessThanOrEqual(8);
    }
    // Every expert of every module has a rank entry that matches allocation.json.
    for (const module of allocation.modules) {
      module.ranks.forEach((rank, expert) => {
        expect(ranks[`${module.path}.expertlora_E_vector_${expert}`]).toBe(rank);
      });
    }
  });

  it('exports adapters in PEFT layout', async () => {
    const tensors = await readTensors(join(out, 'adapter', 'adapter_model.safetensors'));
    const config = readJson<Record<string, unknown>>(join(out, 'adapter', 'adapter_config.json'));
    const allocation = readJson<AllocationFile>(join(out, 'allocation.json'));
    expect(config.task_type).toBe('CAUSAL_LM');
    expect(config.lora_alpha).toBe(16);
    let checked = 0;
    for (const module of allocation.modules) {
      const projection = module.path.split('.').pop() as string;
      const { dIn, dOut } = PROJECTION_SHAPES[projection] as { dIn: number; dOut: number };
      const prefix = `base_model.model.${module.path}`;
      if (module.ranks.length === 1 && module.topK === 1) {
        expect(tensors.get(`${prefix}.lora_A.weight`)?.shape).toEqual([module.ranks[0], dIn]);
        expect(tensors.get(`${prefix}.lora_B.weight`)?.shape).toEqual([dOut, module.ranks[0]]);
        checked++;
        continue;
      }
      expect(tensors.get(`${prefix}.moe_gate.weight`)?.shape).toEqual([module.ranks.length, dIn]);
      module.ranks.forEach((rank, expert) => {
        expect(
          tensors.get(`${prefix}.experts.${expert}.lora_A.weight`)?.shape,
          `${prefix} expert ${expert} A`,
        ).toEqual([rank, dIn]);
        expect(
          tensors.get(`${prefix}.experts.${expert}.lora_B.weight`)?.shape,
          `${prefix} expert ${expert} B`,
        ).toEqual([dOut, rank]);
      });
      checked++;
    }
    expect(checked).toBe(NUM_LAYERS * TARGETS.length);
    const rankPattern = config.rank_pattern as Record<string, number>;
    const expertPattern = config.expert_pattern as Record<string, number>;
    for (const module of allocation.modules) {
      expect(expertPattern[module.path]).toBe(module.ranks.length);
      expect(rankPattern[`${module.path}.experts.0`]).toBe(module.ranks[0]);
    }
  });

  it('evaluates the adapted model', () => {
    const evaluation = readJson<Record<string, unknown>>(join(out, 'eval-results.json'));
    expect(evaluation.total).toBe(4);
    expect(evaluation.model).toBe('adapted');
    expect(evaluation.accuracy).toBeGreaterThanOrEqual(0);
    expect(evaluation.accuracy).toBeLessThanOrEqual(1);
    expect(result.total).toBe(4);
    expect(readJsonLines(join(out, 'eval-predictions.jsonl'))).toHaveLength(4);
  });

  it('reports the allocation', () => {
    const markdown = readFileSync(join(out, 'report.md'), 'utf8');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    const allocation = readJson<AllocationFile>(join(out, 'allocation.json'));
    const experts = allocation.modules.reduce((sum, module) => sum + module.ranks.length, 0);
    expect(markdown).toContain('## Allocation');
    expect(markdown).toContain(`${allocation.modules.length} modules, ${experts} experts`);
    expect(markdown).toContain('figures/allocation-experts.svg');
    expect(html).toContain('<h2>Allocation</h2>');
    expect(html).toContain(`${allocation.modules.length} modules, ${experts} experts`);
  });

  it('emits progress for each phase', () => {
    const phases = new Set(captured.events.map((event) => event.phase));
    expect([...phases]).toEqual(expect.arrayContaining(['search', 'train', 'eval']));
    const lastSearch = captured.events.filter((event) => event.phase === 'search').at(-1);
    expect(lastSearch?.step).toBe(2);
    expect(captured.records.filter((record) => record.level === 'error')).toEqual([]);
  });

  it('leaves no tensors alive', () => {
    expect(tensorsAfter).toBe(tensorsBefore);
  });
});
