import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, FormatError } from '@guilomo/core';
import { useBackend } from '@guilomo/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planJobs, readBenchModes, stepConfig } from '../src/bench/jobs.js';
import { measureSteps, median } from '../src/bench/measure.js';
import { formatBenchMarkdown } from '../src/bench/report.js';
import type { BenchReport } from '../src/bench/run-bench.js';
import { runBench } from '../src/bench/run-bench.js';
import type { BenchStep } from '../src/bench/steps.js';
import {
  findTorchReference,
  parseTorchOutput,
  torchArguments,
} from '../src/bench/torch-reference.js';
import type { ResolvedConfig } from '../src/index.js';
import { resolveConfig } from '../src/index.js';
import type { Session } from '../src/session.js';
import {
  appRoot,
  makeTempDir,
  openCapturedSession,
  readJson,
  removeTempDir,
  runCli,
  tinyConfig,
} from './helpers.js';

/** A result line in the format of the PyTorch reference's last line. */
const TORCH_LINE = JSON.stringify({
  mode: 'train',
  tokens_per_s: 5667.0,
  ms_per_iter: 361.39,
  threads: 2,
  torch: '1.13.0a0',
  B: 16,
  T: 128,
  ms_min: 349.45,
  ms_max: 555.39,
  peak_rss_mb: 877.7,
  ce_first: 12.7675,
  ce_last: 6.2233,
  blas: 'openblas-openmp/libopenblasp-r0.3.21.so',
});

function benchConfig(out: string, overrides: Record<string, unknown> = {}): ResolvedConfig {
  return tinyConfig(out, {
    'bench.batch': 2,
    'bench.seq': 16,
    'bench.iters': 2,
    'bench.warmup': 1,
    'bench.evalExamples': 3,
    'bench.torch': 'off',
    'eval.maxNewTokens': 2,
    ...overrides,
  });
}

describe('bench modes', () => {
  it('reads modes in order without duplicates', () => {
    const config = resolveConfig({}, { 'bench.modes': 'search2,train,search2' });
    expect(readBenchModes(config)).toEqual(['search2', 'train']);
  });

  it.each([
    ['train,warp', 'unknown mode "warp"'],
    [',', 'is empty'],
  ])('rejects %j', (modes, message) => {
    const config = resolveConfig({}, { 'bench.modes': modes });
    expect(() => readBenchModes(config)).toThrow(ConfigError);
    expect(() => readBenchModes(config)).toThrow(message);
  });

  it('plans two jobs each for scaling and eval', () => {
    const config = resolveConfig({}, { 'bench.experts': 4 });
    expect(planJobs(['train', 'scaling', 'eval'], config)).toEqual([
      { kind: 'step', mode: 'train', experts: 4 },
      { kind: 'step', mode: 'train', experts: 2 },
      { kind: 'step', mode: 'train', experts: 16 },
      { kind: 'eval', scoring: 'loglikelihood' },
      { kind: 'eval', scoring: 'generation' },
    ]);
  });

  it('adapts all seven projections with top-2 routing', () => {
    const config = stepConfig(resolveConfig({}, { 'adapter.targets': 'q', 'bench.rank': 4 }), 16);
    expect(config.adapter.targets).toEqual(['q', 'k', 'v', 'o', 'gate', 'up', 'down']);
    expect(config.adapter.maxExperts).toBe(16);
    expect(config.adapter.maxRank).toBe(4);
    expect(config.adapter.topK).toBe(2);
  });
});

