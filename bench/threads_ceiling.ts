// What more cores can give this engine on this machine at most: N independent one-thread training
// steps at once, one per worker, each with its own model and memory, nothing shared and never
// waiting for each other. Their combined tokens per second against N times one step run alone is
// the efficiency no division of one step's work across N threads can beat here: it is lost to the
// machine (clocks that drop as more cores run, shared caches and memory bandwidth), not to
// synchronisation. bench/threads.ts's efficiency is read against it.
// Prints JSON.
// usage: node --expose-gc [--experimental-wasm-relaxed-simd] --import tsx bench/threads_ceiling.ts [--preset paper-text8] [--sizes JSON] [--batch 4] [--threads 1,2,4] [--steps 3] [--out FILE]

import { availableParallelism, cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { printReport } from './report.js';
import { presetConfig } from '../src/model/config.js';
import { initialParameters, parameterLayout } from '../src/model/parameters.js';
import { SeededRandom } from '../src/model/random.js';
import { WasmModel } from '../src/backends/wasm/model.js';
import { wasmRelaxedSimdSupported } from '../src/runtime/wasm.js';
import { DEFAULT_ADAMW } from '../src/kernels/optimizer/ref.js';
import { median } from './timing.js';

interface Job {
  preset: string;
  sizes: Record<string, number>;
  batch: number;
  steps: number;
  /** Int32Array over a SharedArrayBuffer: [workers ready, go]. */
  gate: Int32Array;
}

/** One worker: builds its model, says it is ready, waits for the go, then times `steps` steps. */
async function runOneStepper({ preset, sizes, batch, steps, gate }: Job): Promise<number[]> {
  const config = presetConfig(preset, { form: 'haar' }, sizes);
  const layout = parameterLayout(config);
  const source = readFileSync(wasmRelaxedSimdSupported() ? 'build/wavelet-relaxed.wasm' : 'build/wavelet.wasm');
  const model = await WasmModel.create({ config, layout, parameters: initialParameters(config, layout, 1), optimizer: DEFAULT_ADAMW, threads: 1 }, source);
  const random = new SeededRandom(3);
  const tokens = Int32Array.from({ length: batch * config.context }, () => random.below(config.vocabSize));
  const step = () => Promise.all([model.forwardBackward(tokens, tokens, batch, config.context, 1), model.update(1e-4)]);
  await step(); // warm-up, alone or not: only the timed steps run together
  Atomics.add(gate, 0, 1);
  Atomics.notify(gate, 0);
  Atomics.wait(gate, 1, 0);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const started = performance.now();
    await step();
    times.push(performance.now() - started);
  }
  model.dispose();
  return times;
}

if (!isMainThread) {
  parentPort!.postMessage(await runOneStepper(workerData as Job));
} else {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  const processors = availableParallelism();
  const defaultCounts: number[] = [];
  for (let n = 1; n < processors; n *= 2) defaultCounts.push(n);
  defaultCounts.push(processors);
  const counts = option('--threads', defaultCounts.join(',')).split(',').map(Number);
  const base = { preset: option('--preset', 'paper-text8'), sizes: JSON.parse(option('--sizes', '{}')) as Record<string, number>, batch: Number(option('--batch', '4')), steps: Number(option('--steps', '3')) };
  for (const n of counts) if (!Number.isInteger(n) || n < 1) throw new Error(`--threads: expected positive integers, found '${option('--threads', '')}'`);
  const config = presetConfig(base.preset, { form: 'haar' }, base.sizes);

  /** Every worker's step times, all started together. */
  async function together(workers: number): Promise<number[][]> {
    const gate = new Int32Array(new SharedArrayBuffer(8));
    const running = Array.from({ length: workers }, () => {
      // From the sources, the worker loads this file through tsx (a bundle is plain JavaScript);
      // V8's flags (relaxed SIMD) are the process's and hold in workers without being passed.
      const url = import.meta.url;
      const worker = url.endsWith('.ts')
        ? new Worker(`import('tsx/esm/api').then((tsx) => tsx.tsImport(${JSON.stringify(url)}, ${JSON.stringify(url)}))`, { eval: true, workerData: { ...base, gate } })
        : new Worker(new URL(url), { workerData: { ...base, gate } });
      return new Promise<number[]>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      }).finally(() => worker.terminate());
    });
    // Polled, not Atomics.wait: a blocked main thread would hold up the workers' start.
    while (Atomics.load(gate, 0) < workers) await new Promise((resolve) => setTimeout(resolve, 5));
    Atomics.store(gate, 1, 1);
    Atomics.notify(gate, 1);
    return Promise.all(running);
  }

  const rows: { workers: number; stepMs: number; slowestWorkerMs: number; tokensPerSecond: number; efficiencyCeiling?: number }[] = [];
  for (const workers of counts) {
    const times = await together(workers);
    const perWorker = times.map(median);
    const stepMs = median(perWorker);
    const tokensPerSecond = perWorker.reduce((sum, ms) => sum + (base.batch * config.context) / (ms / 1e3), 0);
    rows.push({ workers, stepMs: +stepMs.toFixed(1), slowestWorkerMs: +Math.max(...perWorker).toFixed(1), tokensPerSecond: Math.round(tokensPerSecond) });
    console.error(JSON.stringify(rows.at(-1)));
  }
  const alone = rows.find((r) => r.workers === 1);
  if (alone) for (const row of rows) row.efficiencyCeiling = +(row.tokensPerSecond / (row.workers * alone.tokensPerSecond)).toFixed(2);
  const report = {
    bench: 'threads-ceiling',
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, processors, node: process.versions.node },
    model: { preset: base.preset, sizes: base.sizes, wavelet: 'haar', batch: base.batch, context: config.context },
    simd: wasmRelaxedSimdSupported() ? 'relaxed' : 'plain',
    rows,
    note: 'workers independent one-thread steps, started together; efficiencyCeiling = combined tokens/s over workers x one alone: what any split of one step across that many threads can reach at most here',
  };
  printReport(report, option('--out', ''));
}
