// The comparison as one self-contained HTML page (no script, no fetch: it opens from a file or an
// attachment): the devices, the warnings, then for each figure a bar chart of every device's best
// target and a table of every target, each value with its ratio to the baseline device.

import { compareReports, deviceSummary, formatValue, type Comparison, type FigureRows } from './compare.js';
import type { BenchReport } from './runner.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const CASE_TITLES: Record<string, string> = {
  wavelet: 'the wavelet op, forward and backward of each form, beside a copy of the same bytes (batch x time x channels)',
  matmul: 'one product, rows x inner . inner x outer plus a bias, as the linear layers run it',
  train: 'a training step of the preset (forward, backward, AdamW) at the batch size',
  generate: 'one decoded token (KV cache and wavelet state) for a batch of sequences, halfway into the context',
};

/** A horizontal bar per device (its best target), on a log scale where the values span more than 50x. */
function barChart(figure: FigureRows, comparison: Comparison): string {
  const best = figure.rows.find((row) => row.target === 'best')!;
  const bars = best.cells.map((cell, i) => ({ cell, i })).filter((bar) => bar.cell !== null);
  const values = bars.map((bar) => bar.cell!.value);
  const max = Math.max(...values);
  const min = Math.min(...values);
  const log = max / min > 50;
  const labelWidth = 190;
  const plotWidth = 230;
  const rowHeight = 22;
  const height = bars.length * rowHeight + 26;
  const scale = (value: number) => (log ? (Math.log10(value) - Math.log10(min / 2)) / (Math.log10(max) - Math.log10(min / 2)) : value / max) * plotWidth;
  const parts = bars.map(({ cell, i }, row) => {
    const y = row * rowHeight + 4;
    const width = Math.max(1, scale(cell!.value));
    const ratio = cell!.ratio === null ? '' : i === comparison.baseline ? ' (baseline)' : ` (${cell!.ratio}x)`;
    const name = comparison.devices[i].name;
    return `<text x="${labelWidth - 6}" y="${y + 12}" text-anchor="end">${escapeHtml(name.length > 25 ? `${name.slice(0, 24)}…` : name)}</text>` +
      `<rect x="${labelWidth}" y="${y}" width="${width.toFixed(1)}" height="${rowHeight - 6}" fill="${COLORS[i % COLORS.length]}"><title>${escapeHtml(`${name}, ${cell!.target}: ${cell!.value} ${figure.unit} (quartiles ${cell!.low} to ${cell!.high})`)}</title></rect>` +
      `<text x="${labelWidth + width + 4}" y="${y + 12}">${formatValue(cell!.value)} ${cell!.target}${ratio}</text>`;
  });
  const axis = `<text x="${labelWidth}" y="${height - 6}" class="axis">${escapeHtml(figure.unit)}, best target of each device${log ? ', log scale' : ''}</text>`;
  return `<svg class="chart" viewBox="0 0 ${labelWidth + plotWidth + 170} ${height}" width="${labelWidth + plotWidth + 170}" height="${height}" role="img" aria-label="${escapeHtml(`${figure.case} ${figure.figure}`)}">${parts.join('')}${axis}</svg>`;
}

function figureTable(figure: FigureRows, comparison: Comparison): string {
  const head = `<tr><th>target</th>${comparison.devices.map((d, i) => `<th style="border-bottom: 3px solid ${COLORS[i % COLORS.length]}">${escapeHtml(d.name)}</th>`).join('')}</tr>`;
  const body = figure.rows.map((row) => {
    const cells = row.cells.map((cell, i) => {
      if (!cell) return '<td class="none">-</td>';
      const ratio = cell.ratio === null || i === comparison.baseline ? '' : ` <span class="ratio">${cell.ratio}x</span>`;
      const where = row.target === 'best' ? ` <span class="where">${escapeHtml(cell.target)}</span>` : '';
      const noisy = cell.noisy ? ` <span class="noisy" title="quartiles ${cell.low} to ${cell.high}: more than 20 % apart">~</span>` : '';
      return `<td title="quartiles ${cell.low} to ${cell.high}">${formatValue(cell.value)}${noisy}${where}${ratio}</td>`;
    });
    return `<tr${row.target === 'best' ? ' class="best"' : ''}><th>${escapeHtml(row.target)}</th>${cells.join('')}</tr>`;
  });
  return `<table class="figures">${head}${body.join('')}</table>`;
}

