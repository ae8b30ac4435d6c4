// The benchmark report: the quick suite end to end in Node, its JSON held to the published schema by
// Ajv (an independent validator), our own validator (bench-report's) held to Ajv on broken reports,
// the figures to the identities that define them, the comparison's ratios and warnings, and the
// commands' errors on bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { runBenchmarks, type BenchReport } from '../../src/bench/runner.js';
import { compareReports } from '../../src/bench/compare.js';
import { comparisonHtml } from '../../src/bench/report_html.js';
import { comparisonMarkdown } from '../../src/bench/report_markdown.js';
import { suiteOf } from '../../src/bench/suite.js';
import { summarize } from '../../src/bench/timing.js';
import { validateJson, type JsonSchema } from '../../src/bench/validate.js';
import { processorCount } from '../../src/runtime/wasm_threads.js';

const schema = JSON.parse(readFileSync('schema/bench-report.schema.json', 'utf8')) as JsonSchema;
const ajv = new Ajv2020({ allErrors: true, strict: true });
const ajvValid = ajv.compile(schema);
const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-bench-'));
const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });

let report: BenchReport;
const events: { done: number; total: number }[] = [];

test('the quick suite runs end to end in Node, on wasm at 1, 2, ... threads and the js reference', async () => {
  report = await runBenchmarks({ suite: 'quick', backends: ['wasm', 'js'], label: 'test machine', package: { name: 'wavelet-gpt', version: '0.0.0-test', commit: null }, onProgress: (p) => events.push(p) });
  const processors = await processorCount();
  const expectedThreads = [1, 2, 4, 8, 16, 32, 64].filter((n) => n < processors).concat(processors);
  assert.equal(report.targets.map((t) => t.id), [...expectedThreads.map((n) => `wasm-${n}`), 'js']);
  // Every case on every target is either a figure or a reason, never silently absent.
  for (const target of report.targets) {
    for (const c of suiteOf('quick').cases) {
      const ran = report.results.some((r) => r.case === c.id && r.target === target.id);
      const reason = report.not_run.find((n) => n.case === c.id && n.target === target.id);
      assert.ok(ran !== Boolean(reason), `${c.id} on ${target.id}: ${ran ? 'ran and has a reason' : 'neither ran nor says why'}`);
      assert.ok(!reason?.reason.startsWith('failed'), `${c.id} on ${target.id}: ${reason?.reason}`);
    }
  }
  assert.ok(report.results.some((r) => r.case === 'train/tiny/b8' && r.target === 'js'), 'the reference trains the tiny preset');
  assert.ok(report.not_run.some((n) => n.case === 'matmul/1024x768x768' && n.target === 'js' && /reference/.test(n.reason)));
  // Progress counts up to the total, once a case.
  assert.is(events[events.length - 1].done, events[0].total);
  assert.is(events[0].total, report.results.map((r) => `${r.case} ${r.target}`).filter((k, i, all) => all.indexOf(k) === i).length);
});

test('the report is valid by the published schema (Ajv) and by our validator', () => {
  assert.ok(ajvValid(report), JSON.stringify(ajvValid.errors?.slice(0, 3)));
  assert.equal(validateJson(schema, report), []);
  writeFileSync(join(dir, 'a.json'), JSON.stringify(report));
});

test('each figure is its work over its median time, the quartiles bracket it, and fast kernels match the reference', () => {
  for (const r of report.results) {
    const perMs = r.unit === 'tokens/s' ? 1e-3 : 1e6;
    const expected = r.work / r.time.median_ms / perMs;
    assert.ok(Math.abs(r.value - expected) <= 1e-4 * expected, `${r.case} ${r.figure} ${r.target}: ${r.value} vs ${expected}`);
    assert.ok(r.low <= r.value && r.value <= r.high, `${r.case} ${r.figure} ${r.target}: quartiles ${r.low}..${r.high} around ${r.value}`);
    assert.ok(r.time.min_ms <= r.time.q1_ms && r.time.q3_ms <= r.time.max_ms && r.time.runs >= 3);
    if (r.max_abs_error !== undefined) assert.ok(r.max_abs_error < 1e-4, `${r.case} ${r.target}: max error ${r.max_abs_error}`);
    if (r.anchor) {
      const copy = report.results.find((c) => c.case === r.case && c.target === r.target && c.figure === 'copy')!;
      assert.ok(Math.abs(r.anchor.fraction - r.value / copy.value) < 1e-3);
    }
  }
  assert.ok(report.results.some((r) => r.backend === 'wasm' && r.max_abs_error !== undefined), 'the wasm kernels are checked');
});

