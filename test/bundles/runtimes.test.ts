// The portable inference bundles (dist/bundles/, npm run build) run where users named, tested not
// assumed: the Node bundle, Deno and Bun on the browser bundle, a worker in workerd answering HTTP
// on 127.0.0.1 (the three from their npm platform packages), and headless Chromium (Debian's `chromium`, driven by
// playwright-core) opening examples/index.html. Each generates the same text for the same seed as
// WaveletGPT in this process.
import { test } from 'uvu';
import { redrawWeights } from '../helpers.js';
import * as assert from 'uvu/assert';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WaveletGPT } from '../../src/infer/model.js';
import { checkConfig } from '../../src/model/config.js';
import { initialParameters, parameterLayout } from '../../src/model/parameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { startWorkerd } from './workerd.js';
import { runtimeBinary } from './runtime_binary.js';
import { CharacterTokenizer } from '../../src/tokenizers/characters.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { CHECKPOINT_FORMAT } from '../../src/io/checkpoint.js';
import { emptyOptimizerState } from '../../src/kernels/optimizer/ref.js';

const root = resolve('.');
const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-bundles-'));
const tokenizer = await CharacterTokenizer.fromCorpus('Call me Ishmael. Some years ago', 'error');
const config = checkConfig({ vocabSize: tokenizer.vocabSize, context: 24, layers: 2, width: 16, heads: 2, feedForward: 32, headDense: 16, wavelet: { form: 'haar' } });
const layout = parameterLayout(config);
const params = initialParameters(config, layout, 5);
const random = new SeededRandom(6);
redrawWeights(params, layout, random, 0.5);
saveCheckpoint(dir, { config, tokenizer: tokenizer.toJSON(), parameters: params, optimizer: emptyOptimizerState('adamw', layout.count), training: { step: 0, samplerState: 0, plateau: null, settings: {} } });
const checkpoint = join(dir, 'checkpoint.safetensors');
const options = { maxTokens: 30, temperature: 0.9, seed: 7 };
const prompt = 'Call me ';
const expected = await (await WaveletGPT.load(checkpoint, { backend: 'wasm' })).complete(prompt, options);
const bundle = (target: string) => join(root, 'dist', 'bundles', target, 'wavelet-gpt.mjs');

test('the Node bundle generates what WaveletGPT does', async () => {
  const { loadModel } = (await import(pathToFileURL(bundle('node')).href)) as { loadModel: typeof WaveletGPT.load };
  const model = await loadModel(new Uint8Array(readFileSync(checkpoint)));
  assert.is(model.backend, 'wasm');
  assert.is(await model.complete(prompt, options), expected);
});

