// Reports of several devices side by side: each figure (a case's unit: 'matmul/256x256x256
// product') by target (webgpu, wasm-1, wasm-8, js) and the best of each device, with ratios to a
// baseline device, and warnings wherever two runs are not comparable figure for figure. The HTML
// and Markdown pages (report_html.ts, report_markdown.ts) draw this.

import type { BenchReport, BenchResult } from './runner.js';

export interface Cell {
  value: number;
  low: number;
  high: number;
  target: string;
  /** value over the baseline device's value in the same row; null where the baseline has none. */
  ratio: number | null;
  /** The interquartile range is more than a fifth of the value: a noisy figure. */
  noisy: boolean;
}

export interface Row {
  /** A target's id, or 'best' (each device's fastest target). */
  target: string;
  cells: (Cell | null)[];
}

export interface FigureRows {
  case: string;
  figure: string;
  unit: BenchResult['unit'];
  rows: Row[];
}

export interface ComparedDevice {
  name: string;
  file: string;
  report: BenchReport;
}

export interface Comparison {
  devices: ComparedDevice[];
  baseline: number;
  warnings: string[];
  figures: FigureRows[];
}

const targetOrder = (id: string) => (id === 'best' ? -1 : id === 'webgpu' ? 0 : id === 'js' ? 1e6 : Number(id.split('-')[1] ?? 0));

function cellOf(result: BenchResult): Omit<Cell, 'ratio'> {
  return { value: result.value, low: result.low, high: result.high, target: result.target, noisy: result.high - result.low > 0.2 * result.value };
}

/** The devices' names, unique: the label, and the file where two labels are equal. */
function deviceNames(reports: { file: string; report: BenchReport }[]): string[] {
  return reports.map(({ file, report }, i) => {
    const twins = reports.filter((other) => other.report.device.label === report.device.label).length;
    return twins > 1 ? `${report.device.label} [${file.split('/').pop()}]` : report.device.label || `device ${i + 1}`;
  });
}

function warningsOf(devices: ComparedDevice[]): string[] {
  const warnings: string[] = [];
  const distinct = (of: (r: BenchReport) => string) => new Set(devices.map((d) => of(d.report))).size > 1;
  const list = (of: (r: BenchReport) => string) => devices.map((d) => `${d.name}: ${of(d.report)}`).join('; ');
  const suite = (r: BenchReport) => `${r.suite.name} suite v${r.suite.version}`;
  if (distinct((r) => String(r.suite.version))) warnings.push(`Different suite versions (${list(suite)}): a case of the same name may not be the same work; compare with care.`);
  else if (distinct((r) => r.suite.name)) warnings.push(`Different suites (${list(suite)}): only the cases both ran are compared; the others show blanks.`);
  if (distinct((r) => JSON.stringify(r.suite.timing))) warnings.push(`Different timing settings (${list((r) => JSON.stringify(r.suite.timing))}).`);
  if (distinct((r) => JSON.stringify(r.settings))) warnings.push(`Different settings (${list((r) => `backends ${r.settings.backends.join(',')}, threads ${JSON.stringify(r.settings.threads)}`)}): targets run on one device may be absent on another.`);
  if (distinct((r) => `${r.package.version} ${r.package.commit}`)) warnings.push(`Different builds of wavelet-gpt (${list((r) => `${r.package.version ?? '?'} ${r.package.commit?.slice(0, 12) ?? ''}`.trim())}): kernels may differ.`);
  for (const { name, report } of devices) {
    if (report.device.gpu?.software) warnings.push(`${name}: its WebGPU adapter (${adapterName(report.device.gpu)}) is a software rasteriser on the CPU; its webgpu figures say nothing about a GPU.`);
    const failed = report.not_run.filter((n) => n.reason.startsWith('failed'));
    if (failed.length) warnings.push(`${name}: ${failed.length} case(s) failed: ${failed.map((n) => `${n.case} on ${n.target} (${n.reason})`).join('; ')}.`);
    const wrong = report.results.filter((r) => r.max_abs_error !== undefined && r.max_abs_error > 1e-3);
    if (wrong.length) warnings.push(`${name}: ${wrong.map((r) => `${r.case} ${r.figure} on ${r.target}`).join(', ')} differ from the reference by more than 1e-3.`);
  }
  return warnings;
}

