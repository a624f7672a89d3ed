import { writeFileAtomic } from '@guilomo/core';
import { join, relative } from 'node:path';
import type { RunDir } from '../run-dir.js';
import { readJsonIfExists, readJsonl } from '../run-dir.js';
import { escapeXml, heatMapSvg, lineChartSvg } from './svg.js';

const PROJECTIONS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;

/** Allocation of one module as the report shows it. */
export interface ReportModule {
  readonly path: string;
  readonly layer: number;
  readonly projection: string;
  readonly ranks: readonly number[];
}

interface LogRecord {
  step: number;
  [key: string]: unknown;
}

/**
 * Writes `report.md` and `report.html` with SVG figures under `figures/`: the allocation heat
 * maps (layer × projection: expert count and mean rank), loss curves of both stages, the search's
 * expert-count and rank trajectories, and the evaluation results. Phases that did not run are
 * left out. Returns the paths written.
 */
export async function writeReport(runDir: RunDir, allocation: readonly ReportModule[] | undefined): Promise<string[]> {
  const sections: { title: string; markdown: string; html: string }[] = [];
  const figures: string[] = [];
  const pending: Promise<void>[] = [];
  const addFigure = (name: string, svg: string, caption: string) => {
    const path = join(runDir.figures, name);
    pending.push(writeFileAtomic(path, svg));
    figures.push(path);
    const rel = relative(runDir.root, path);
    return { markdown: `![${caption}](${rel})\n`, html: `<figure><img src="${escapeXml(rel)}" alt="${escapeXml(caption)}"><figcaption>${escapeXml(caption)}</figcaption></figure>` };
  };

  const config = readJsonIfExists<Record<string, Record<string, unknown>>>(runDir.config);
  if (config !== undefined) {
    const lines = Object.entries(config).map(([section, fields]) => `- **${section}**: ${Object.entries(fields).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`);
    sections.push({ title: 'Configuration', markdown: `${lines.join('\n')}\n`, html: `<ul>${lines.map((l) => `<li>${escapeXml(l.slice(2).replace(/\*\*/g, ''))}</li>`).join('')}</ul>` });
  }

  const evaluation = readJsonIfExists<Record<string, unknown>>(runDir.evaluation);
  if (evaluation !== undefined) {
    const rows = Object.entries(evaluation).filter(([, v]) => typeof v === 'number' || typeof v === 'string');
    const md = `| metric | value |\n| --- | --- |\n${rows.map(([k, v]) => `| ${k} | ${typeof v === 'number' ? round(v) : v} |`).join('\n')}\n`;
    const html = `<table><tr><th>metric</th><th>value</th></tr>${rows.map(([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${escapeXml(typeof v === 'number' ? String(round(v)) : String(v))}</td></tr>`).join('')}</table>`;
    sections.push({ title: 'Evaluation', markdown: md, html });
  }

  if (allocation !== undefined && allocation.length > 0) {
    const layers = Math.max(...allocation.map((m) => m.layer)) + 1;
    const experts = Array.from({ length: layers }, () => PROJECTIONS.map(() => Number.NaN));
    const ranks = Array.from({ length: layers }, () => PROJECTIONS.map(() => Number.NaN));
    for (const module of allocation) {
      const column = PROJECTIONS.indexOf(module.projection as (typeof PROJECTIONS)[number]);
      const expertRow = experts[module.layer];
      const rankRow = ranks[module.layer];
      if (column >= 0 && expertRow !== undefined && rankRow !== undefined) {
        expertRow[column] = module.ranks.length;
        rankRow[column] = module.ranks.reduce((a, b) => a + b, 0) / module.ranks.length;
      }
    }
    const rowLabels = Array.from({ length: layers }, (_, l) => `layer ${l}`);
    const maxExperts = Math.max(...allocation.map((m) => m.ranks.length));
    const maxRank = Math.max(...allocation.flatMap((m) => m.ranks));
    const e = addFigure('allocation-experts.svg', heatMapSvg({ title: 'Experts per module', rowLabels, columnLabels: PROJECTIONS, values: experts, min: 0, max: maxExperts, digits: 0 }), 'Experts per module (layer × projection)');
    const r = addFigure('allocation-ranks.svg', heatMapSvg({ title: 'Mean rank per expert', rowLabels, columnLabels: PROJECTIONS, values: ranks, min: 0, max: maxRank, digits: 1 }), 'Mean expert rank per module (layer × projection)');
    const totalExperts = allocation.reduce((sum, m) => sum + m.ranks.length, 0);
    const summary = `${allocation.length} modules, ${totalExperts} experts, mean rank ${round(allocation.flatMap((m) => m.ranks).reduce((a, b) => a + b, 0) / totalExperts)}.`;
    sections.push({ title: 'Allocation', markdown: `${summary}\n\n${e.markdown}\n${r.markdown}`, html: `<p>${escapeXml(summary)}</p>${e.html}${r.html}` });
  }

  for (const phase of ['search', 'train'] as const) {
    const records = readJsonl<LogRecord>(runDir.log(phase));
    if (records.length === 0) {
      continue;
    }
    const series = (key: string) => records.filter((r) => typeof r[key] === 'number').map((r) => [r.step, r[key] as number] as const);
    const lossKeys = ['loss', 'taskLoss', 'valLoss'].filter((k) => series(k).length > 0);
    const loss = addFigure(`${phase}-loss.svg`, lineChartSvg({ title: `${phase === 'search' ? 'Stage 1 (search)' : 'Stage 2 (training)'} loss`, xLabel: 'step', series: lossKeys.map((k) => ({ label: k, points: series(k) })) }), `${phase} loss`);
    const balance = addFigure(`${phase}-balance.svg`, lineChartSvg({ title: 'Load-balance loss', xLabel: 'step', series: [{ label: 'balanceLoss', points: series('balanceLoss') }] }), `${phase} balance loss`);
    let markdown = `${loss.markdown}\n${balance.markdown}`;
    let html = `${loss.html}${balance.html}`;
    if (phase === 'search') {
      const shape = addFigure('search-allocation.svg', lineChartSvg({ title: 'Mean experts and mean rank during search', xLabel: 'step', series: [{ label: 'meanExperts', points: series('meanExperts') }, { label: 'meanRank', points: series('meanRank') }] }), 'expert count and rank during search');
      markdown += `\n${shape.markdown}`;
      html += shape.html;
    } else {
      const health = addFigure('train-routing.svg', lineChartSvg({ title: 'Routing health', xLabel: 'step', series: [{ label: 'maxExpertShare', points: series('maxExpertShare') }, { label: 'routingEntropy', points: series('routingEntropy') }] }), 'routing health during training');
      markdown += `\n${health.markdown}`;
      html += health.html;
    }
    sections.push({ title: phase === 'search' ? 'Stage 1: GSV search' : 'Stage 2: training', markdown, html });
  }

  const title = 'GuiLoMo run report';
  const markdown = `# ${title}\n\nRun folder: \`${runDir.root}\`\n\n${sections.map((s) => `## ${s.title}\n\n${s.markdown}`).join('\n')}`;
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><style>body{font-family:sans-serif;max-width:960px;margin:2em auto;padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}figure{margin:1em 0}</style></head><body><h1>${title}</h1>${sections.map((s) => `<h2>${escapeXml(s.title)}</h2>${s.html}`).join('')}</body></html>\n`;
  await Promise.all([...pending, writeFileAtomic(runDir.reportMarkdown, markdown), writeFileAtomic(runDir.reportHtml, html)]);
  return [runDir.reportMarkdown, runDir.reportHtml, ...figures];
}

function round(value: number): number {
  return Math.round(value * 10000) / 10000;
}
