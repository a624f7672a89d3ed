import type { BenchReport, StepRow } from './run-bench.js';

const MODE_LABELS: Readonly<Record<string, string>> = {
  train: 'train (stage 2)',
  search: 'search (first-order)',
  search2: 'search2 (DARTS)',
};

function fixed(value: number, digits: number): string {
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function loadText(values: readonly number[]): string {
  return values.map((value) => value.toFixed(2)).join(' / ');
}

function stepLine(row: StepRow): string {
  const { ours, torch } = row;
  const cells = [
    MODE_LABELS[row.mode] ?? row.mode,
    fixed(ours.tokensPerSecond, 0),
    fixed(ours.msPerStep, 1),
    fixed(ours.peakRssMb, 0),
    torch === undefined ? '–' : fixed(torch.tokensPerSecond, 0),
    torch === undefined ? '–' : fixed(torch.msPerStep, 1),
    torch === undefined ? '–' : fixed(torch.peakRssMb, 0),
    row.ratio === undefined ? '–' : `${fixed(row.ratio, 2)}×`,
    `${ours.liveTensorsAfterWarmup} → ${ours.liveTensorsAfterSteps}`,
  ];
  return `| ${cells.join(' | ')} |`;
}

/** Formats a benchmark report as Markdown: settings, the side-by-side table, scaling and eval. */
export function formatBenchMarkdown(report: BenchReport): string {
  const { settings, machine } = report;
  const lines: string[] = [];
  lines.push('# guilomo bench', '');
  lines.push(`Command: \`${report.command}\``, '');
  lines.push(
    `Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}. Load average (1/5/15 min) ` +
      `${loadText(machine.loadAverageStart)} at the start and ${loadText(machine.loadAverageEnd)} at the end.`,
  );
  const blas = report.blas.available
    ? `OpenBLAS kernels with ${report.blas.threads ?? '?'} threads (${report.blas.config ?? 'unknown build'})`
    : `no OpenBLAS kernels (${report.blas.reason ?? 'unavailable'})`;
  lines.push(
    `Backend: ${report.backend}, ${blas}. Each job ran ${report.isolated ? 'in its own process' : 'in this process'}.`,
    '',
  );
  lines.push(
    `Settings: batch ${settings.batch} × ${settings.seq} tokens, LoRA-MoE with ${settings.experts} experts of rank ` +
      `${settings.rank} and top-${settings.topK} routing on all 7 projections, AdamW, gradient clip ${settings.clipNorm}, ` +
      `${settings.warmup} warm-up steps, median of ${settings.iters} timed steps, seed ${settings.seed}. ` +
      'Tokens/s counts the batch × length tokens of one training batch per step, for every mode, as the PyTorch reference does.',
    '',
  );
  lines.push(
    report.torch.ran
      ? 'PyTorch reference: ran with the same settings.'
      : `PyTorch reference: skipped (${report.torch.reason ?? 'unavailable'}).`,
    '',
  );

  if (report.steps.length > 0) {
    lines.push(
      '| mode | ours tokens/s | ours ms/step | ours peak RSS MB | PyTorch tokens/s | PyTorch ms/step | PyTorch peak RSS MB | ours / PyTorch | live tensors (warm-up → end) |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const row of report.steps) {
      lines.push(stepLine(row));
    }
    lines.push('');
  }

  if (report.scaling !== undefined) {
    const { rows, costRatio, torchCostRatio } = report.scaling;
    lines.push('## Expert scaling (train step)', '');
    lines.push('| experts | ours ms/step | PyTorch ms/step |', '|---:|---:|---:|');
    for (const row of rows) {
      lines.push(
        `| ${row.experts} | ${fixed(row.ours.msPerStep, 1)} | ${row.torch === undefined ? '–' : fixed(row.torch.msPerStep, 1)} |`,
      );
    }
    const first = rows[0];
    const last = rows[rows.length - 1];
    const torchText =
      torchCostRatio === undefined ? '' : ` (PyTorch: ${fixed(torchCostRatio, 2)}×)`;
    lines.push(
      '',
      `E = ${last?.experts} costs ${fixed(costRatio, 2)}× E = ${first?.experts}${torchText}.`,
      '',
    );
  }

  if (report.eval.length > 0) {
    lines.push('## Evaluation throughput (bundled OpenBookQA)', '');
    lines.push('| scoring | examples | seconds | examples/s |', '|---|---:|---:|---:|');
    for (const entry of report.eval) {
      const label =
        entry.maxNewTokens === undefined
          ? entry.scoring
          : `${entry.scoring} (≤ ${entry.maxNewTokens} new tokens)`;
      lines.push(
        `| ${label} | ${entry.examples} | ${fixed(entry.seconds, 2)} | ${fixed(entry.examplesPerSecond, 2)} |`,
      );
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