test('summarize: median and quartiles by linear interpolation (the numpy default)', () => {
  assert.equal(summarize([5, 1, 4, 2, 3]), { median_ms: 3, q1_ms: 2, q3_ms: 4, min_ms: 1, max_ms: 5, runs: 5 });
  assert.equal(summarize([1, 2, 3, 4]), { median_ms: 2.5, q1_ms: 1.75, q3_ms: 3.25, min_ms: 1, max_ms: 4, runs: 4 });
});

/** A copy of the report changed by `change`. */
const broken = (change: (r: Record<string, any>) => void) => {
  const copy = structuredClone(report) as Record<string, any>;
  change(copy);
  return copy;
};

test('our validator and Ajv agree on broken reports, and ours names the field', () => {
  const cases: [string, (r: Record<string, any>) => void, RegExp][] = [
    ['a missing field', (r) => delete r.device.cpu, /^device\.cpu: missing/],
    ['a wrong type', (r) => (r.duration_s = '3 s'), /^duration_s: expected number, found string/],
    ['a rate of zero', (r) => (r.results[0].value = 0), /^results\[0\]\.value: expected a number > 0/],
    ['an unknown unit', (r) => (r.results[1].unit = 'FLOPS'), /^results\[1\]\.unit: expected one of/],
    ['an extra field', (r) => (r.results[2].speed = 1), /^results\[2\]\.speed: not a field/],
    ['a target id of another shape', (r) => (r.targets[0].id = 'wasm-0'), /^targets\[0\]\.id: expected text matching/],
    ['runs not an integer', (r) => (r.results[0].time.runs = 2.5), /^results\[0\]\.time\.runs: expected integer/],
    ['threads neither auto nor a list', (r) => (r.settings.threads = 4), /^settings\.threads: expected exactly one of 2 forms/],
    ['another format version', (r) => (r.format_version = 2), /^format_version: expected 1/],
    ['a gpu without limits', (r) => (r.device.gpu = { vendor: 'x', architecture: '', device: '', description: '', software: false, features: [], maxStorageBufferBindingSize: 1, maxComputeWorkgroupSizeX: 1 }), /^device\.gpu: expected exactly one/],
  ];
  for (const [what, change, message] of cases) {
    const value = broken(change);
    assert.is(ajvValid(value), false, `Ajv accepted ${what}`);
    const problems = validateJson(schema, value);
    assert.ok(problems.length > 0, `ours accepted ${what}`);
    assert.match(problems[0], message, what);
  }
});

test('our validator refuses a schema keyword it does not check, rather than passing it', () => {
  assert.throws(() => validateJson({ type: 'object', maxProperties: 1 } as JsonSchema, {}), /maxProperties/);
});

