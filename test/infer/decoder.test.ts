// Cached generation against full forward passes: the decoder's logits after each token equal the
// reference GPT's over the whole prefix (every position, two sequences in a batch, every wavelet
// form), and the wasm and WebGPU engines' next-token logits on the same prefixes; the wasm and
// WebGPU decoders equal the TypeScript one at every position.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { CachedDecoder } from '../../src/kernels/wavelet/state.js';
import { WasmDecoder } from '../../src/infer/wasm_decoder.js';
import { WebGPUDecoder } from '../../src/infer/webgpu_decoder.js';
import { initialParameters, parameterLayout, slice } from '../../src/model/parameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { gptForward } from '../../src/model/ref/gpt.js';
import { WasmEngine } from '../../src/train/engines/wasm.js';
import { WebGPUEngine } from '../../src/train/engines/webgpu.js';
import { DEFAULT_ADAMW } from '../../src/kernels/adamw/ref.js';
import { assertClose, redrawWeights, webgpuBackend } from '../helpers.js';
import { TEST_BASE, TEST_CONFIGS } from '../model/configs.js';
import { checkConfig, type GPTConfig } from '../../src/model/config.js';

const softmax = (logits: Float32Array) => {
  const max = Math.max(...logits);
  const e = Array.from(logits, (l) => Math.exp(l - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
};

// The test configs, two whose context outruns the longest window (the wavelet state's ring wraps),
// and one with a long dense head (the WebGPU decoder splits that product along K).
const CONFIGS: [string, GPTConfig][] = [...TEST_CONFIGS, ['haar, context past the longest window', checkConfig({ ...TEST_BASE, context: 40, wavelet: { form: 'haar', maxWindow: 16 } })], ['learnable, context past the longest window', checkConfig({ ...TEST_BASE, context: 40, wavelet: { form: 'learnable', maxWindow: 8 } })], ['ema, a dense head of 1100 (products split along K)', checkConfig({ ...TEST_BASE, headDense: 1100, wavelet: { form: 'ema' } })]];

for (const [name, config] of CONFIGS) {
  test(`cached decoder equals full forward passes at every position (${name})`, async () => {
    const layout = parameterLayout(config);
    const params = initialParameters(config, layout, 11);
    const random = new SeededRandom(3);
    redrawWeights(params, layout, random, 0.3);
    if (config.wavelet?.form === 'learnable') for (const t of layout.tensors) if (t.name.includes('taps')) slice(params, layout, t.name).forEach((_, i, v) => (v[i] = random.normal()));
    const [B, T, V] = [2, config.context, config.vocabSize];
    const tokens = Int32Array.from({ length: B * T }, () => random.below(V));
    const full = gptForward(config, layout, params, tokens, new Int32Array(B * T), B, T);
    const decoder = new CachedDecoder(config, layout, params, B);
    const wasmDecoder = await WasmDecoder.create(config, layout, params, B, readFileSync('build/wavelet.wasm'));
    const gpuForDecoder = await webgpuBackend();
    const gpuDecoder = gpuForDecoder && (await WebGPUDecoder.create(config, layout, params, B, gpuForDecoder));
    const seen: Float32Array[] = [];
    for (let t = 0; t < T; t++) {
      const logits = decoder.step([tokens[t], tokens[T + t]]);
      assertClose(wasmDecoder.step([tokens[t], tokens[T + t]]), logits, 1e-4, `${name}: wasm decoder, position ${t}`);
      if (gpuDecoder) assertClose(await gpuDecoder.step([tokens[t], tokens[T + t]]), logits, 1e-4, `${name}: webgpu decoder, position ${t}`);
      for (let b = 0; b < B; b++) {
        assertClose(softmax(logits.subarray(b * V, b * V + V)), full.probs.subarray((b * T + t) * V, (b * T + t + 1) * V), 1e-5, `${name}: sequence ${b}, position ${t}`);
      }
      seen.push(logits.slice(0, V));
    }
    assert.throws(() => decoder.step([0, 0]), new RegExp(`the context of ${T} tokens is full`));
    // the engines' full forward passes on prefixes of the first sequence
    const options = { config, layout, parameters: params, adamw: DEFAULT_ADAMW };
    const gpu = await webgpuBackend();
    const engines = [await WasmEngine.create(options, readFileSync('build/wavelet.wasm')), ...(gpu ? [await WebGPUEngine.create(options, gpu)] : [])];
    for (const engine of engines) {
      for (const length of [1, 7, T]) {
        const logits = await engine.nextLogits(tokens.slice(0, length));
        const expected = seen[length - 1];
        assertClose(logits.map((v) => v - logits[0]), expected.map((v) => v - expected[0]), 1e-4, `${name}: ${engine.backend} prefix ${length}`);
      }
    }
    decoder.reset();
    assertClose(decoder.step([tokens[0], tokens[T]]).subarray(0, V), seen[0], 0, `${name}: after reset, the first token again`);
    if (gpuDecoder) {
      gpuDecoder.reset();
      assertClose((await gpuDecoder.step([tokens[0], tokens[T]])).subarray(0, V), seen[0], 1e-4, `${name}: webgpu decoder after reset`);
      await gpuForDecoder!.checkErrors();
    }
  });
}

test.run();
