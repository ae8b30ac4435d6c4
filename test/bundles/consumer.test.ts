// The package as a user gets it: `npm pack`, installed into a fresh project (its dependencies from
// the registry), then used as users do: esbuild and Vite bundle `wavelet-gpt/bundle` for the
// browser with no Node import left to resolve, and the bundled page generates in headless Chromium
// what Node generates; TypeScript checks an importer with skipLibCheck off; require() says why not; the
// source maps carry their sources.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { WaveletModel } from '../../src/infer/model.js';
import { checkConfig } from '../../src/model/config.js';
import { initialParameters, parameterLayout } from '../../src/model/parameters.js';
import { emptyOptimizerState } from '../../src/kernels/optimizer/ref.js';
import { CharacterTokenizer } from '../../src/tokenizers/characters.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';

const root = resolve('.');
const project = mkdtempSync(join(tmpdir(), 'wavelet-gpt-consumer-'));
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
// dist/ is built already (npm ci ran the build): pack it as it stands.
const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', project, '--silent'], root).trim().split('\n').pop()!;
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
npm(['install', '--no-audit', '--no-fund', '--silent', join(project, tarball)], project);

const tokenizer = await CharacterTokenizer.fromCorpus('Call me Ishmael. Some years ago');
const config = checkConfig({ vocabSize: tokenizer.vocabSize, context: 16, layers: 2, width: 16, heads: 2, feedForward: 32, headDense: 0, wavelet: { form: 'haar' } });
const layout = parameterLayout(config);
saveCheckpoint(project, { config, tokenizer: tokenizer.toJSON(), parameters: initialParameters(config, layout, 3), optimizer: emptyOptimizerState('adamw', layout.count), training: { step: 0, samplerState: 0, plateau: null, settings: {} } });
const options = { maxTokens: 20, temperature: 0.9, seed: 5 };
const expected = await (await WaveletModel.load(join(project, 'checkpoint.safetensors'), { backend: 'wasm' })).complete('Call me ', options);

test('installed: the dependencies a library user gets are the runtime ones only', () => {
  const installed = readdirSync(join(project, 'node_modules')).flatMap((name) => (name.startsWith('@') ? readdirSync(join(project, 'node_modules', name)).map((inner) => `${name}/${inner}`) : [name]));
  assert.equal(installed.filter((name) => !name.startsWith('.')).sort(), ['@webgpu/types', 'midi-file', 'wavelet-gpt']);
});