test('Deno runs the browser bundle and generates the same text, on one thread and on two', () => {
  const deno = runtimeBinary(['@deno', 'linux-x64-glibc', 'deno'], 'Deno');
  if (!deno) return;
  const script = join(dir, 'deno.mjs');
  writeFileSync(script, [
    `import { loadModel } from ${JSON.stringify(pathToFileURL(bundle('browser')).href)};`,
    `const bytes = await Deno.readFile(${JSON.stringify(checkpoint)});`,
    'const model = await loadModel(bytes);',
    'const threaded = await loadModel(bytes, { backend: "wasm", threads: 2 });', // Web Workers from a Blob over one SharedArrayBuffer
    `console.log(JSON.stringify({ backend: model.backend, text: await model.complete(${JSON.stringify(prompt)}, ${JSON.stringify(options)}), threadedText: await threaded.complete(${JSON.stringify(prompt)}, ${JSON.stringify(options)}) }));`,
    'threaded.dispose();',
  ].join('\n'));
  // The script must end once its work is done: a minute's timer for the workers' Blob URL once kept Deno and Bun alive after it.
  const out = execFileSync(deno, ['run', '--allow-read', '--no-prompt', script], { env: { ...process.env, DENO_DIR: join(dir, 'deno-cache'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(JSON.parse(out), { backend: 'wasm', text: expected, threadedText: expected });
});

test('Bun runs the browser bundle and generates the same text, on one thread and on two', () => {
  const bun = runtimeBinary(['@oven', 'bun-linux-x64', 'bin', 'bun'], 'Bun');
  if (!bun) return;
  const script = join(dir, 'bun.mjs');
  writeFileSync(script, [
    `import { loadModel } from ${JSON.stringify(pathToFileURL(bundle('browser')).href)};`,
    `const bytes = new Uint8Array(await Bun.file(${JSON.stringify(checkpoint)}).arrayBuffer());`,
    'const model = await loadModel(bytes);',
    'const threaded = await loadModel(bytes, { backend: "wasm", threads: 2 });',
    `console.log(JSON.stringify({ backend: model.backend, text: await model.complete(${JSON.stringify(prompt)}, ${JSON.stringify(options)}), threadedText: await threaded.complete(${JSON.stringify(prompt)}, ${JSON.stringify(options)}) }));`,
    'threaded.dispose();',
  ].join('\n'));
  const out = execFileSync(bun, ['run', script], { env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(JSON.parse(out), { backend: 'wasm', text: expected, threadedText: expected });
});

test('a worker in workerd answers with generated text, refuses bad or oversized requests with the cap named, serves a short request beside a long one, and keeps serving', async () => {
  const workerd = runtimeBinary(['@cloudflare', 'workerd-linux-64', 'bin', 'workerd'], 'workerd');
  if (!workerd) return;
  const server = await startWorkerd(workerd, root, join(dir, 'worker'), checkpoint);
  const { post } = server;
  try {
    const bad = await post('{"prompt": ');
    assert.is(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /the request body is not JSON/);
    const unknown = await post(JSON.stringify({ prompt: 'Call me Ω' }));
    assert.is(unknown.status, 400);
    assert.match(((await unknown.json()) as { error: string }).error, /"Ω" not in the model's/);
    const good = await post(JSON.stringify({ prompt, ...options }));
    assert.is(good.status, 200, server.log());
    assert.equal(await good.json(), { text: expected, backend: 'wasm' });
    // Requests over the caps, or of the wrong shape, are refused with what is wrong named.
    const refusals: [unknown, number, RegExp][] = [
      [{ prompt: 42 }, 400, /prompt: expected a string, found number/],
      [{ prompt: ['a', 'b'] }, 400, /prompt: expected a string, found an array/],
      [{ prompt, maxTokens: 100000 }, 400, /maxTokens: expected an integer from 1 to 1000, found 100000/],
      [{ prompt, seed: 'x' }, 400, /seed: expected an integer, found "x"/],
      [{ prompt: 'a'.repeat(5000) }, 400, /prompt: 5000 characters; at most 4000/],
      [{ prompt: 'a'.repeat(20000) }, 413, /the body is 200\d\d bytes; at most 16384/],
    ];
    for (const [body, status, message] of refusals) {
      const response = await post(JSON.stringify(body));
      assert.is(response.status, status, JSON.stringify(body).slice(0, 60));
      assert.match(((await response.json()) as { error: string }).error, message);
    }
    // Fair: a short request sent after a long one has started finishes first (tokens go to the least served request).
    const finished: string[] = [];
    const long = post(JSON.stringify({ prompt, maxTokens: 1000, seed: 2 })).then(async (r) => (finished.push('long'), r.status));
    await new Promise((r) => setTimeout(r, 20));
    const short = post(JSON.stringify({ prompt, maxTokens: 5, seed: 3 })).then(async (r) => (finished.push('short'), r.status));
    assert.equal(await Promise.all([long, short]), [200, 200], server.log());
    assert.equal(finished, ['short', 'long']);
    // Requests of any shape (seeded): each an answer with a status of 200, 400 or 413, never a crash; then a good one still answers.
    const random = new SeededRandom(21);
    const statuses = new Map<number, number>();
    for (let n = 0; n < 150; n++) {
      const fields = { prompt: pick(random, [prompt, '', 'Call', 42, null, ['a'], 'Ω', 'a'.repeat(4001)]), maxTokens: pick(random, [1, 3, 0, -1, 1.5, '3', null, 1001]), seed: pick(random, [1, 'x', 2.5, undefined]), temperature: pick(random, [0, 0.9, -1, 'hot', undefined]), topP: pick(random, [0.5, 2, undefined]), topK: pick(random, [3, -2, undefined]) };
      const body = random.next() < 0.2 ? new TextDecoder().decode(Uint8Array.from({ length: random.below(64) }, () => random.below(256))) : JSON.stringify(random.next() < 0.1 ? pick(random, [[], 1, 'x', null]) : fields);
      const response = await post(body);
      const answer = await response.text();
      assert.ok([200, 400, 413].includes(response.status), `${body.slice(0, 80)}: ${response.status} ${answer}`);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    }
    assert.ok((statuses.get(200) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, JSON.stringify([...statuses]));
    const after = await post(JSON.stringify({ prompt, ...options }));
    assert.equal(await after.json(), { text: expected, backend: 'wasm' });
  } finally {
    server.stop();
  }
});

function pick<T>(random: SeededRandom, values: readonly T[]): T {
  return values[random.below(values.length)];
}

/** The pages' checkpoints are served from this run's folder under /test-files/, never written into dist/ (which npm pack ships). */
const TEST_FILES = '/test-files/';

function staticServer(base: string, onRequest?: (path: string) => void, headers: Record<string, string> = {}): Promise<Server> {
  const types: Record<string, string> = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server = createServer((request, response) => {
    onRequest?.(request.url!);
    const url = decodeURIComponent(new URL(request.url!, 'http://x').pathname);
    const [folder, path] = url.startsWith(TEST_FILES) ? [dir, join(dir, url.slice(TEST_FILES.length))] : [base, join(base, url)];
    if (!path.startsWith(folder) || !existsSync(path) || !extname(path)) return response.writeHead(404).end();
    response.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream', ...headers }).end(readFileSync(path));
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

test('headless Chromium opens examples/index.html, streams the text and shows the decoder: wasm, and WebGPU (SwiftShader here)', async () => {
  const chromium = '/usr/bin/chromium';
  assert.ok(existsSync(chromium), `${chromium}: apt-get install -y chromium (scripts/setup.sh does)`);
  const server = await staticServer(root);
  const { chromium: launcher } = await import('playwright-core');
  const browser = await launcher.launch({ executablePath: chromium, args: ['--no-sandbox', '--enable-unsafe-webgpu'] });
  try {
    // The page's defaults: 200 tokens at 0.8, seed 1, from "Call me ".
    const ours = await (await WaveletGPT.load(checkpoint, { backend: 'wasm' })).complete('Call me ', { maxTokens: 200, temperature: 0.8, seed: 1 });
    for (const backend of ['auto', 'webgpu']) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      const { port } = server.address() as { port: number };
      const query = new URLSearchParams({ checkpoint: `${TEST_FILES}checkpoint.safetensors`, autorun: '1', backend });
      await page.goto(`http://127.0.0.1:${port}/examples/index.html?${query}`);
      await page.waitForSelector('#output[data-done="true"], #status[data-error="true"]', { timeout: 60000 });
      assert.is(await page.getAttribute('#status', 'data-error'), null, (await page.textContent('#status')) ?? '');
      const status = (await page.textContent('#status'))!;
      if (backend === 'auto') assert.match(status, /decoder: wasm \(measured fastest here: wasm: [\d.]+ ms a token of this model at batch 1/);
      else assert.match(status, /decoder: webgpu \(asked for in the address/);
      assert.is(await page.textContent('#output'), 'Call me ' + ours, `${backend}: the same text as Node`);
      assert.equal(errors, []);
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
});

/**
 * A page's main-thread long tasks (over 50 ms, as Chromium reports them) and its animation frames,
 * recorded from before its scripts run. Plain text: a function from this file would carry the
 * TypeScript loader's helpers into the page.
 */
const RECORD_FRAMES = `
  window.longTasks = [];
  window.frames_ = 0;
  window.tokenFrames = new Set();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.longTasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: 'longtask', buffered: true });
  requestAnimationFrame(function tick() {
    window.frames_++;
    requestAnimationFrame(tick);
  });`;

test('the example page: the model in a Web Worker keeps the page responsive (no main-thread task over 50 ms while generating, tokens over many frames); the download is cached', async () => {
  // A model slow enough to take many frames: 400 tokens of a 6 x 192 model.
  const big = checkConfig({ vocabSize: tokenizer.vocabSize, context: 64, layers: 6, width: 192, heads: 4, feedForward: 768, headDense: 0, wavelet: { form: 'haar' } });
  const bigLayout = parameterLayout(big);
  const site = mkdtempSync(join(tmpdir(), 'wavelet-gpt-page-'));
  saveCheckpoint(site, { config: big, tokenizer: tokenizer.toJSON(), parameters: initialParameters(big, bigLayout, 5), optimizer: emptyOptimizerState('adamw', bigLayout.count), training: { step: 0, samplerState: 0, plateau: null, settings: {} } });
  copyFileSync(join(site, 'checkpoint.safetensors'), join(dir, 'big.safetensors'));
  const requests: string[] = [];
  const server = await staticServer(root, (path) => requests.push(path));
  const { chromium: launcher } = await import('playwright-core');
  const browser = await launcher.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const figures: Record<string, unknown> = {};
  try {
    const context = await browser.newContext();
    for (const thread of ['main', 'worker']) {
      const page = await context.newPage();
      await page.addInitScript({ content: RECORD_FRAMES });
      const query = new URLSearchParams({ checkpoint: `${TEST_FILES}big.safetensors`, autorun: '1', backend: 'wasm', thread });
      await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/examples/index.html?${query}`);
      await page.fill('#tokens', '400');
      await page.waitForSelector('#output[data-done="true"], #status[data-error="true"]', { timeout: 120000 });
      assert.is(await page.getAttribute('#status', 'data-error'), null, (await page.textContent('#status')) ?? '');
      // The autorun generated 200 tokens while the page loaded; this run, asked for, is the one measured.
      await page.evaluate(() => {
        const w = window as unknown as { longTasks: unknown[]; frames_: number; tokenFrames: Set<number> };
        w.longTasks = [];
        // The frame each change of the output is painted in.
        new MutationObserver(() => w.tokenFrames.add(w.frames_)).observe(document.getElementById('output')!, { childList: true, characterData: true, subtree: true });
      });
      await page.click('#go');
      await page.waitForFunction(() => document.getElementById('output')!.dataset.done === 'true' && Number(document.getElementById('output')!.dataset.finished) > Number(document.getElementById('output')!.dataset.started));
      const measured = await page.evaluate(() => {
        const w = window as unknown as { longTasks: { start: number; duration: number }[]; tokenFrames: Set<number> };
        const { started, finished } = document.getElementById('output')!.dataset;
        const during = w.longTasks.filter((t) => t.start + t.duration >= Number(started) && t.start <= Number(finished));
        return { milliseconds: Number(finished) - Number(started), longestTaskMs: Math.max(0, ...during.map((t) => t.duration)), longTasks: during.length, framesWithTokens: w.tokenFrames.size, status: document.getElementById('status')!.textContent };
      });
      figures[thread] = measured;
      if (thread === 'worker') {
        assert.match(measured.status!, /in a Web Worker/);
        assert.is(measured.longTasks, 0, `no main-thread task over 50 ms while generating: ${JSON.stringify(measured)}`);
        assert.ok(measured.framesWithTokens >= 10, `tokens arrive over many frames: ${JSON.stringify(measured)}`);
      }
      await page.close();
    }
    console.log(`example page, 400 tokens of a 6 x 192 model on wasm: ${JSON.stringify(figures)}`);
    // The checkpoint was downloaded once: both pages share the browser's cache.
    assert.is(requests.filter((path) => path.endsWith('big.safetensors')).length, 1, requests.join(', '));
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/examples/index.html`);
    const cleared = await page.evaluate(async () => {
      const { clearModelCache } = await import('/dist/bundles/browser/wavelet-gpt.mjs' as string);
      return clearModelCache();
    });
    assert.is(cleared, 1, 'clearModelCache removes the entry');
    await page.close();
  } finally {
    await browser.close();
    server.close();
  }
});

test('the example page times wasm on 2 threads where it is cross-origin isolated, and says why not where it is not; the text is the same', async () => {
  // Large enough at batch 1 for threads to share its matmuls out (backends/wasm/parallel.ts).
  const wide = checkConfig({ vocabSize: tokenizer.vocabSize, context: 32, layers: 1, width: 512, heads: 8, feedForward: 2048, headDense: 0, wavelet: { form: 'haar' } });
  const wideLayout = parameterLayout(wide);
  const weights = initialParameters(wide, wideLayout, 8);
  const file = join(dir, 'wide.safetensors');
  writeFileSync(file, writeSafetensors(wideLayout.tensors.map((t) => ({ name: t.name, shape: t.shape, data: weights.subarray(t.offset, t.offset + t.size) })), { format: CHECKPOINT_FORMAT, config: JSON.stringify(wide), tokenizer: JSON.stringify(tokenizer.toJSON()) }));
  const here = await WaveletGPT.load(file, { backend: 'wasm', threads: 1 });
  const ours = await here.complete('Call me ', { maxTokens: 200, temperature: 0.8, seed: 1 });
  here.dispose();
  const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
  const { chromium: launcher } = await import('playwright-core');
  const browser = await launcher.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    for (const isolated of [true, false]) {
      const server = await staticServer(root, undefined, isolated ? isolation : {});
      const page = await browser.newPage();
      const query = new URLSearchParams({ checkpoint: `${TEST_FILES}wide.safetensors`, autorun: '1' });
      await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/examples/index.html?${query}`);
      await page.waitForSelector('#output[data-done="true"], #status[data-error="true"]', { timeout: 120000 });
      const status = (await page.textContent('#status'))!;
      assert.is(await page.getAttribute('#status', 'data-error'), null, status);
      if (isolated) {
        assert.match(status, /wasm on 2 threads/, status);
        assert.not.match(status, /not cross-origin isolated/);
      } else {
        assert.match(status, /wasm on 2 threads not available \(this page is not cross-origin isolated \(it needs the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp\), so SharedArrayBuffer is off\)/, status);
      }
      assert.is(await page.textContent('#output'), 'Call me ' + ours, isolated ? 'isolated' : 'not isolated');
      console.log(`example page, ${isolated ? 'cross-origin isolated' : 'not isolated'}: ${status}`);
      await page.close();
      server.close();
    }
  } finally {
    await browser.close();
  }
});

test.run();
