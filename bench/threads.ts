// Benchmark of the wasm backend on several threads: tokens per second of a training step and of
// batch-1 generation at 1, 2, 4, ... threads (up to the processors here), speedup and efficiency
// (speedup / threads) against one thread of the same run, and TensorFlow.js's wasm backend on the
// same model and batch as the anchor (training; its own thread count). Memory: the module's one
// shared memory (the same for every count) and this process's resident memory at each count.
// Prints JSON. The PyTorch CPU anchor (bench/anchors/torch_cpu.py) is run beside it where torch is
// installed: bench/threads.sh runs both in one command.
// usage: node --expose-gc --import tsx bench/threads.ts [--preset paper-text8] [--sizes JSON] [--batch 4] [--threads 1,2,4] [--rounds 3] [--simd auto|plain|relaxed|both] [--no-tfjs] [--out FILE]
// --rounds: the counts are timed in turn, this many times (a model made afresh each time), and each
// count's figures are the medians over its rounds: a shared machine's speed drifts over minutes,
// and timing every count once, one after another, gave one thread and eight different machines.
// Where /proc/stat is readable, each row gives the share of the CPUs' time the hypervisor took
// (steal) while it was timed.
// --simd: which build of the kernels (auto: relaxed SIMD where the engine has it; Node 20 needs
// --experimental-wasm-relaxed-simd); both: each, every thread count.
// --sizes: fields of the preset replaced, e.g. '{"width":768,"heads":12,"feedForward":3072,"headDense":0}'.

import { availableParallelism, cpus } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { printReport } from './report.js';
import { presetConfig } from '../src/model/config.js';
import { initialParameters, parameterLayout } from '../src/model/parameters.js';
import { SeededRandom } from '../src/model/random.js';
import { useTfjsBackend } from '../src/tfjs/backends.js';
import { tfjsLoss, tfjsParameters } from '../src/tfjs/network.js';
import { registerWaveletOp } from '../src/tfjs/wavelet_op.js';
import { WasmModel } from '../src/backends/wasm/model.js';
import { wasmRelaxedSimdSupported } from '../src/runtime/wasm.js';
import { DEFAULT_ADAMW } from '../src/kernels/optimizer/ref.js';
import { median, medianMs } from './timing.js';
import { tfjsAdam, tfjsTrainingStep } from './tfjs_step.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const preset = option('--preset', 'paper-text8');
const B = Number(option('--batch', '4'));
const processors = availableParallelism();
const defaultCounts: number[] = [];
for (let n = 1; n < processors; n *= 2) defaultCounts.push(n);
defaultCounts.push(processors);
const counts = option('--threads', defaultCounts.join(',')).split(',').map(Number);
const rounds = Number(option('--rounds', '3'));
if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`--rounds: expected a positive integer, found '${option('--rounds', '3')}'`);
const config = presetConfig(preset, { form: 'haar' }, JSON.parse(option('--sizes', '{}')));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const layout = parameterLayout(config);
const parameters = initialParameters(config, layout, 1);
const T = config.context;
const random = new SeededRandom(3);
const tokens = () => Int32Array.from({ length: B * T }, () => random.below(config.vocabSize));
const simd = option('--simd', 'auto');
if (!['auto', 'plain', 'relaxed', 'both'].includes(simd)) throw new Error(`--simd: expected auto, plain, relaxed or both, found '${simd}'`);
const relaxed = simd === 'relaxed' || simd === 'both' || (simd === 'auto' && wasmRelaxedSimdSupported());
if (relaxed && !wasmRelaxedSimdSupported()) throw new Error(`--simd ${simd}: this engine has no relaxed SIMD (Node 20: node --experimental-wasm-relaxed-simd)`);
const builds = [
  ...(simd === 'plain' || simd === 'both' || !relaxed ? [{ simd: 'plain', source: readFileSync('build/wavelet.wasm'), threadsSource: readFileSync('build/wavelet-threads.wasm') }] : []),
  ...(relaxed ? [{ simd: 'relaxed', source: readFileSync('build/wavelet-relaxed.wasm'), threadsSource: readFileSync('build/wavelet-threads-relaxed.wasm') }] : []),
];
const mib = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);

interface Row {
  simd: string;
  threads: number;
  stepMs: number;
  trainTokensPerSecond: number;
  tokenMs: number;
  generateTokensPerSecond: number;
  wasmMemoryMiB: number;
  rssAboveStartMiB: number;
  trainSpeedup?: number;
  trainEfficiency?: number;
  generateSpeedup?: number;
  generateEfficiency?: number;
  rssPerExtraThreadMiB?: number;
  /** Each round's ms a step, in the order timed. */
  stepMsByRound: number[];
  /** The hypervisor's share of the CPUs' time while this count was timed (Linux guests). */
  stealPercent?: number;
}

/** Jiffies of all CPUs from /proc/stat: [total, steal], or undefined where it cannot be read. */
function cpuJiffies(): [number, number] | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return fields.length === 8 && fields.every(Number.isFinite) ? [fields.reduce((a, b) => a + b, 0), fields[7]] : undefined;
}

