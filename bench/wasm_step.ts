// What the wasm engine's thread benchmarks (threads_profile.ts, threads_build.ts) each train on:
// a preset's model with the Haar structure, its first parameters, one batch of random tokens, and
// both builds of the kernels (relaxed SIMD where this engine has it; Node 20 needs
// --experimental-wasm-relaxed-simd), read from build/ under the working directory.

import { readFileSync } from 'node:fs';
import { presetConfig } from '../src/model/config.js';
import { initialParameters, parameterLayout } from '../src/model/parameters.js';
import { SeededRandom } from '../src/model/random.js';
import { wasmRelaxedSimdSupported } from '../src/runtime/wasm.js';

export function wasmStepSetup(preset: string, B: number) {
  const config = presetConfig(preset, { form: 'haar' });
  const layout = parameterLayout(config);
  const parameters = initialParameters(config, layout, 1);
  const T = config.context;
  const random = new SeededRandom(3);
  const batch = Int32Array.from({ length: B * T }, () => random.below(config.vocabSize));
  const relaxed = wasmRelaxedSimdSupported();
  const source = readFileSync(relaxed ? 'build/wavelet-relaxed.wasm' : 'build/wavelet.wasm');
  const threadsSource = readFileSync(relaxed ? 'build/wavelet-threads-relaxed.wasm' : 'build/wavelet-threads.wasm');
  return { config, layout, parameters, T, batch, relaxed, source, threadsSource };
}
