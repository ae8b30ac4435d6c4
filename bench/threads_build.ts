// Whether the threads build of the kernels (build/wavelet-threads*.wasm: a shared, imported memory)
// runs a training step slower than the plain build on one thread. The threads' efficiency is
// measured against the plain build's one-thread step, so a slower threads build lowers it by as
// much, whatever the split. The threads build runs here in a pool of two whose work is never
// shared out (the thresholds at infinity: every kernel on this thread, the worker asleep). The
// two are alternated --rounds times, a model made afresh each time (a shared host's speed drifts).
// Prints JSON.
// usage: node --expose-gc [--experimental-wasm-relaxed-simd] --import tsx bench/threads_build.ts [--preset paper-text8] [--batch 4] [--rounds 6] [--steps 3] [--out FILE]

import { availableParallelism, cpus } from 'node:os';
import { printReport } from './report.js';
import { WasmModel } from '../src/backends/wasm/model.js';
import { chunkThresholds } from '../src/backends/wasm/parallel.js';
import { wasmStepSetup } from './wasm_step.js';
import { DEFAULT_ADAMW } from '../src/kernels/optimizer/ref.js';
import { median, medianMs } from './timing.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const preset = option('--preset', 'paper-text8');
const B = Number(option('--batch', '4'));
const rounds = Number(option('--rounds', '6'));
const steps = Number(option('--steps', '3'));
const { config, layout, parameters, T, batch, relaxed, source, threadsSource } = wasmStepSetup(preset, B);

const times = { plain: [] as number[], threads: [] as number[] };
for (let round = 0; round < rounds; round++) {
  for (const build of ['plain', 'threads'] as const) {
    const saved = { ...chunkThresholds };
    if (build === 'threads') Object.assign(chunkThresholds, { macs: Infinity, elements: Infinity });
    try {
      const model = await WasmModel.create({ config, layout, parameters, optimizer: DEFAULT_ADAMW, threads: build === 'threads' ? 2 : 1 }, source, threadsSource);
      const ms = await medianMs(steps, () => Promise.all([model.forwardBackward(batch, batch, B, T, 1), model.update(1e-4)]), 1);
      model.dispose();
      times[build].push(+ms.toFixed(1));
      console.error(`round ${round + 1}/${rounds}, ${build} build: ${ms.toFixed(1)} ms a step`);
    } finally {
      Object.assign(chunkThresholds, saved);
    }
  }
}
const report = {
  bench: 'threads_build',
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, processors: availableParallelism(), node: process.versions.node },
  model: { preset, wavelet: 'haar', batch: B, context: T, simd: relaxed ? 'relaxed' : 'plain' },
  stepMs: times,
  medians: { plain: median(times.plain), threads: median(times.threads) },
  threadsOverPlain: +(median(times.threads) / median(times.plain)).toFixed(3),
  roundRatios: times.plain.map((plain, i) => +(times.threads[i] / plain).toFixed(3)),
  note: 'one thread each: the threads build in a pool of two with nothing shared out; each round times the plain build, then the threads build, each the median of --steps steps after one untimed',
};
printReport(report, option('--out', ''));
