// Shared by the tests: a seeded generator, closeness checks that say where they failed, and the
// backends, made once per process. WebGPU runs on the driver createWebGPUBackend chooses; on a
// machine without a GPU, Chromium's SwiftShader (Debian's `chromium` package), as in CI. A test
// that cannot get a WebGPU device fails unless WAVELET_GPT_SKIP_WEBGPU=1 says to skip it.

import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import * as assert from 'uvu/assert';
import { createWasmBackend, wasmRelaxedSimdSupported, type WasmBackend } from '../src/runtime/wasm.js';
import { SeededRandom } from '../src/model/random.js';
import { initialParameters, parameterLayout, slice, type ParameterLayout } from '../src/model/parameters.js';
import type { ModelConfig } from '../src/model/config.js';
import { createModel } from '../src/backends/registry.js';
import { isLoraTensor } from '../src/model/lora.js';
import { createWebGPUBackend, type WebGPUBackend } from '../src/runtime/webgpu.js';
import type { BackendModel, ModelOptions } from '../src/backends/model.js';
import { WasmModel } from '../src/backends/wasm/model.js';
import { WebGPUModel } from '../src/backends/webgpu/model.js';

/** Uniform numbers in [0, 1) from the project's seeded generator (mulberry32). */
export function seededRandom(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

/**
 * Redraws the model's random tensors (init 'normal' or 'residual') and LoRA's adapters (B starts
 * at zero, which would leave A without gradient) as scale * N(0, 1) from `random`, in layout
 * order: wider than GPT-2's 0.02, so that every path carries gradient and logits differ well above
 * rounding. Returns `params`.
 */
export function redrawWeights(params: Float32Array, layout: ParameterLayout, random: SeededRandom, scale: number): Float32Array {
  for (const t of layout.tensors) if (t.init === 'normal' || t.init === 'residual' || isLoraTensor(t.name)) slice(params, layout, t.name).forEach((_, i, v) => (v[i] = scale * random.normal()));
  return params;
}

/** A config's starting parameters, each moved by N(0, scale): zero biases and gains, unit alphas and identity matrices all take part. */
export function perturbedParameters(config: ModelConfig, seed: number, scale = 0.3): Float32Array {
  const params = initialParameters(config, parameterLayout(config), seed);
  const random = new SeededRandom(seed + 1);
  for (let i = 0; i < params.length; i++) params[i] += scale * random.normal();
  return params;
}

/** The reference's (js backend) logits (B, T, V) at every position of B sequences of T tokens: a full forward pass over each prefix. */
export async function referenceLogits(config: ModelConfig, parameters: Float32Array, tokens: Int32Array, B: number, T: number): Promise<Float32Array> {
  const reference = await createModel('js', { config, layout: parameterLayout(config), parameters });
  const logits = new Float32Array(B * T * config.vocabSize);
  for (let b = 0; b < B; b++) {
    for (let t = 1; t <= T; t++) logits.set(await reference.nextLogits(tokens.subarray(b * T, b * T + t)), (b * T + t - 1) * config.vocabSize);
  }
  reference.dispose();
  return logits;
}

/** n values uniform in [offset - scale, offset + scale). */
export function randomArray(n: number, random: () => number, scale = 1, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, () => offset + scale * (2 * random() - 1));
}

export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/**
 * Asserts |actual - expected| <= tolerance * max(1, max|expected|) everywhere, and that both are
 * NaN at the same places. Names the first index that fails.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  const bound = tolerance * Math.max(1, maxAbs(expected));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - e) <= bound)) {
      assert.unreachable(`${what}: index ${i}: expected ${e}, found ${a} (|diff| ${Math.abs(a - e)} > ${bound})`);
    }
  }
}

// Node 20 has relaxed SIMD behind a V8 flag (Node 22 and Chrome 114 on by default): turned on
// here, before any module is compiled, so that both builds of the kernels are tested.
if (!wasmRelaxedSimdSupported()) setFlagsFromString('--experimental-wasm-relaxed-simd');

/** The two builds of the wasm kernels (package.json's build:wasm), one thread and threads. */
export const WASM_BUILDS = [
  { name: 'plain SIMD', relaxed: false, file: 'build/wavelet.wasm', threadsFile: 'build/wavelet-threads.wasm' },
  { name: 'relaxed SIMD', relaxed: true, file: 'build/wavelet-relaxed.wasm', threadsFile: 'build/wavelet-threads-relaxed.wasm' },
] as const;

const wasm = new Map<string, Promise<WasmBackend>>();
/** The kernels from build/ under the working directory (the repo root), also when bundled: the plain SIMD build unless `file` names another. */
export function wasmBackend(file: string = WASM_BUILDS[0].file): Promise<WasmBackend> {
  if (!wasm.has(file)) wasm.set(file, createWasmBackend(readFileSync(file)));
  return wasm.get(file)!;
}

let webgpu: Promise<WebGPUBackend | undefined> | undefined;
/** The WebGPU backend, or undefined when WAVELET_GPT_SKIP_WEBGPU=1; any other failure throws. */
export function webgpuBackend(): Promise<WebGPUBackend | undefined> {
  return (webgpu ??= process.env.WAVELET_GPT_SKIP_WEBGPU === '1' ? Promise.resolve(undefined) : createWebGPUBackend());
}

/** The models of the fast backends for `options` (wasm; webgpu unless skipped), on the shared devices. */
export async function fastModels(options: ModelOptions): Promise<BackendModel[]> {
  const gpu = await webgpuBackend();
  return [await WasmModel.create(options, readFileSync('build/wavelet.wasm')), ...(gpu ? [await WebGPUModel.create(options, gpu)] : [])];
}