/** Bundles `entry` (in the project) for the browser with esbuild or Vite, serves it with `files`, opens it in Chromium; the body's text once `ready` holds. */
async function runPage(entry: string, files: Record<string, string>, ready: string, bundler: 'esbuild' | 'vite' = 'esbuild', workers: string[] = []): Promise<string> {
  const out = join(project, `out-${bundler}-${entry.replace(/\W/g, '')}`);
  const html = `<!doctype html><body><script type="module" src="/${entry}"></script></body>`;
  let index: string;
  if (bundler === 'vite') {
    index = join(project, `vite-${entry.replace(/\W/g, '')}.html`);
    writeFileSync(index, html);
    const { build: viteBuild } = await import('vite');
    await viteBuild({ root: project, logLevel: 'error', worker: { format: 'es' }, build: { outDir: out, emptyOutDir: true, target: 'es2022', rollupOptions: { input: index } } });
    index = join(out, basename(index));
  } else {
    // A worker's script is an entry of its own, beside the page's (esbuild does not follow `new Worker(new URL(...))`).
    await build({ entryPoints: [entry, ...workers].map((file) => join(project, file)), bundle: true, platform: 'browser', format: 'esm', splitting: true, outdir: out, absWorkingDir: project, logLevel: 'silent' });
    index = join(out, 'index.html');
    writeFileSync(index, html);
  }
  const output = readdirSync(out, { recursive: true }).map(String).filter((f) => f.endsWith('.js'));
  for (const file of output) assert.not.match(readFileSync(join(out, file), 'utf8'), /\bimport\((["'])(node:|webgpu)/, `${file}: a Node import left for the browser`);
  const server = createServer((request, response) => {
    const path = request.url!;
    const file = path === '/' ? index : (files[path] ?? join(out, path));
    if (!existsSync(file)) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': path === '/' ? 'text/html' : path.endsWith('.js') ? 'text/javascript' : 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
    await page.waitForFunction(ready, undefined, { timeout: 30000 }).catch(() => assert.unreachable(errors.join('; ') || 'the page did not finish'));
    assert.equal(errors, []);
    return await page.evaluate(() => document.body.dataset.text ?? document.body.textContent ?? '');
  } finally {
    await browser.close();
    server.close();
  }
}

test('esbuild bundles wavelet-gpt/bundle for the browser, and the page generates in Chromium what Node generates', async () => {
  writeFileSync(join(project, 'bundled.js'), [
    "import { loadModel } from 'wavelet-gpt/bundle';",
    'const model = await loadModel(new URL("/checkpoint.safetensors", location.href), { backend: "wasm" });',
    `document.body.dataset.text = await model.complete('Call me ', ${JSON.stringify(options)});`,
  ].join('\n'));
  const text = await runPage('bundled.js', { '/checkpoint.safetensors': join(project, 'checkpoint.safetensors') }, 'document.body.dataset.text !== undefined');
  assert.is(text, expected);
});

test('the main entry bundles for a browser too (Node-only imports mapped away), and in a page says where the kernels are', async () => {
  // The kernels are files beside dist/ that esbuild does not copy: the page is told to use wavelet-gpt/bundle or pass them.
  writeFileSync(join(project, 'main-entry.js'), [
    "import { WaveletModel } from 'wavelet-gpt';",
    "document.body.dataset.text = await WaveletModel.load('/checkpoint.safetensors', { backend: 'wasm' }).then(() => 'loaded', (e) => e.message);",
  ].join('\n'));
  const text = await runPage('main-entry.js', { '/checkpoint.safetensors': join(project, 'checkpoint.safetensors') }, 'document.body.dataset.text !== undefined');
  assert.match(text, /wasm kernels: .*HTTP 404.*; in a browser or worker, import 'wavelet-gpt\/bundle' \(the kernels inlined\), or pass the \w+\.wasm module's URL or bytes/);
});

test("the README's quick start, as written: train and generate from the command line, in Node, and in a browser page", async () => {
  const section = readFileSync(join(root, 'README.md'), 'utf8').split('## Quick start, as an npm user')[1].split('\n## ')[0];
  const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ language: m[1], code: m[2] }));
  assert.equal(blocks.map((b) => b.language), ['sh', 'js', 'js']);
  writeFileSync(join(project, 'my.txt'), 'It was the best of times, it was the worst of times, it was the age of wisdom. '.repeat(200));
  for (const line of blocks[0].code.trim().split('\n')) {
    if (line === 'npm install wavelet-gpt') continue; // done above, from the packed tarball
    const result = spawnSync('sh', ['-c', line], { cwd: project, encoding: 'utf8' });
    assert.is(result.status, 0, `${line}\n${result.stderr}`);
  }
  assert.ok(existsSync(join(project, 'runs', 'mine', 'checkpoint.safetensors')));
  const oracle = await WaveletModel.load(join(project, 'runs', 'mine'), { backend: 'wasm' });
  const want = await oracle.complete('It was', { maxTokens: 100, seed: 1 });
  oracle.dispose();
  assert.ok(want.length >= 100, 'a hundred characters');
  writeFileSync(join(project, 'generate.mjs'), blocks[1].code);
  const node = spawnSync(process.execPath, ['generate.mjs'], { cwd: project, encoding: 'utf8' });
  assert.is(node.status, 0, node.stderr);
  assert.is(node.stdout, want);
  writeFileSync(join(project, 'page.js'), blocks[2].code);
  // the page through both bundlers the README names
  for (const bundler of ['esbuild', 'vite'] as const) {
    const text = await runPage('page.js', { '/runs/mine/checkpoint.safetensors': join(project, 'runs', 'mine', 'checkpoint.safetensors') }, 'document.body.textContent.length > 0', bundler);
    assert.is(text, want, bundler);
  }
});

/** The code blocks of a README section, by language. */
function readmeBlocks(heading: string): { language: string; code: string }[] {
  const section = readFileSync(join(root, 'README.md'), 'utf8').split(`\n## ${heading}\n`)[1].split('\n## ')[0];
  return [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ language: m[1], code: m[2] }));
}

test("the README's 'Fine-tune a model', as written: a full fine-tune, LoRA adapters generated with and exported merged, and train(options)", () => {
  const blocks = readmeBlocks('Fine-tune a model');
  assert.equal(blocks.map((b) => b.language), ['sh', 'js']);
  writeFileSync(join(project, 'other.txt'), 'It was the season of Light, it was the season of Darkness, it was the spring of hope. '.repeat(150));
  const run = (line: string) => {
    const result = spawnSync('sh', ['-c', line], { cwd: project, encoding: 'utf8' });
    assert.is(result.status, 0, `${line}\n${result.stderr}`);
    return result;
  };
  const outputs = blocks[0].code.trim().split('\n').map(run);
  assert.match(outputs[1].stderr, /training [\d,]+ of [\d,]+ parameters \(\d+ tensors frozen: the base model, under LoRA adapters\)/);
  const adapter = readFileSync(join(project, 'runs', 'lora', 'adapter.safetensors')).length;
  const checkpoint = readFileSync(join(project, 'runs', 'lora', 'checkpoint.safetensors')).length;
  assert.ok(adapter < checkpoint / 10, `the adapters alone (${adapter} bytes) beside the run's checkpoint (${checkpoint} bytes)`);
  assert.ok(existsSync(join(project, 'lora-merged.safetensors')));
  assert.match(outputs[2].stdout, /^It was/);
  for (const dir of ['tuned', 'lora']) {
    const log = JSON.parse(readFileSync(join(project, 'runs', dir, 'log.json'), 'utf8')) as { entries: { loss: number; validationLoss?: number }[] };
    assert.ok(log.entries.at(-1)!.validationLoss! < log.entries[0].loss, `${dir}: the new text's loss falls`);
  }
  writeFileSync(join(project, 'fine-tune.mjs'), blocks[1].code);
  const library = spawnSync(process.execPath, ['fine-tune.mjs'], { cwd: project, encoding: 'utf8' });
  assert.is(library.status, 0, library.stderr);
  assert.match(library.stdout, /^step 50: validation [\d.]+ nats\nstep 100: validation [\d.]+ nats\n$/);
  assert.ok(existsSync(join(project, 'runs', 'lora-js', 'adapter.safetensors')));
});

test("the README's 'Compare devices', as written: two bench reports, valid by the schema the package ships, compared in HTML and Markdown", async () => {
  const blocks = readmeBlocks('Compare devices');
  assert.equal(blocks.map((b) => b.language), ['sh']);
  for (const line of blocks[0].code.trim().split('\n')) {
    const result = spawnSync('sh', ['-c', line], { cwd: project, encoding: 'utf8' });
    assert.is(result.status, 0, `${line}\n${result.stderr}`);
  }
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const valid = new Ajv2020({ strict: true }).compile(JSON.parse(readFileSync(join(project, 'node_modules', 'wavelet-gpt', 'schema', 'bench-report.schema.json'), 'utf8')));
  for (const file of ['laptop.json', 'one-core.json']) {
    const report = JSON.parse(readFileSync(join(project, file), 'utf8')) as { results: unknown[]; package: { version: string } };
    assert.ok(valid(report), `${file}: ${JSON.stringify(valid.errors?.slice(0, 2))}`);
    assert.ok(report.results.length > 0 && report.package.version, file);
  }
  assert.match(readFileSync(join(project, 'compare.html'), 'utf8'), /one core/);
  assert.match(readFileSync(join(project, 'compare.md'), 'utf8'), /\| one core \|/);
});

test("the README's 'In a web page', as written: the model in a Web Worker, through esbuild and Vite, streams what Node generates", async () => {
  const blocks = readmeBlocks('In a web page');
  assert.equal(blocks.map((b) => b.language), ['js', 'js']);
  writeFileSync(join(project, 'model-worker.js'), blocks[0].code);
  writeFileSync(join(project, 'worker-page.js'), blocks[1].code);
  const oracle = await WaveletModel.load(join(project, 'runs', 'mine'), { backend: 'wasm' });
  const want = await oracle.complete('It was', { maxTokens: 100, seed: 1 });
  oracle.dispose();
  for (const bundler of ['esbuild', 'vite'] as const) {
    const text = await runPage('worker-page.js', { '/runs/mine/checkpoint.safetensors': join(project, 'runs', 'mine', 'checkpoint.safetensors') }, `document.body.textContent.length >= ${want.length}`, bundler, ['model-worker.js']);
    assert.is(text, want, bundler);
  }
});

test('TypeScript checks an importer of every entry with skipLibCheck off; require() says to import', () => {
  writeFileSync(join(project, 'use.ts'), [
    "import { WaveletGPT, WaveletModel } from 'wavelet-gpt';",
    "import { loadModel, createWorkerModel, serveModel, clearModelCache } from 'wavelet-gpt/bundle';",
    "import { gpt2Tokenizer } from 'wavelet-gpt/tokenizers';",
    "import { train, type TrainingOptions } from 'wavelet-gpt/node';",
    "const options: TrainingOptions = { init: 'runs/mine', lora: { rank: 4, targets: ['*.fc.w'] }, freeze: ['wte'], signal: new AbortController().signal };",
    'export const loaders: unknown[] = [WaveletGPT, WaveletModel.load, loadModel, gpt2Tokenizer, createWorkerModel, serveModel, clearModelCache, train, options];',
  ].join('\n'));
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, skipLibCheck: false, noEmit: true, lib: ['ES2022', 'DOM'], types: [] }, files: ['use.ts'] }));
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { encoding: 'utf8' });
  assert.is(tsc.status, 0, tsc.stdout + tsc.stderr);
  const required = spawnSync(process.execPath, ['-e', "require('wavelet-gpt')"], { cwd: project, encoding: 'utf8' });
  assert.is.not(required.status, 0);
  assert.match(required.stderr, /wavelet-gpt is an ES module .* await import\('wavelet-gpt'\)/);
});

test('the source maps carry their sources', () => {
  const map = JSON.parse(readFileSync(join(project, 'node_modules', 'wavelet-gpt', 'dist', 'infer', 'model.js.map'), 'utf8')) as { sourcesContent?: string[] };
  assert.ok(map.sourcesContent?.[0]?.includes('export class WaveletModel'), 'sourcesContent holds the TypeScript');
});

test.run();
