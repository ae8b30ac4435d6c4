// WaveletLM against a GPT (WaveletGPT, Haar) of about as many parameters, in one process, one run:
// the training step and a generated token on each backend asked, and how the training step grows
// with the context (attention is quadratic in T; every lifting level looks a
// fixed distance back, so WaveletLM is linear in T). Prints JSON with the machine.
// usage: node --import tsx bench/architectures.ts [--backends wasm,js] [--batch 4 | --tokens N]
//        [--contexts 64,128,256,512] [--width 64] [--layers 2] [--levels 3] [--mlp-expansion 2] [--profile] [--out FILE]
// --tokens N keeps the tokens a step fixed (batch N / T), so a step's time per token shows the cost
// of the context alone. The GPU anchor is bench/anchors/torch_wavelet_lm.py (and torch_gpt.py).

import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../src/io/atomic.js';
import { checkConfig, isWaveletLM, type ModelConfig } from '../src/model/config.js';
import { initialParameters, parameterLayout } from '../src/model/parameters.js';
import { SeededRandom } from '../src/model/random.js';
import type { BackendModel, BackendName } from '../src/backends/model.js';
import { createModel } from '../src/backends/registry.js';
import { medianMs } from './timing.js';
import { WebGPUModel } from '../src/backends/webgpu/model.js';
import { DEFAULT_ADAMW } from '../src/kernels/optimizer/ref.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const backends = option('--backends', 'wasm').split(',') as BackendName[];
const tokensPerStep = args.includes('--tokens') ? Number(option('--tokens', '0')) : undefined;
const batchAt = (T: number) => (tokensPerStep ? Math.max(1, Math.floor(tokensPerStep / T)) : Number(option('--batch', '4')));
const contexts = option('--contexts', '64,128,256,512').split(',').map(Number);
const C = Number(option('--width', '64'));
const layers = Number(option('--layers', '2'));
const levels = Number(option('--levels', '3'));
const mlpExpansion = Number(option('--mlp-expansion', '2'));
const V = 256;

/** The two models at a context: WaveletLM and a GPT of its depth and width whose MLP is sized to match its parameters. */
function configs(T: number): [string, ModelConfig][] {
  const lm = checkConfig<ModelConfig>({ architecture: 'wavelet-lm', vocabSize: V, context: T, layers, width: C, levels, mlpExpansion, lowRank: 4, liftingSharing: 'shared' });
  const target = parameterLayout(lm).count;
  const gpt = (F: number) => checkConfig<ModelConfig>({ vocabSize: V, context: T, layers, width: C, heads: C % 8 === 0 ? 8 : 4, feedForward: F, headDense: 0, wavelet: { form: 'haar' } });
  let F = 4;
  while (parameterLayout(gpt(F + 4)).count <= target) F += 4;
  return [['wavelet-lm', lm], ['waveletgpt', gpt(F)]];
}

const wasmSource = readFileSync('build/wavelet.wasm');
const random = new SeededRandom(3);
const rows: Record<string, unknown>[] = [];
for (const T of contexts) {
  const B = batchAt(T);
  for (const [name, config] of configs(T)) {
    const layout = parameterLayout(config);
    for (const backend of backends) {
      const model: BackendModel = await createModel(backend, { config, layout, parameters: initialParameters(config, layout, 1), optimizer: DEFAULT_ADAMW }, { wasm: wasmSource });
      const tokens = Int32Array.from({ length: B * T }, () => random.below(V));
      const stepMs = +(await medianMs(5, () => Promise.all([model.forwardBackward(tokens, tokens, B, T, 1), model.update(0)]))).toFixed(3);
      // Where a WebGPU step's time goes, by kernel (--profile): the five costliest.
      const profile = args.includes('--profile') && model instanceof WebGPUModel
        ? Object.fromEntries(Object.entries(await model.profile(tokens, tokens, B, T)).sort((a, b) => b[1].ms - a[1].ms).slice(0, 5).map(([kernel, { ms, launches }]) => [kernel, { ms: +ms.toFixed(3), launches }]))
        : undefined;
      // A token at the middle of the context, batch 1 (attention's cost there is typical).
      const decoder = await model.decoder(1);
      for (let t = 0; t < T / 2; t++) await decoder.step([random.below(V)]);
      const tokenMs = +(await medianMs(20, async () => {
        if (decoder.position >= T) decoder.reset();
        await decoder.step([random.below(V)]);
      })).toFixed(3);
      decoder.dispose();
      model.dispose();
      const sizes = isWaveletLM(config) ? { levels: config.levels, mlp_expansion: config.mlpExpansion } : { heads: config.heads, feed_forward: config.feedForward };
      rows.push({ architecture: name, backend, context: T, batch: B, ...sizes, parameters: layout.count, train_step_ms: stepMs, train_tokens_per_s: Math.round((B * T) / (stepMs / 1e3)), token_ms_batch1: tokenMs, ...(profile && { profile }) });
      console.error(`T ${T} ${name} on ${backend}: step ${stepMs} ms, token ${tokenMs} ms`);
    }
  }
}
const report = { bench: 'architectures', tokens_per_step: tokensPerStep ?? null, layers, width: C, vocabulary: V, machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, rows };
const out = option('--out', '');
if (out) writeFileAtomic(out, JSON.stringify(report, null, 1));
console.log(JSON.stringify(report, null, 1));
