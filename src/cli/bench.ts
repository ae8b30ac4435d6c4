// `wavelet-gpt bench`: the benchmark suite on this machine, progress on stderr, the report as JSON
// (schema/bench-report.schema.json); with --serve, the same suite as a page for a browser. And
// `wavelet-gpt bench-report`: reports of several devices compared in one HTML page and Markdown.

import { readFileSync } from 'node:fs';
import { BACKEND_NAMES, type BackendName } from '../backends/model.js';
import { checkBackendName } from '../backends/registry.js';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ProgressBar } from '../report/progress.js';
import { compareReports, formatValue } from '../bench/compare.js';
import { comparisonHtml } from '../bench/report_html.js';
import { comparisonMarkdown } from '../bench/report_markdown.js';
import { REPORT_FORMAT, runBenchmarks, type BenchReport } from '../bench/runner.js';
import { packageInfo, readPackageJson } from '../io/package_files.js';
import { SUITE_NAMES, type SuiteName } from '../bench/suite.js';
import { validateJson, type JsonSchema } from '../bench/validate.js';
import { flagsUsage, type Flag, type Options } from './options.js';

export const BENCH_FLAGS: readonly Flag[] = [
  { name: 'suite', value: SUITE_NAMES.join('|'), choices: SUITE_NAMES, default: 'quick', help: 'quick: under a minute on a 2-core CPU; standard: larger shapes and the paper model' },
  { name: 'backends', value: 'LIST', help: `comma-separated, from ${BACKEND_NAMES.join(',')} (default every one found; a software WebGPU adapter is timed only when webgpu is named)` },
  { name: 'threads', value: 'LIST|auto', default: 'auto', help: "wasm's thread counts, comma-separated; auto: 1, 2, 4, ... and the processors" },
  { name: 'label', value: 'TEXT', help: "the device's name in reports (default the CPU or GPU and the runtime)" },
  { name: 'out', value: 'FILE', help: 'write the report there (default: print it on stdout)' },
  { name: 'serve', value: '', type: 'boolean', help: 'serve the suite as a page on 127.0.0.1 for a browser (WebGPU and wasm threads); reports it posts are saved to --out' },
  { name: 'port', value: 'N', type: 'integer', min: 0, default: 8931, help: 'the port of --serve (0: any free one)' },
];

export const BENCH_USAGE = flagsUsage(
  'bench [options]',
  'the benchmark suite on every backend and thread count here (wavelet op, matmul, a training step,\ngeneration at batch 1 and 8): medians with their spread and the device, as one JSON report',
  BENCH_FLAGS,
);

export const BENCH_REPORT_FLAGS: readonly Flag[] = [
  { name: 'out', value: 'FILE', default: 'bench-report.html', help: 'the HTML page' },
  { name: 'markdown', value: 'FILE', help: 'also write the comparison as Markdown' },
  { name: 'baseline', value: 'N', type: 'integer', min: 1, default: 1, help: 'the report (1 = the first named) the ratios divide by' },
];

export const BENCH_REPORT_USAGE = flagsUsage(
  'bench-report REPORT.json... [options]',
  'compares bench reports of several devices: one self-contained HTML page with a table and bar\ncharts per figure, ratios to a baseline device, and warnings where runs are not comparable',
  BENCH_REPORT_FLAGS,
);

/** The schema of reports, shipped with the package. */
export function reportSchema(): JsonSchema {
  return readPackageJson<JsonSchema>('schema/bench-report.schema.json');
}

export function readBackendList(text: string | undefined): BackendName[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((name) => name.trim()).filter(Boolean);
  if (!names.length) throw new WaveletInputError('--backends: expected at least one backend name');
  return names.map((name) => checkBackendName(name, '--backends', false) as BackendName);
}

export function readThreadList(text: string): number[] | 'auto' {
  if (text === 'auto') return 'auto';
  return text.split(',').map((part) => {
    const n = Number(part);
    if (part.trim() === '' || !Number.isInteger(n) || n < 1 || n > 256) throw new WaveletInputError(`--threads: expected auto or thread counts from 1 to 256 separated by commas, found '${text}'`);
    return n;
  });
}

export async function runBench(options: Options): Promise<void> {
  const settings = {
    suite: options.string('suite') as SuiteName,
    backends: readBackendList(options.string('backends')),
    threads: readThreadList(options.string('threads')!),
    label: options.string('label'),
  };
  const out = options.string('out');
  if (options.boolean('serve')) {
    const { serveBenchPage } = await import('./bench_serve.js');
    return serveBenchPage({ port: options.number('port'), out, settings });
  }
  let bar: ProgressBar | undefined;
  const report = await runBenchmarks({
    ...settings,
    package: packageInfo(),
    onProgress: ({ done, total, message, result }) => {
      bar ??= new ProgressBar(Math.max(1, total));
      if (result) bar.note(`${`${result.case} ${result.figure}`.padEnd(34)} ${result.target.padEnd(8)} ${formatValue(result.value).padStart(8)} ${result.unit}${result.max_abs_error !== undefined ? `  (max error ${result.max_abs_error})` : ''}`);
      bar.update(done, message);
    },
  });
  bar?.done();
  for (const skipped of report.not_run.filter((n) => n.case === '*' || n.reason.startsWith('failed'))) console.error(`not run: ${skipped.case === '*' ? '' : `${skipped.case} on `}${skipped.target}: ${skipped.reason}`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (out) {
    writeFileAtomic(out, json);
    console.error(`${report.results.length} figures of ${report.device.label} in ${report.duration_s} s: ${out}`);
  } else process.stdout.write(json);
}

/** A report read from `file`, checked against the schema; errors name the file and the field. */
export function readReport(file: string, schema = reportSchema()): BenchReport {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    throw new WaveletInputError(`${file}: ${code === 'ENOENT' ? 'no such file' : code ? (error as Error).message : `not JSON (${(error as Error).message})`}`);
  }
  const format = (value as { format?: unknown } | null)?.format;
  if (format !== REPORT_FORMAT) throw new WaveletInputError(`${file}: not a wavelet-gpt bench report (its 'format' is ${JSON.stringify(format)}, expected "${REPORT_FORMAT}"); wavelet-gpt bench --out FILE writes one`);
  const problems = validateJson(schema, value);
  if (problems.length) throw new WaveletInputError(`${file}: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}`);
  return value as BenchReport;
}

export function runBenchReport(options: Options): void {
  const files = options.positionals;
  if (!files.length) throw new WaveletInputError('bench-report: name at least one report (wavelet-gpt bench --out FILE writes one)');
  const baseline = options.number('baseline');
  if (baseline > files.length) throw new WaveletInputError(`--baseline ${baseline}: expected a report from 1 to ${files.length}`);
  const schema = reportSchema();
  const comparison = compareReports(files.map((file) => ({ file, report: readReport(file, schema) })), baseline - 1);
  const out = options.string('out')!;
  writeFileAtomic(out, comparisonHtml(comparison));
  const markdown = options.string('markdown');
  if (markdown) writeFileAtomic(markdown, comparisonMarkdown(comparison));
  for (const warning of comparison.warnings) console.error(`warning: ${warning}`);
  console.error(`${comparison.devices.length} device(s), ${comparison.figures.length} figures: ${out}${markdown ? ` and ${markdown}` : ''}`);
}