test('compareReports: ratios to the baseline, best targets, and warnings where runs differ', () => {
  const slower = broken((r) => {
    r.device.label = 'half speed';
    r.suite.name = 'standard';
    for (const result of r.results) for (const key of ['value', 'low', 'high']) result[key] /= 2;
  }) as BenchReport;
  const comparison = compareReports([{ file: 'a.json', report }, { file: 'b.json', report: slower }], 0);
  assert.is(comparison.figures.length, new Set(report.results.map((r) => `${r.case} ${r.figure}`)).size);
  for (const figure of comparison.figures) {
    for (const row of figure.rows) {
      const [a, b] = row.cells;
      assert.ok(a && b, `${figure.case} ${figure.figure} ${row.target}: both devices have it`);
      assert.is(a!.ratio, 1);
      assert.is(b!.ratio, 0.5);
    }
    const best = figure.rows[0];
    const values = report.results.filter((r) => r.case === figure.case && r.figure === figure.figure).map((r) => r.value);
    assert.is(best.cells[0]!.value, Math.max(...values));
  }
  assert.ok(comparison.warnings.some((w) => /Different suites/.test(w)), comparison.warnings.join('\n'));
  const newer = broken((r) => (r.suite.version = 99)) as BenchReport;
  assert.ok(compareReports([{ file: 'a.json', report }, { file: 'c.json', report: newer }]).warnings.some((w) => /Different suite versions/.test(w)));
  assert.throws(() => compareReports([{ file: 'a.json', report }], 1), /baseline: expected a device index from 0 to 0/);
  // The pages: a chart a figure with a bar a device; the Markdown a table a figure.
  const html = comparisonHtml(comparison);
  assert.is(html.match(/<svg class="chart"/g)?.length, comparison.figures.length);
  assert.is(html.match(/<rect /g)?.length, 2 * comparison.figures.length);
  assert.ok(!/<script/.test(html), 'the page is static');
  const markdown = comparisonMarkdown(comparison);
  assert.is(markdown.match(/^## /gm)?.length, comparison.figures.length);
  assert.match(markdown, /\| \*\*best\*\* \| [^|]+ \| [^|]+ \(0\.5x\) \|/);
});

test('the bench bundle (wavelet-gpt/bench) runs the suite with its kernels inlined and names its build in the report', async () => {
  const bundle = (await import(new URL('../../dist/bundles/node/bench.mjs', import.meta.url).href)) as { runBenchmarks: typeof runBenchmarks };
  const made = await bundle.runBenchmarks({ backends: ['wasm'], threads: [1] });
  assert.ok(ajvValid(made), JSON.stringify(ajvValid.errors?.slice(0, 3)));
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  const stamp = JSON.parse(readFileSync('dist/build-info.json', 'utf8')) as { commit: string | null };
  assert.equal(made.package, { name: 'wavelet-gpt', version: pkg.version, commit: stamp.commit });
  assert.ok(made.results.some((r) => r.target === 'wasm-1' && r.case === 'train/tiny/b8'));
});

test('bench-report writes the HTML and Markdown comparison of report files', () => {
  writeFileSync(join(dir, 'b.json'), JSON.stringify(broken((r) => (r.device.label = 'other'))));
  const made = cli(['bench-report', join(dir, 'a.json'), join(dir, 'b.json'), '--out', join(dir, 'r.html'), '--markdown', join(dir, 'r.md'), '--baseline', '2']);
  assert.is(made.status, 0, made.stderr);
  assert.match(readFileSync(join(dir, 'r.html'), 'utf8'), /other <b>\(baseline\)<\/b>/);
  assert.match(readFileSync(join(dir, 'r.md'), 'utf8'), /^\| other \(baseline\) \|/m);
});

test('bench and bench-report: bad input gets one line naming what is wrong', () => {
  writeFileSync(join(dir, 'not-json.json'), '{ nope');
  writeFileSync(join(dir, 'other.json'), JSON.stringify({ format: 'something-else' }));
  writeFileSync(join(dir, 'damaged.json'), JSON.stringify(broken((r) => (r.results[3].time.median_ms = -1))));
  const cases: [string[], RegExp][] = [
    [['bench', '--backends', 'cuda'], /--backends: expected webgpu, wasm or js, found 'cuda'/],
    [['bench', '--threads', '2,x'], /--threads: expected auto or thread counts from 1 to 256/],
    [['bench', '--suite', 'huge'], /--suite: expected quick or standard, found 'huge'/],
    [['bench-report'], /name at least one report/],
    [['bench-report', join(dir, 'missing.json')], /missing\.json: no such file/],
    [['bench-report', join(dir, 'not-json.json')], /not-json\.json: not JSON/],
    [['bench-report', join(dir, 'other.json')], /other\.json: not a wavelet-gpt bench report \(its 'format' is "something-else"/],
    [['bench-report', join(dir, 'damaged.json')], /damaged\.json: results\[3\]\.time\.median_ms: expected a number >= 0, found -1/],
    [['bench-report', join(dir, 'a.json'), '--baseline', '2'], /--baseline 2: expected a report from 1 to 1/],
  ];
  for (const [args, message] of cases) {
    const run = cli(args);
    assert.is(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message, args.join(' '));
    assert.is(run.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line, no stack`);
  }
});

test.run();
