/** Plain SVG charts for the run report: no dependencies, readable in browsers and Markdown viewers. */

const FONT = 'font-family="sans-serif" font-size="11"';

/** Escapes text for SVG and HTML. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Draws a heat map: one row per `rowLabels` entry, one column per `columnLabels` entry, each cell
 * coloured by its value on a white-to-blue scale between `min` and `max` and labelled with it.
 * NaN cells (modules that are not adapted) are grey.
 */
export function heatMapSvg(options: {
  title: string;
  rowLabels: readonly string[];
  columnLabels: readonly string[];
  values: readonly (readonly number[])[];
  min: number;
  max: number;
  digits?: number;
}): string {
  const cell = 44;
  const left = 70;
  const top = 44;
  const width = left + cell * options.columnLabels.length + 20;
  const height = top + cell * options.rowLabels.length + 20;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="16" ${FONT} font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  options.columnLabels.forEach((label, c) => {
    parts.push(`<text x="${left + c * cell + cell / 2}" y="${top - 8}" ${FONT} text-anchor="middle">${escapeXml(label)}</text>`);
  });
  options.rowLabels.forEach((label, r) => {
    parts.push(`<text x="${left - 8}" y="${top + r * cell + cell / 2 + 4}" ${FONT} text-anchor="end">${escapeXml(label)}</text>`);
    options.columnLabels.forEach((_, c) => {
      const value = options.values[r]?.[c] ?? Number.NaN;
      const x = left + c * cell;
      const y = top + r * cell;
      const fill = Number.isNaN(value) ? '#dddddd' : blueScale((value - options.min) / Math.max(options.max - options.min, 1e-9));
      parts.push(`<rect x="${x}" y="${y}" width="${cell - 2}" height="${cell - 2}" fill="${fill}"/>`);
      if (!Number.isNaN(value)) {
        const dark = (value - options.min) / Math.max(options.max - options.min, 1e-9) > 0.55;
        parts.push(
          `<text x="${x + cell / 2 - 1}" y="${y + cell / 2 + 3}" ${FONT} text-anchor="middle" fill="${dark ? 'white' : 'black'}">${value.toFixed(options.digits ?? 1)}</text>`,
        );
      }
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Draws one or more series as lines over the step axis, with min/max labels on the y axis. */
export function lineChartSvg(options: {
  title: string;
  xLabel: string;
  series: readonly { label: string; points: readonly (readonly [number, number])[] }[];
}): string {
  const width = 560;
  const height = 300;
  const left = 60;
  const right = 130;
  const top = 30;
  const bottom = 40;
  const all = options.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="18" ${FONT} font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  if (all.length === 0) {
    parts.push(`<text x="${left}" y="${height / 2}" ${FONT}>no data</text></svg>`);
    return parts.join('\n');
  }
  const xMin = Math.min(...all.map(([x]) => x));
  const xMax = Math.max(...all.map(([x]) => x));
  const yMin = Math.min(...all.map(([, y]) => y));
  const yMax = Math.max(...all.map(([, y]) => y));
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const sx = (x: number) => left + ((x - xMin) / Math.max(xMax - xMin, 1e-9)) * plotW;
  const sy = (y: number) => top + plotH - ((y - yMin) / Math.max(yMax - yMin, 1e-9)) * plotH;
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${left - 4}" y="${top + 4}" ${FONT} text-anchor="end">${yMax.toPrecision(3)}</text>`);
  parts.push(`<text x="${left - 4}" y="${top + plotH}" ${FONT} text-anchor="end">${yMin.toPrecision(3)}</text>`);
  parts.push(`<text x="${left}" y="${top + plotH + 16}" ${FONT}>${xMin}</text>`);
  parts.push(`<text x="${left + plotW}" y="${top + plotH + 16}" ${FONT} text-anchor="end">${xMax}</text>`);
  parts.push(`<text x="${left + plotW / 2}" y="${height - 6}" ${FONT} text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
  options.series.forEach((series, index) => {
    const colour = colours[index % colours.length];
    const points = series.points.filter(([, y]) => Number.isFinite(y));
    if (points.length > 0) {
      const path = points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      parts.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="1.5"/>`);
    }
    parts.push(`<rect x="${width - right + 10}" y="${top + index * 18}" width="12" height="3" fill="${colour}"/>`);
    parts.push(`<text x="${width - right + 26}" y="${top + index * 18 + 5}" ${FONT}>${escapeXml(series.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function blueScale(t: number): string {
  const clamped = Math.min(1, Math.max(0, t));
  const r = Math.round(247 - clamped * (247 - 8));
  const g = Math.round(251 - clamped * (251 - 69));
  const b = Math.round(255 - clamped * (255 - 148));
  return `rgb(${r},${g},${b})`;
}
