// Load benchmark of the worker example (examples/worker/worker.mjs) in workerd on 127.0.0.1: the
// latency of short requests on an idle server, and again while long requests run (the example
// gives tokens to the least served request first, so the short ones should stay within 2x of
// idle); and workerd's resident memory after a warm-up and after each of eight bursts of 48
// concurrent requests (16 generate at once): the first burst's growth is kept (wasm memory never
// shrinks) and reused, so the later bursts should add little (workerd's heap is not collected on
// demand); then the same bursts in this process, where the wasm memory, its bytes in use and the
// JS heap after a collection can be read. Prints JSON with the machine. The anchor is the same
// server idle, in the same run.
// usage: npm run build && node --expose-gc --import tsx bench/worker_load.ts [--long 4] [--short 15] [--bursts 8] [--out FILE]

import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkConfig } from '../src/model/config.js';
import { initialParameters, parameterLayout } from '../src/model/parameters.js';
import { emptyOptimizerState } from '../src/kernels/optimizer/ref.js';
import { CharacterTokenizer } from '../src/tokenizers/characters.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { printReport } from './report.js';
import { WaveletModel } from '../src/infer/model.js';
import { median } from './timing.js';
import type { WasmModel } from '../src/backends/wasm/model.js';
import { startWorkerd, workerdBinary } from '../test/bundles/workerd.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const longCount = Number(option('--long', '4'));
const shortCount = Number(option('--short', '15'));
const bursts = Number(option('--bursts', '8'));
const root = resolve('.');
const workerd = workerdBinary(root);
if (!workerd) throw new Error('workerd: npm ci installs it on x64 Linux (optional dependency @cloudflare/workerd-linux-64)');

// The tiny preset's shape (as `npm start` trains), random weights: the cost of a token is what matters.
const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-load-'));
const tokenizer = await CharacterTokenizer.fromCorpus('abcdefghijklmnopqrstuvwxyz .,', 'error');
const config = checkConfig({ vocabSize: tokenizer.vocabSize, context: 64, layers: 2, width: 32, heads: 4, feedForward: 64, headDense: 64, wavelet: { form: 'haar' } });
const layout = parameterLayout(config);
saveCheckpoint(dir, { config, tokenizer: tokenizer.toJSON(), parameters: initialParameters(config, layout, 1), optimizer: emptyOptimizerState('adamw', layout.count), training: { step: 0, samplerState: 0, plateau: null, settings: {} } });
// --heap-mib N: V8's old space in workerd capped at N MiB: growth that is garbage is collected
// there, a leak would end the process.
const heapMiB = option('--heap-mib', '');
const server = await startWorkerd(workerd, root, join(dir, 'site'), join(dir, 'checkpoint.safetensors'), heapMiB ? [`--max-old-space-size=${heapMiB}`] : []);

const rssMiB = () => {
  const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  return +(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024).toFixed(1);
};
const ask = async (maxTokens: number, seed: number) => {
  const started = performance.now();
  const response = await server.post(JSON.stringify({ prompt: 'the sea ', maxTokens, seed }));
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  await response.json();
  return performance.now() - started;
};
const settle = () => new Promise((r) => setTimeout(r, 500));

try {
  for (let i = 0; i < 5; i++) await ask(200, i); // warm-up: the model loaded, the JIT warm
  await settle();
  const warm = rssMiB();
  const SHORT = 20;
  const LONG = 1000;
  const idle: number[] = [];
  for (let i = 0; i < shortCount; i++) idle.push(await ask(SHORT, i));
  const longMs = await ask(LONG, 99);
  // Under load: the long requests run; short ones are sent one after another meanwhile.
  let longDone = 0;
  const longs = Array.from({ length: longCount }, (_, i) => ask(LONG, 100 + i).then((ms) => (longDone++, ms)));
  await new Promise((r) => setTimeout(r, 30));
  const loaded: number[] = [];
  while (loaded.length < shortCount && longDone === 0) loaded.push(await ask(SHORT, loaded.length));
  const longLoaded = await Promise.all(longs);
  const peakAfterLong = rssMiB();
  // Bursts of 48 concurrent requests: 16 generate at once (a decoder each), the others wait. The
  // wasm memory the first burst grows is not given back (wasm memory never shrinks) but is reused:
  // the second burst should add nothing.
  const burst = async () => {
    await Promise.all(Array.from({ length: 48 }, (_, i) => ask(200, i)));
    await settle();
    return rssMiB();
  };
  const afterBursts: number[] = [];
  for (let i = 0; i < bursts; i++) afterBursts.push(await burst());
  const result = {
    benchmark: 'worker_load',
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, workerd: workerd.split('/').slice(-4, -2).join('/') },
    model: { config, parameters: layout.count },
    requests: { short_tokens: SHORT, long_tokens: LONG, long_concurrent: longCount, short_sent: shortCount },
    latency_ms: {
      short_idle_median: +median(idle).toFixed(2),
      short_under_load_median: +median(loaded).toFixed(2),
      short_under_load_max: +Math.max(...loaded).toFixed(2),
      short_under_load_count: loaded.length,
      long_idle: +longMs.toFixed(1),
      long_under_load_median: +median(longLoaded).toFixed(1),
    },
    ratio_short_loaded_to_idle: +(median(loaded) / median(idle)).toFixed(2),
    memory_mib: { after_warm_up: warm, after_long_requests: peakAfterLong, after_bursts_of_48: afterBursts, growth_after_first_burst: +(afterBursts[afterBursts.length - 1] - afterBursts[0]).toFixed(1) },
  };
  // The same bursts in this process, where what the model holds can be read: the wasm memory, the
  // bytes of it in use, and the JS heap after a collection.
  const model = await WaveletModel.load(dir, { backend: 'wasm' });
  const backendModel = (model as unknown as { model: WasmModel }).model;
  const inProcess = [];
  for (let i = 0; i < bursts; i++) {
    await Promise.all(Array.from({ length: 16 }, (_, k) => model.complete('the sea ', { maxTokens: 200, seed: k })));
    global.gc?.();
    inProcess.push({ wasm_bytes: backendModel.memoryBytes(), wasm_in_use: backendModel.memoryInUse(), heap_mib: +(process.memoryUsage().heapUsed / 2 ** 20).toFixed(2) });
  }
  model.dispose();
  printReport({ ...result, node_bursts_of_16: { gc: typeof global.gc === 'function', after_each: inProcess } }, option('--out', ''));
} finally {
  server.stop();
}
