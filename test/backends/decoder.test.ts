// Cached generation against full forward passes: each backend's decoder gives, after each token,
// the logits of the js backend's full forward pass over the whole prefix (every position, two
// sequences in a batch, every wavelet form), and each backend's full forward pass (nextLogits) on
// the same prefixes agrees; a decoder is reset and reused, and refuses a full context.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JsModel } from '../../src/backends/js/model.js';
import { initialParameters, parameterLayout, slice } from '../../src/model/parameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { assertClose, fastModels, redrawWeights, webgpuBackend } from '../helpers.js';
import { TEST_BASE, TEST_CONFIGS } from '../model/configs.js';
import { checkConfig, type GPTConfig } from '../../src/model/config.js';

// The test configs, two whose context outruns the longest window (the wavelet state's ring wraps),
// and one with a long dense head (the WebGPU decoder splits that product along K).
const CONFIGS: [string, GPTConfig][] = [...TEST_CONFIGS, ['haar, context past the longest window', checkConfig({ ...TEST_BASE, context: 40, wavelet: { form: 'haar', maxWindow: 16 } })], ['learnable, context past the longest window', checkConfig({ ...TEST_BASE, context: 40, wavelet: { form: 'learnable', maxWindow: 8 } })], ['ema, a dense head of 1100 (products split along K)', checkConfig({ ...TEST_BASE, headDense: 1100, wavelet: { form: 'ema' } })]];

for (const [name, config] of CONFIGS) {
  test(`decoders equal full forward passes at every position (${name})`, async () => {
    const layout = parameterLayout(config);
    const params = initialParameters(config, layout, 11);
    const random = new SeededRandom(3);
    redrawWeights(params, layout, random, 0.3);
    if (config.wavelet?.form === 'learnable') for (const t of layout.tensors) if (t.name.includes('taps')) slice(params, layout, t.name).forEach((_, i, v) => (v[i] = random.normal()));
    const [B, T, V] = [2, config.context, config.vocabSize];
    const tokens = Int32Array.from({ length: B * T }, () => random.below(V));
    const options = { config, layout, parameters: params };
    const js = new JsModel(options);
    const models = [js, ...(await fastModels(options))];
    const decoders = await Promise.all(models.map((m) => m.decoder(B)));
    const seen: Float32Array[] = [];
    for (let t = 0; t < T; t++) {
      const step = [tokens[t], tokens[T + t]];
      const logits = await decoders[0].step(step);
      for (const [i, decoder] of decoders.entries()) if (i > 0) assertClose(await decoder.step(step), logits, 1e-4, `${name}: ${models[i].backend} decoder, position ${t}`);
      for (let b = 0; b < B; b++) {
        const full = await js.nextLogits(tokens.slice(b * T, b * T + t + 1));
        assertClose(logits.subarray(b * V, b * V + V), full, 1e-5, `${name}: sequence ${b}, position ${t}`);
      }
      seen.push(logits.slice(0, V));
    }
    for (const decoder of decoders) await decoder.step([0, 0]).then(() => assert.unreachable('stepped past the context'), (e: Error) => assert.match(e.message, new RegExp(`the context of ${T} tokens is full`)));
    // each fast backend's full forward passes on prefixes of the first sequence
    for (const model of models.slice(1)) {
      for (const length of [1, 7, T]) assertClose(await model.nextLogits(tokens.slice(0, length)), seen[length - 1], 1e-4, `${name}: ${model.backend} prefix ${length}`);
    }
    for (const [i, decoder] of decoders.entries()) {
      decoder.reset();
      assertClose((await decoder.step([tokens[0], tokens[T]])).subarray(0, V), seen[0], i === 0 ? 0 : 1e-4, `${name}: ${models[i].backend} decoder after reset`);
      decoder.dispose();
    }
    for (const model of models) model.dispose();
    await (await webgpuBackend())?.checkErrors();
  });
}

test.run();
