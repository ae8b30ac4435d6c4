// Benchmark of generation: tokens per second of the cached decoder (KV cache and the wavelet
// structure's running state) at batch 1 and 8, beside the same model in TensorFlow.js on its wasm
// backend recomputing the whole prefix for each token (as a tfjs user generates), in one run; and
// the time from a cold process start to the first token of the Node bundle; on a GPU machine the
// WebGPU decoder too, beside bench/anchors/torch_generate.py in the same command. Prints JSON.
// usage: node --import tsx bench/generate.ts [--tokens 64] [--prompt 64] [--presets paper-text8,wide] [--out FILE]

import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { JsModel } from '../src/backends/js/model.js';
import { WasmModel } from '../src/backends/wasm/model.js';
import { WebGPUModel } from '../src/backends/webgpu/model.js';
import type { BackendModel } from '../src/backends/model.js';
import { createWebGPUBackend, type WebGPUBackend } from '../src/runtime/webgpu.js';
import { writeFileAtomic } from '../src/io/atomic.js';
import { checkConfig, presetConfig, type GPTConfig } from '../src/model/config.js';
import { initialParameters, parameterLayout } from '../src/model/parameters.js';
import { SeededRandom } from '../src/model/random.js';
import { useTfjsBackend } from '../src/tfjs/backends.js';
import { tfjsLogits, tfjsParameters } from '../src/tfjs/network.js';
import { registerWaveletOp } from '../src/tfjs/wavelet_op.js';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const tokens = Number(option('--tokens', '64'));
const promptLength = Number(option('--prompt', '64'));
const CONFIGS: Record<string, GPTConfig> = {
  'paper-text8': presetConfig('paper-text8', { form: 'haar' }),
  wide: checkConfig({ vocabSize: 256, context: 512, layers: 6, width: 384, heads: 6, feedForward: 1536, headDense: 0, wavelet: { form: 'haar' } }),
};
const names = option('--presets', 'paper-text8,wide').split(',');
const withTfjs = option('--tfjs', 'true') !== 'false'; // --tfjs false: skip the slow baseline (GPU machine runs)
const random = new SeededRandom(3);

await registerWaveletOp(readFileSync('build/wavelet.wasm'));
// The WebGPU decoder where a hardware adapter is (a software one says nothing about speed).
let gpu: WebGPUBackend | undefined;
try {
  gpu = await createWebGPUBackend();
  if (gpu.adapter.software && process.env.WAVELET_BENCH_SOFTWARE_GPU !== '1') gpu = undefined;
} catch {
  gpu = undefined;
}
if (withTfjs) await useTfjsBackend('wasm');

const results: object[] = [];
for (const name of names) {
  const config = CONFIGS[name];
  if (!config) throw new Error(`--presets: unknown '${name}' (${Object.keys(CONFIGS).join(', ')})`);
  const layout = parameterLayout(config);
  const params = initialParameters(config, layout, 1);
  for (const B of [1, 8]) {
    const prompt = Array.from({ length: B }, () => Array.from({ length: promptLength }, () => random.below(config.vocabSize)));
    // ours: the prompt read token by token, then `tokens` more (greedy, to time the model alone)
    const rate = async (model: BackendModel) => {
      const decoder = await model.decoder(B);
      for (let t = 0; t < promptLength; t++) await decoder.step(prompt.map((p) => p[t]));
      const started = performance.now();
      let next = prompt.map((p) => p[promptLength - 1]);
      for (let n = 0; n < tokens; n++) {
        const logits = await decoder.step(next);
        next = next.map((_, b) => argmax(logits.subarray(b * config.vocabSize, (b + 1) * config.vocabSize)));
      }
      const rate = (B * tokens) / ((performance.now() - started) / 1e3);
      model.dispose();
      return rate;
    };
    const options = { config, layout, parameters: params };
    const ours = await rate(await WasmModel.create(options, readFileSync('build/wavelet.wasm')));
    const oursJs = await rate(new JsModel(options));
    const oursGpu = gpu ? await rate(await WebGPUModel.create(options, gpu)) : undefined;
    // tfjs-wasm: the whole prefix again for every token (fewer tokens: it is slow)
    const vars = tfjsParameters(layout, params, `${name}-${B}/`);
    const sequences = prompt.map((p) => p.slice());
    const tfTokens = withTfjs ? Math.max(2, Math.round(tokens / 8)) : 0;
    const tfStarted = performance.now();
    for (let n = 0; n < tfTokens; n++) {
      const T = sequences[0].length;
      const logits = tf.tidy(() => tfjsLogits(config, vars, Int32Array.from(sequences.flat()), B, T));
      const values = await logits.data();
      logits.dispose();
      sequences.forEach((s, b) => s.push(argmax(values.subarray(((b + 1) * T - 1) * config.vocabSize, (b + 1) * T * config.vocabSize))));
    }
    const theirs = withTfjs ? (B * tfTokens) / ((performance.now() - tfStarted) / 1e3) : NaN;
    tf.dispose([...vars.values()]);
    const entry = { preset: name, layers: config.layers, width: config.width, batch: B, prompt: promptLength, wasm_tokens_per_s: +ours.toFixed(1), js_tokens_per_s: +oursJs.toFixed(1), ...(oursGpu && { webgpu_tokens_per_s: +oursGpu.toFixed(1) }), tfjs_wasm_tokens_per_s: +theirs.toFixed(2), ratio: +(ours / theirs).toFixed(1) };
    console.error(JSON.stringify(entry));
    results.push(entry);
  }
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

// Cold start: a new Node process importing the Node bundle, loading runs/main's checkpoint and
// generating one token; the process prints when its first token is out.
let coldStart: object = { skipped: 'no runs/main checkpoint (npm start makes one)' };
try {
  readFileSync('runs/main/checkpoint.safetensors');
  const script = `const { loadModel } = await import(${JSON.stringify(new URL('../dist/bundles/node/wavelet-gpt.mjs', import.meta.url).href)});
const model = await loadModel('runs/main/checkpoint.safetensors');
for await (const token of model.generate('Call me ', { maxTokens: 1 })) process.stdout.write('first token ' + performance.now().toFixed(1) + '\\n');`;
  const started = performance.now();
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  const wall = performance.now() - started;
  coldStart = { ms_process_start_to_first_token: +wall.toFixed(1), ms_in_process: +Number(out.match(/first token ([\d.]+)/)![1]).toFixed(1), bundle: 'dist/bundles/node/wavelet-gpt.mjs' };
} catch (error) {
  coldStart = { skipped: (error as Error).message.slice(0, 200) };
}

const report = { bench: 'generate', date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model, cores: cpus().length, memory_gib: +(totalmem() / 2 ** 30).toFixed(1), node: process.versions.node, gpu: gpu?.adapter }, tokens, results, cold_start: coldStart, note: 'wasm: the wasm backend\'s decoder (SIMD kernels, KV cache); js: the js backend\'s (TypeScript); ratio: wasm vs tfjs-backend-wasm recomputing the whole prefix each token, all single-threaded' };
const out = option('--out', '');
if (out) writeFileAtomic(out, JSON.stringify(report, null, 2));
console.log(JSON.stringify(report, null, 2));
process.exit(0);