export function comparisonHtml(comparison: Comparison): string {
  const { devices, baseline } = comparison;
  const deviceRows = devices.map((d, i) => {
    const s = deviceSummary(d.report);
    return `<tr><td><span class="swatch" style="background:${COLORS[i % COLORS.length]}"></span>${escapeHtml(d.name)}${i === baseline ? ' <b>(baseline)</b>' : ''}</td><td>${escapeHtml(s.runtime)}</td><td>${escapeHtml(s.cpu)}</td><td>${escapeHtml(s.gpu)}</td><td>${escapeHtml(s.run)}</td><td>${escapeHtml(d.file)}</td></tr>`;
  });
  const sections: string[] = [];
  const cases = [...new Set(comparison.figures.map((f) => f.case))];
  for (const id of cases) {
    const figures = comparison.figures.filter((f) => f.case === id);
    sections.push(`<section><h2>${escapeHtml(id)}</h2><p class="what">${escapeHtml(CASE_TITLES[id.split('/')[0]] ?? '')}; ${escapeHtml(figures[0].unit)}, higher is better.</p>`);
    for (const figure of figures) sections.push(`<h3>${escapeHtml(figure.figure)}</h3><div class="figure">${barChart(figure, comparison)}${figureTable(figure, comparison)}</div>`);
    sections.push('</section>');
  }
  const warnings = comparison.warnings.length ? `<div class="warnings"><h2>Read with care</h2><ul>${comparison.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></div>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>wavelet-gpt benchmarks: ${escapeHtml(devices.map((d) => d.name).join(' vs '))}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; } h3 { margin: 1.2em 0 0.3em; font-size: 1em; }
table { border-collapse: collapse; margin: 0.4em 0 1em; } td, th { padding: 3px 10px; text-align: left; border-bottom: 1px solid #eee; vertical-align: top; }
table.figures th { white-space: nowrap; } table.figures td { text-align: right; font-variant-numeric: tabular-nums; } tr.best { background: #f6f8fa; font-weight: 600; }
.ratio { color: #555; font-weight: normal; } .where { color: #888; font-size: 0.85em; font-weight: normal; } .none { color: #bbb; } .noisy { color: #c60; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
.warnings { background: #fff8e5; border: 1px solid #f0d58c; padding: 0.3em 1em; border-radius: 6px; } .warnings h2 { margin-top: 0.5em; border: 0; font-size: 1.1em; }
.figure { display: flex; flex-wrap: wrap; gap: 0 2em; align-items: flex-start; }
svg.chart { font: 12px system-ui, sans-serif; max-width: 100%; height: auto; } svg .axis { fill: #666; }
.what, footer { color: #555; }
</style></head><body>
<h1>wavelet-gpt benchmarks: ${devices.length} device${devices.length > 1 ? 's' : ''}</h1>
<p>Each figure is the rate at the median time of repeated runs after warm-up; hover a value for its quartiles; <span class="noisy">~</span> marks one whose quartiles are more than 20 % apart. Ratios divide by <b>${escapeHtml(devices[baseline].name)}</b>. The best row is each device's fastest target.</p>
<table><tr><th>device</th><th>runtime</th><th>CPU</th><th>WebGPU adapter</th><th>run</th><th>file</th></tr>${deviceRows.join('')}</table>
${warnings}
${sections.join('\n')}
<footer><p>Made by <code>wavelet-gpt bench-report</code> from reports of <code>wavelet-gpt bench</code> (format wavelet-gpt-bench, schema/bench-report.schema.json).</p></footer>
</body></html>
`;
}

/** The HTML page for reports as read from files. */
export function reportsHtml(reports: { file: string; report: BenchReport }[], baseline = 0): string {
  return comparisonHtml(compareReports(reports, baseline));
}