describe('measureSteps', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('reports the median of the timed steps and the live tensors', () => {
    const durations = [50, 5, 9, 7, 8];
    let call = 0;
    const step: BenchStep = {
      mode: 'train',
      run: () => {
        const until = performance.now() + (durations[call] as number);
        while (performance.now() < until) {
          // Busy wait, so that each step takes its planned time.
        }
        call += 1;
        return 10 - call;
      },
      dispose: () => {},
    };
    const measurement = measureSteps(step, { warmup: 1, iters: 4, tokensPerStep: 1000 });
    expect(call).toBe(5);
    expect(measurement.msPerStep).toBeGreaterThanOrEqual(7.5);
    expect(measurement.msPerStep).toBeLessThan(30);
    expect(measurement.tokensPerSecond).toBeCloseTo(1000 / (measurement.msPerStep / 1000), 6);
    expect(measurement.lossFirst).toBe(9);
    expect(measurement.lossLast).toBe(5);
    expect(measurement.liveTensorsAfterSteps).toBe(measurement.liveTensorsAfterWarmup);
  });

  it.each([
    [[3], 3],
    [[4, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
  ])('median of %j is %f', (values, expected) => {
    expect(median(values)).toBe(expected);
  });
});

describe('PyTorch reference', () => {
  it('parses the last JSON line', () => {
    const parsed = parseTorchOutput(`# torch 1.13\nmedian over 10 iters\n${TORCH_LINE}\n`, 'train');
    expect(parsed).toEqual({
      mode: 'train',
      tokensPerSecond: 5667,
      msPerStep: 361.39,
      msMin: 349.45,
      msMax: 555.39,
      peakRssMb: 877.7,
      threads: 2,
      torchVersion: '1.13.0a0',
      blas: 'openblas-openmp/libopenblasp-r0.3.21.so',
      lossFirst: 12.7675,
      lossLast: 6.2233,
    });
  });

  it.each([
    ['no JSON at all\n', 'printed no JSON result line'],
    [`${JSON.stringify({ mode: 'train', tokens_per_s: 'fast' })}\n`, 'no numeric "tokens_per_s"'],
  ])('rejects output %j', (stdout, message) => {
    expect(() => parseTorchOutput(stdout, 'train')).toThrow(FormatError);
    expect(() => parseTorchOutput(stdout, 'train')).toThrow(message);
  });

  it('passes the benchmark settings as flags', () => {
    const args = torchArguments('ref.py', {
      mode: 'search2',
      threads: 2,
      batch: 16,
      seq: 128,
      experts: 8,
      rank: 8,
      topK: 2,
      iters: 10,
      warmup: 3,
      model: 'model.bin',
      clipNorm: 1,
    });
    expect(args.join(' ')).toBe(
      'ref.py --mode search2 --threads 2 --batch 16 --seq 128 --experts 8 --rank 8 --topk 2 --iters 10 --warmup 3 --clip-norm 1 --model model.bin',
    );
  });

  it('is skipped when bench.torch is off', () => {
    const availability = findTorchReference(resolveConfig({}, { 'bench.torch': 'off' }));
    expect(availability).toEqual({ available: false, reason: 'bench.torch is off' });
  });

  it('reports a missing script under auto', () => {
    const availability = findTorchReference(
      resolveConfig({}, { 'bench.torchScript': '/nonexistent/torch_reference.py' }),
    );
    expect(availability.available).toBe(false);
    expect(availability.available ? '' : availability.reason).toContain(
      '/nonexistent/torch_reference.py does not exist',
    );
  });

  it('rejects a missing script under on', () => {
    const config = resolveConfig(
      {},
      { 'bench.torch': 'on', 'bench.torchScript': '/nonexistent/torch_reference.py' },
    );
    expect(() => findTorchReference(config)).toThrow(ConfigError);
    expect(() => findTorchReference(config)).toThrow('bench.torchScript');
  });
});

describe('runBench in this process', () => {
  let dir: string;
  let session: Session;
  let report: BenchReport;

  beforeAll(async () => {
    dir = makeTempDir('bench');
    const config = benchConfig(dir, { 'bench.modes': 'train,search,search2,eval' });
    ({ session } = await openCapturedSession(config, { withoutData: true }));
    report = await runBench(session, { isolate: false, command: 'guilomo bench (test)' });
  }, 120_000);

  afterAll(() => {
    session?.model.dispose();
    removeTempDir(dir);
  });

  it('times each step mode with flat live tensors', () => {
    expect(report.steps.map((row) => row.mode)).toEqual(['train', 'search', 'search2']);
    for (const row of report.steps) {
      expect(row.experts).toBe(8);
      expect(row.ours.iters).toBe(2);
      expect(row.ours.msPerStep).toBeGreaterThan(0);
      expect(row.ours.tokensPerSecond).toBeCloseTo(32 / (row.ours.msPerStep / 1000), 6);
      expect(Number.isFinite(row.ours.lossLast)).toBe(true);
      expect(row.ours.liveTensorsAfterSteps).toBe(row.ours.liveTensorsAfterWarmup);
      expect(row.torch).toBeUndefined();
    }
  });

  it('measures both scoring protocols', () => {
    expect(report.eval.map((entry) => entry.scoring)).toEqual(['loglikelihood', 'generation']);
    for (const entry of report.eval) {
      expect(entry.examples).toBe(3);
      expect(entry.examplesPerSecond).toBeGreaterThan(0);
    }
  });

  it('writes the JSON and Markdown results', () => {
    const written = readJson<BenchReport>(join(dir, 'bench-results.json'));
    expect(written.steps).toHaveLength(3);
    expect(written.torch).toEqual({ ran: false, reason: 'bench.torch is off' });
    const markdown = readFileSync(join(dir, 'bench-results.md'), 'utf8');
    expect(markdown).toBe(formatBenchMarkdown(report));
    expect(markdown).toContain('| train (stage 2) |');
    expect(markdown).toContain('| loglikelihood | 3 |');
  });

  it('rejects a sequence longer than the context', async () => {
    const config = benchConfig(dir, { 'bench.seq': 257 });
    await expect(runBench({ ...session, config }, { isolate: false })).rejects.toThrow(ConfigError);
  });
});

describe('formatBenchMarkdown', () => {
  it('shows the ratio to PyTorch and the scaling cost', () => {
    const step = {
      mode: 'train' as const,
      tokensPerSecond: 4000,
      msPerStep: 512,
      msMin: 500,
      msMax: 530,
      peakRssMb: 700,
      liveTensorsAfterWarmup: 400,
      liveTensorsAfterSteps: 400,
      lossFirst: 12,
      lossLast: 9,
      warmup: 3,
      iters: 10,
    };
    const torch = parseTorchOutput(TORCH_LINE, 'train');
    const markdown = formatBenchMarkdown({
      command: 'guilomo bench',
      startedAt: '',
      finishedAt: '',
      machine: {
        cpu: 'test CPU',
        cores: 2,
        node: 'v20',
        loadAverageStart: [0.5, 0.4, 0.3],
        loadAverageEnd: [0.6, 0.5, 0.4],
      },
      backend: 'wasm',
      blas: { available: true, threads: 2, config: 'OpenBLAS 0.3.21' },
      isolated: true,
      settings: {
        batch: 16,
        seq: 128,
        experts: 8,
        rank: 8,
        topK: 2,
        iters: 10,
        warmup: 3,
        threads: 2,
        seed: 42,
        clipNorm: 1,
      },
      torch: { ran: true },
      steps: [{ mode: 'train', experts: 8, ours: step, torch, ratio: 4000 / 5667 }],
      scaling: {
        rows: [
          { mode: 'train', experts: 2, ours: { ...step, msPerStep: 400 } },
          { mode: 'train', experts: 16, ours: { ...step, msPerStep: 560 } },
        ],
        costRatio: 1.4,
      },
      eval: [
        {
          scoring: 'generation',
          examples: 32,
          seconds: 8,
          examplesPerSecond: 4,
          accuracy: 0,
          maxNewTokens: 24,
        },
      ],
      files: [],
    });
    expect(markdown).toContain(
      '| train (stage 2) | 4,000 | 512.0 | 700 | 5,667 | 361.4 | 878 | 0.71× | 400 → 400 |',
    );
    expect(markdown).toContain('E = 16 costs 1.40× E = 2.');
    expect(markdown).toContain('| generation (≤ 24 new tokens) | 32 | 8.00 | 4.00 |');
    expect(markdown).toContain('0.50 / 0.40 / 0.30 at the start');
  });
});

/** Whether dist/ contains a build of the bench sources that is at least as new as they are. */
function benchBuildIsCurrent(): boolean {
  const worker = join(appRoot, 'dist', 'bench', 'worker.js');
  if (!existsSync(worker)) {
    return false;
  }
  const built = statSync(worker).mtimeMs;
  const sources = join(appRoot, 'src', 'bench');
  return readdirSync(sources).every((name) => statSync(join(sources, name)).mtimeMs <= built);
}

describe.skipIf(!benchBuildIsCurrent())(
  'guilomo bench in worker processes (needs a current dist/ build)',
  () => {
    it('runs each job in its own process and prints the table', () => {
      const dir = makeTempDir('bench-cli');
      try {
        const result = runCli(
          [
            'bench',
            '--run-out',
            dir,
            '--run-backend',
            'wasm',
            '--run-openblas',
            'false',
            '--bench-modes',
            'train',
            '--bench-batch',
            '2',
            '--bench-seq',
            '16',
            '--bench-iters',
            '2',
            '--bench-warmup',
            '1',
            '--bench-torch',
            'off',
            '--quiet',
          ],
          120_000,
        );
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(result.stdout).toContain('| train (stage 2) |');
        const written = readJson<BenchReport>(join(dir, 'bench-results.json'));
        expect(written.isolated).toBe(true);
        expect(written.steps[0]?.ours.liveTensorsAfterSteps).toBe(
          written.steps[0]?.ours.liveTensorsAfterWarmup,
        );
      } finally {
        removeTempDir(dir);
      }
    });
  },
);
