// The comparison as Markdown (a pull request, an issue, a README): the devices, the warnings, and a
// table a figure of each device's best target and every target, with ratios to the baseline.

import { deviceSummary, formatValue, type Comparison } from './compare.js';

const cellText = (text: string) => text.replace(/\|/g, '\\|');

export function comparisonMarkdown(comparison: Comparison): string {
  const { devices, baseline } = comparison;
  const lines = [
    `# wavelet-gpt benchmarks: ${devices.length} device${devices.length > 1 ? 's' : ''}`,
    '',
    `Rates at the median time of repeated runs (higher is better); ratios divide by **${cellText(devices[baseline].name)}**; ~ marks a figure whose quartiles are more than 20 % apart.`,
    '',
    '| device | runtime | CPU | WebGPU adapter | run |',
    '| --- | --- | --- | --- | --- |',
    ...devices.map((d, i) => {
      const s = deviceSummary(d.report);
      return `| ${cellText(d.name)}${i === baseline ? ' (baseline)' : ''} | ${cellText(s.runtime)} | ${cellText(s.cpu)} | ${cellText(s.gpu)} | ${cellText(s.run)} |`;
    }),
    '',
  ];
  if (comparison.warnings.length) lines.push('**Read with care:**', '', ...comparison.warnings.map((w) => `- ${w}`), '');
  for (const figure of comparison.figures) {
    lines.push(`## ${figure.case}: ${figure.figure} (${figure.unit})`, '', `| target | ${devices.map((d) => cellText(d.name)).join(' | ')} |`, `| --- |${' --- |'.repeat(devices.length)}`);
    for (const row of figure.rows) {
      const cells = row.cells.map((cell, i) => {
        if (!cell) return '-';
        const where = row.target === 'best' ? ` ${cell.target}` : '';
        const ratio = cell.ratio === null || i === baseline ? '' : ` (${cell.ratio}x)`;
        return `${formatValue(cell.value)}${cell.noisy ? ' ~' : ''}${where}${ratio}`;
      });
      lines.push(`| ${row.target === 'best' ? '**best**' : row.target} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
