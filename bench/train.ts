// Benchmark of a training step on the CPU: tokens per second of our wasm engine beside the same
// model in TensorFlow.js on its wasm backend (tf.variableGrads and Adam), in one process, one
// run. Prints JSON. usage: node --import tsx bench/train.ts [--preset tiny] [--wavelet haar] [--batch 8] [--out FILE]

import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../src/io/atomic.js';
import { presetConfig, type WaveletStructure } from '../src/model/config.js';
import { initialParameters, parameterLayout } from '../src/model/parameters.js';
import { SeededRandom } from '../src/model/random.js';
import { useTfjsBackend } from '../src/tfjs/backends.js';
import { tfjsGptLoss, tfjsParameters } from '../src/tfjs/gpt.js';
import { registerWaveletOp } from '../src/tfjs/wavelet_op.js';
import { JsEngine } from '../src/train/engines/js.js';
import { WasmEngine } from '../src/train/engines/wasm.js';
import type { TrainingEngine } from '../src/train/engine.js';
import { DEFAULT_ADAMW } from '../src/train/optimizer.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const preset = option('--preset', 'tiny');
const form = option('--wavelet', 'haar');
const B = Number(option('--batch', '8'));
const wavelet: WaveletStructure | null = form === 'none' ? null : { form: form as WaveletStructure['form'] };
const config = presetConfig(preset, wavelet);
const T = config.context;
const layout = parameterLayout(config);
const params = initialParameters(config, layout, 1);
const random = new SeededRandom(2);
const batch = () => ({
  tokens: Int32Array.from({ length: B * T }, () => random.below(config.vocabSize)),
  targets: Int32Array.from({ length: B * T }, () => random.below(config.vocabSize)),
});

/** Median ms of a step over `reps` after 2 warm-up steps. */
async function timeSteps(reps: number, step: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await step();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(reps / 2)];
}

const engineStep = (engine: TrainingEngine) => async () => {
  const { tokens, targets } = batch();
  await engine.forwardBackward(tokens, targets, B, T, 1);
  await engine.update(1e-3);
};

const results: Record<string, number | string>[] = [];
const record = (impl: string, ms: number) => {
  results.push({ impl, ms_per_step: +ms.toFixed(2), tokens_per_s: Math.round((B * T) / (ms / 1e3)) });
  console.error(`${impl.padEnd(16)} ${ms.toFixed(2).padStart(9)} ms/step`);
};

const options = { config, layout, parameters: params, adamw: DEFAULT_ADAMW };
record('wasm engine', await timeSteps(10, engineStep(await WasmEngine.create(options, readFileSync('build/wavelet.wasm')))));
if (preset === 'tiny') record('js engine', await timeSteps(3, engineStep(new JsEngine(options))));

await registerWaveletOp();
await useTfjsBackend('wasm');
const vars = tfjsParameters(layout, params);
const adam = tf.train.adam(1e-3, 0.9, 0.95, 1e-8);
record('tfjs-wasm', await timeSteps(5, async () => {
  const { tokens, targets } = batch();
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => tfjsGptLoss(config, vars, tokens, targets, B, T));
    adam.applyGradients(grads as tf.NamedTensorMap as unknown as Parameters<typeof adam.applyGradients>[0]);
  });
}));

const ours = results[0].tokens_per_s as number;
const tfjs = results.find((r) => r.impl === 'tfjs-wasm')!.tokens_per_s as number;
const report = {
  bench: 'train',
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.versions.node },
  model: { preset, wavelet: form, batch: B, context: T, parameters: layout.count },
  results,
  wasm_engine_vs_tfjs_wasm: +(ours / tfjs).toFixed(2),
  note: 'tfjs-wasm runs its own SIMD kernels (XNNPACK) single-threaded here; our engine is single-threaded too',
};
const json = JSON.stringify(report, null, 2);
console.log(json);
const out = option('--out', '');
if (out) writeFileAtomic(out, json);
process.exit(0);
