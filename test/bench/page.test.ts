// The suite outside Node's CLI: the page `bench --serve` serves, run in headless Chromium on WebGPU
// (SwiftShader here) and wasm threads, posting a report the server saves; the same CLI under Deno
// and Bun; and bench-report's page rendered in Chromium. Every report is held to the schema by Ajv.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { BenchReport } from '../../src/bench/runner.js';
import { runtimeBinary } from '../bundles/runtime_binary.js';

const schema = JSON.parse(readFileSync('schema/bench-report.schema.json', 'utf8'));
const valid = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-bench-page-'));
const chromium = '/usr/bin/chromium';

function readValid(file: string): BenchReport {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  assert.ok(valid(report), `${file}: ${JSON.stringify(valid.errors?.slice(0, 3))}`);
  return report as BenchReport;
}

test('the benchmark page runs the suite in Chromium on WebGPU and wasm threads, and the server saves its report', async () => {
  assert.ok(existsSync(chromium), `${chromium}: apt-get install -y chromium (scripts/setup.sh does)`);
  const out = join(dir, 'chromium.json');
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bench', '--serve', '--port', '0', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  server.stderr.on('data', (chunk) => (log += chunk));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let text = '';
      server.stdout.on('data', (chunk) => {
        text += chunk;
        const found = text.match(/http:\/\/127\.0\.0\.1:\d+\//);
        if (found) resolve(found[0]);
      });
      server.once('exit', (code) => reject(new Error(`bench --serve exited (${code}): ${log}`)));
    });
    const { chromium: launcher } = await import('playwright-core');
    const browser = await launcher.launch({ executablePath: chromium, args: ['--no-sandbox', '--enable-unsafe-webgpu'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${url}?backends=wasm,webgpu&label=chromium-test&autostart=1`);
      await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 300_000 });
      assert.is(await page.getAttribute('body', 'data-state'), 'done', await page.textContent('#error') ?? '');
      assert.match((await page.textContent('#saved')) ?? '', /saved by the server/);
      assert.equal(errors, []);
      const rows = await page.locator('#figures tbody tr').count();
      const report = readValid(out);
      assert.is(rows, report.results.length, 'the page shows each figure as it comes');
      assert.is(report.device.runtime.name, 'browser');
      assert.is(report.device.label, 'chromium-test');
      assert.is(report.device.threads_note, null, 'the served page is cross-origin isolated');
      const ids = report.targets.map((t) => t.id);
      assert.ok(ids.includes('webgpu') && ids.includes('wasm-1') && ids.includes('wasm-2'), ids.join(', '));
      assert.ok(report.results.some((r) => r.target === 'webgpu' && r.case === 'train/tiny/b8'), 'WebGPU trained');
      assert.ok(report.results.some((r) => r.target === 'wasm-2' && r.case === 'generate/tiny/b1'), 'wasm generated on 2 threads');
      for (const r of report.results) if (r.max_abs_error !== undefined) assert.ok(r.max_abs_error < 1e-4, `${r.case} ${r.target}: ${r.max_abs_error}`);
    } finally {
      await browser.close();
    }
  } finally {
    server.kill('SIGTERM');
  }
});

for (const [name, path, args] of [
  ['Deno', ['@deno', 'linux-x64-glibc', 'deno'], ['run', '-A']],
  ['Bun', ['@oven', 'bun-linux-x64', 'bin', 'bun'], []],
] as const) {
  test(`the bench command runs in ${name}`, () => {
    const binary = runtimeBinary([...path], name);
    if (!binary) return;
    const out = join(dir, `${name}.json`);
    const run = spawnSync(binary, [...args, 'dist/cli/main.js', 'bench', '--backends', 'wasm', '--threads', '1,2', '--out', out], { encoding: 'utf8', timeout: 120_000 });
    assert.is(run.status, 0, run.stderr);
    const report = readValid(out);
    assert.is(report.device.runtime.name, name.toLowerCase());
    assert.equal(report.targets.map((t) => t.id), ['wasm-1', 'wasm-2']);
    assert.equal(report.not_run.filter((n) => n.reason.startsWith('failed')), []);
  });
}

test('bench-report draws the reports as a page Chromium renders: a bar a device in every chart', async () => {
  const reports = ['chromium', 'Deno', 'Bun'].map((name) => join(dir, `${name}.json`)).filter((file) => existsSync(file));
  const html = join(dir, 'report.html');
  const made = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bench-report', ...reports, '--out', html], { encoding: 'utf8' });
  assert.is(made.status, 0, made.stderr);
  const { chromium: launcher } = await import('playwright-core');
  const browser = await launcher.launch({ executablePath: chromium, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    await page.goto(`file://${html}`);
    const charts = await page.$$eval('svg.chart', (svgs) => svgs.map((svg) => ({ bars: Array.from(svg.querySelectorAll('rect'), (r) => r.getBBox().width), width: svg.getBoundingClientRect().width })));
    assert.ok(charts.length > 0);
    for (const chart of charts) {
      assert.ok(chart.bars.length >= 1 && chart.bars.length <= reports.length, `${chart.bars.length} bars`);
      assert.ok(chart.bars.every((width) => width > 0), 'every bar drawn');
      assert.ok(chart.width <= 1200, 'the chart fits the page');
    }
    assert.equal(errors, []);
    await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
    console.log(`bench-report page: ${html}, screenshot ${join(dir, 'report.png')}`);
  } finally {
    await browser.close();
  }
});

test.run();