interface Timed {
  stepMs: number[];
  tokenMs: number[];
  memoryBytes: number;
  rss: number;
  jiffies: number;
  steal: number;
}
const timed = new Map<string, Timed>();
gc();
const baseRss = process.memoryUsage().rss;
for (let round = 0; round < rounds; round++) for (const { simd, source, threadsSource } of builds) for (const threads of counts) {
  const model = await WasmModel.create({ config, layout, parameters, optimizer: DEFAULT_ADAMW, threads }, source, threadsSource);
  const batch = tokens();
  const before = cpuJiffies();
  const stepMs = await medianMs(3, () => Promise.all([model.forwardBackward(batch, batch, B, T, 1), model.update(1e-4)]), 1);
  // Generation: one sequence, tokens at positions from the middle of the context on (attention's typical cost).
  const decoder = await model.decoder(1);
  for (let t = 0; t < T / 2; t++) await decoder.step([t % config.vocabSize]);
  const tokenMs = await medianMs(31, async () => {
    if (decoder.position >= T) decoder.reset();
    await decoder.step([1]);
  }, 4);
  const after = cpuJiffies();
  decoder.dispose();
  const key = `${simd} ${threads}`;
  const entry = timed.get(key) ?? { stepMs: [], tokenMs: [], memoryBytes: 0, rss: 0, jiffies: 0, steal: 0 };
  entry.stepMs.push(+stepMs.toFixed(1));
  entry.tokenMs.push(tokenMs);
  entry.memoryBytes = model.memoryBytes();
  entry.rss = Math.max(entry.rss, process.memoryUsage().rss - baseRss);
  if (before && after) {
    entry.jiffies += after[0] - before[0];
    entry.steal += after[1] - before[1];
  }
  timed.set(key, entry);
  model.dispose();
  gc(); // the last count's memory, before the next is measured
  console.error(`round ${round + 1}/${rounds}, ${key} threads: ${stepMs.toFixed(1)} ms a step, ${tokenMs.toFixed(3)} ms a token`);
}
const rows: Row[] = [];
for (const { simd } of builds) for (const threads of counts) {
  const entry = timed.get(`${simd} ${threads}`)!;
  const stepMs = median(entry.stepMs);
  const tokenMs = median(entry.tokenMs);
  rows.push({ simd, threads, stepMs, trainTokensPerSecond: Math.round((B * T) / (stepMs / 1e3)), tokenMs: +tokenMs.toFixed(3), generateTokensPerSecond: Math.round(1e3 / tokenMs), wasmMemoryMiB: mib(entry.memoryBytes), rssAboveStartMiB: mib(entry.rss), stepMsByRound: entry.stepMs, ...(entry.jiffies > 0 ? { stealPercent: +((100 * entry.steal) / entry.jiffies).toFixed(1) } : {}) });
}
for (const row of rows) {
  const one = rows.find((r) => r.simd === row.simd && r.threads === 1); // one thread of the same build
  if (!one) continue; // no 1 among --threads: no speedups to give
  row.trainSpeedup = +(row.trainTokensPerSecond / one.trainTokensPerSecond).toFixed(2);
  row.trainEfficiency = +(row.trainSpeedup / row.threads).toFixed(2);
  row.generateSpeedup = +(row.generateTokensPerSecond / one.generateTokensPerSecond).toFixed(2);
  row.generateEfficiency = +(row.generateSpeedup / row.threads).toFixed(2);
  if (row.threads > 1) row.rssPerExtraThreadMiB = +((row.rssAboveStartMiB - one.rssAboveStartMiB) / (row.threads - 1)).toFixed(1);
}

/** TensorFlow.js's wasm backend, a training step of the same model at batch `batch` (its own threads, XNNPACK). */
async function tfjsWasmStep(batch: number): Promise<Record<string, number>> {
  await registerWaveletOp();
  await useTfjsBackend('wasm');
  const vars = tfjsParameters(layout, parameters, `tfjs${batch}/`);
  const adam = tfjsAdam(1e-4);
  const ids = Int32Array.from({ length: batch * T }, () => random.below(config.vocabSize));
  try {
    const ms = await medianMs(3, () => tfjsTrainingStep(adam, () => tfjsLoss(config, vars, ids, ids, batch, T)), 1);
    return { batch, stepMs: +ms.toFixed(1), trainTokensPerSecond: Math.round((batch * T) / (ms / 1e3)) };
  } finally {
    tf.dispose([...vars.values()]);
  }
}

let tfjsWasm: Record<string, number | string> | undefined;
if (!args.includes('--no-tfjs')) {
  // Its heap fails on the larger batches of the paper's model (an emscripten abort): then batch 1, tokens per second compared.
  for (const batch of B > 1 ? [B, 1] : [B]) {
    try {
      tfjsWasm = await tfjsWasmStep(batch);
      break;
    } catch (error) {
      tfjsWasm = { failed: `batch ${batch}: ${(error as Error).message.split('\n')[0]}` };
    }
  }
}
const ones = rows.filter((r) => r.threads === 1); // the faster build's, where --simd both
const one = ones.length > 0 ? ones.reduce((a, b) => (b.trainTokensPerSecond > a.trainTokensPerSecond ? b : a)) : undefined;
const best = rows.reduce((a, b) => (b.trainTokensPerSecond > a.trainTokensPerSecond ? b : a));
const report = {
  bench: 'threads',
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, processors, node: process.versions.node },
  model: { preset, sizes: { layers: config.layers, width: config.width, heads: (config as { heads: number }).heads, feedForward: (config as { feedForward: number }).feedForward }, wavelet: 'haar', batch: B, context: T, parameters: layout.count },
  wasm: rows,
  tfjsWasm,
  ratios: typeof tfjsWasm?.trainTokensPerSecond === 'number' ? { oneThreadVsTfjsWasm: one ? +(one.trainTokensPerSecond / tfjsWasm.trainTokensPerSecond).toFixed(2) : undefined, bestVsTfjsWasm: +(best.trainTokensPerSecond / tfjsWasm.trainTokensPerSecond).toFixed(2) } : undefined,
  rounds,
  note: 'one shared wasm memory for all threads (wasmMemoryMiB); rssAboveStartMiB is the process (workers included) above its start, the most over the rounds; stepMs and tokenMs: medians over the rounds, the counts timed in turn each round; the same bits at every count (test/backends/threads.test.ts)',
};
printReport(report, option('--out', ''));
process.exit(0);