/** Compares reports; `baseline` is the index of the device the ratios divide by. */
export function compareReports(reports: { file: string; report: BenchReport }[], baseline = 0): Comparison {
  if (!reports.length) throw new RangeError('compareReports: no reports');
  if (!Number.isInteger(baseline) || baseline < 0 || baseline >= reports.length) throw new RangeError(`baseline: expected a device index from 0 to ${reports.length - 1}, found ${baseline}`);
  const names = deviceNames(reports);
  const devices = reports.map(({ file, report }, i) => ({ name: names[i], file, report }));
  const figures = new Map<string, FigureRows>();
  for (const { report } of devices) {
    for (const result of report.results) {
      const key = `${result.case}\u0000${result.figure}`;
      if (!figures.has(key)) figures.set(key, { case: result.case, figure: result.figure, unit: result.unit, rows: [] });
    }
  }
  for (const figure of figures.values()) {
    const ofDevice = devices.map(({ report }) => report.results.filter((r) => r.case === figure.case && r.figure === figure.figure));
    const targets = [...new Set(ofDevice.flat().map((r) => r.target))].sort((a, b) => targetOrder(a) - targetOrder(b));
    const rows: Row[] = [];
    const withRatios = (cells: (Omit<Cell, 'ratio'> | null)[]): (Cell | null)[] =>
      cells.map((cell) => cell && { ...cell, ratio: cells[baseline] ? +(cell.value / cells[baseline]!.value).toPrecision(3) : null });
    rows.push({ target: 'best', cells: withRatios(ofDevice.map((results) => (results.length ? cellOf(results.reduce((a, b) => (b.value > a.value ? b : a))) : null))) });
    for (const target of targets) {
      rows.push({ target, cells: withRatios(ofDevice.map((results) => { const found = results.find((r) => r.target === target); return found ? cellOf(found) : null; })) });
    }
    figure.rows = rows;
  }
  return { devices, baseline, warnings: warningsOf(devices), figures: [...figures.values()] };
}

/** '1.23 k', '45.6', '0.012': three significant digits (two below 1), thousands as k and M. */
export function formatValue(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toPrecision(3)} M`;
  if (value >= 1e3) return `${(value / 1e3).toPrecision(3)} k`;
  return value >= 1 ? value.toPrecision(3) : value.toPrecision(2);
}

/** 'nvidia hopper', 'google swiftshader': what an adapter tells of itself. */
function adapterName(gpu: NonNullable<BenchReport['device']['gpu']>): string {
  return [gpu.vendor, gpu.architecture, gpu.device].filter(Boolean).join(' ') || gpu.description || 'unnamed';
}

/** One line about a device for the pages' device table. */
export function deviceSummary(report: BenchReport): { runtime: string; cpu: string; gpu: string; run: string } {
  const d = report.device;
  const runtime = d.runtime.name === 'browser' ? (d.runtime.version ?? 'browser') : `${d.runtime.name} ${d.runtime.version ?? ''}`.trim();
  const gpu = d.gpu ? `${adapterName(d.gpu)}${d.gpu.software ? ' (software)' : ''}` : `none (${d.gpu_note ?? 'not asked'})`;
  const cpu = `${d.cpu.model ?? 'CPU'}, ${d.cpu.logical_cores} logical cores${d.memory_gib ? `, ${d.memory_gib} GiB` : ''}`;
  const run = `${report.suite.name} suite v${report.suite.version}, ${report.created.slice(0, 10)}, wavelet-gpt ${report.package.version ?? '?'}${report.package.commit ? ` (${report.package.commit.slice(0, 12)})` : ''}`;
  return { runtime, cpu, gpu, run };
}
