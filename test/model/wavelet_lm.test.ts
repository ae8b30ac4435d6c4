// WaveletLM on the js backend (reference kernels, hand-written backward passes) against two
// independent oracles: TensorFlow.js autodiff of the same network description (the loss and every
// parameter's gradient) and central finite differences of the loss; cached generation against full
// forward passes at every position (past the longest look back, so every lifting ring wraps);
// causality; and the config's errors. Odd shapes: a width that is not a power of two (padded),
// T shorter than 2^L, batch 1.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import { checkConfig, waveletLmPresetConfig, type WaveletLMConfig } from '../../src/model/config.js';
import { parameterLayout, slice } from '../../src/model/parameters.js';
import { waveletLmNetwork } from '../../src/model/wavelet_lm.js';
import { SeededRandom } from '../../src/model/random.js';
import { JsModel } from '../../src/backends/js/model.js';
import { DEFAULT_ADAMW } from '../../src/kernels/optimizer/ref.js';
import { useTfjsBackend } from '../../src/tfjs/backends.js';
import { tfjsLoss, tfjsParameters } from '../../src/tfjs/network.js';
import { assertClose, fastModels, perturbedParameters } from '../helpers.js';
import { WAVELET_LM_TEST_BASE, WAVELET_LM_TEST_CONFIGS } from './configs.js';

const BASE = WAVELET_LM_TEST_BASE;

const CASES: [string, WaveletLMConfig, number, number][] = [
  [`${WAVELET_LM_TEST_CONFIGS[0][0]}, T 5 shorter than 2^L, batch 2`, WAVELET_LM_TEST_CONFIGS[0][1], 2, 5],
  [`${WAVELET_LM_TEST_CONFIGS[1][0]}, batch 1, T 9`, WAVELET_LM_TEST_CONFIGS[1][1], 1, 9],
];

for (const [name, config, B, T] of CASES) {
  test(`js backend WaveletLM (${name}): loss and every parameter gradient equal tfjs autodiff`, async () => {
    await useTfjsBackend('cpu');
    const layout = parameterLayout(config);
    const params = perturbedParameters(config, 5);
    const random = new SeededRandom(9);
    const tokens = Int32Array.from({ length: B * T }, () => random.below(config.vocabSize));
    const targets = Int32Array.from({ length: B * T }, () => random.below(config.vocabSize));
    const model = new JsModel({ config, layout, parameters: params, optimizer: DEFAULT_ADAMW });
    const loss = await model.forwardBackward(tokens, targets, B, T, 1);
    const grads = await model.gradients();
    const vars = tfjsParameters(layout, params, `lm ${name}/`);
    const { value, grads: expected } = tf.variableGrads(() => tfjsLoss(config, vars, tokens, targets, B, T));
    assertClose([loss], [(await value.data())[0]], 1e-5, 'loss');
    for (const t of layout.tensors) {
      const tfGrad = expected[`lm ${name}/${t.name}`];
      assert.ok(tfGrad, `tfjs has a gradient for ${t.name}`);
      assertClose(slice(grads, layout, t.name), await tfGrad.data(), 2e-4, `d${t.name}`);
    }
    tf.dispose([value, ...Object.values(expected), ...vars.values()]);
    model.dispose();
  });
}

test('js backend WaveletLM: gradients equal central finite differences of the loss (one entry of each kind of tensor)', async () => {
  const config = BASE;
  const layout = parameterLayout(config);
  const params = perturbedParameters(config, 21);
  const random = new SeededRandom(4);
  const [B, T] = [2, 6];
  const tokens = Int32Array.from({ length: B * T }, () => random.below(config.vocabSize));
  const targets = Int32Array.from({ length: B * T }, () => random.below(config.vocabSize));
  const model = new JsModel({ config, layout, parameters: params, optimizer: DEFAULT_ADAMW });
  await model.forwardBackward(tokens, targets, B, T, 1);
  const grads = await model.gradients();
  const probe = new JsModel({ config, layout, parameters: params });
  // Float64 would be cleaner; float32 forward passes with h = 1e-2 on O(1) parameters give ~1e-4.
  const h = 1e-2;
  const lossAt = async (index: number, delta: number) => {
    const moved = params.slice();
    moved[index] += delta;
    await probe.load(moved);
    return probe.evaluate(tokens, targets, B, T);
  };
  const kinds = ['wte', 'lift0.predict1.w', 'lift2.update2.b', 'b0.bypass1', 'b0.route', 'b1.mix2.w', 'b1.gate0.w', 'b0.lowrank3.u', 'b0.scale2', 'b0.proj.w', 'b1.alpha.mixing', 'b0.fc.w', 'b1.alpha.stream', 'b1.alpha.mlp', 'lnf.w', 'out.w'];
  for (const name of kinds) {
    const t = layout.byName.get(name)!;
    const index = t.offset + Math.floor(random.next() * t.size);
    const numeric = ((await lossAt(index, h)) - (await lossAt(index, -h))) / (2 * h);
    const analytic = grads[index];
    assert.ok(Math.abs(numeric - analytic) <= 2e-3 + 2e-2 * Math.abs(analytic), `${name}[${index - t.offset}]: finite difference ${numeric}, backward ${analytic}`);
  }
  model.dispose();
  probe.dispose();
});

test('WaveletLM decoder (lifting rings, running means) equals full forward passes at every position, past the longest look back', async () => {
  const config = checkConfig({ ...BASE, context: 20 }); // look back 1 + 2 + 4: rings wrap many times
  const layout = parameterLayout(config);
  const params = perturbedParameters(config, 8);
  const random = new SeededRandom(12);
  const [B, T, V] = [2, config.context, config.vocabSize];
  const tokens = Int32Array.from({ length: B * T }, () => random.below(V));
  const model = new JsModel({ config, layout, parameters: params });
  const decoder = await model.decoder(B);
  const first: Float32Array[] = [];
  for (let t = 0; t < T; t++) {
    const logits = await decoder.step([tokens[t], tokens[T + t]]);
    for (let b = 0; b < B; b++) assertClose(logits.subarray(b * V, b * V + V), await model.nextLogits(tokens.slice(b * T, b * T + t + 1)), 1e-5, `sequence ${b}, position ${t}`);
    first.push(logits.slice(0, V));
  }
  decoder.reset();
  for (let t = 0; t < 9; t++) assertClose((await decoder.step([tokens[t], tokens[T + t]])).subarray(0, V), first[t], 0, `after reset, position ${t}`);
  decoder.dispose();
  model.dispose();
});

test('wasm and WebGPU WaveletLM: loss, every gradient, an AdamW step and the decoder equal the js backend', async () => {
  const config = checkConfig({ ...BASE, context: 12 });
  const layout = parameterLayout(config);
  const params = perturbedParameters(config, 31);
  const random = new SeededRandom(6);
  const [B, T, V] = [2, 12, config.vocabSize];
  const tokens = Int32Array.from({ length: B * T }, () => random.below(V));
  const targets = Int32Array.from({ length: B * T }, () => random.below(V));
  const js = new JsModel({ config, layout, parameters: params, optimizer: DEFAULT_ADAMW });
  const loss = await js.forwardBackward(tokens, targets, B, T, 1);
  const expected = await js.gradients();
  await js.update(1e-2);
  const stepped = await js.parameters();
  const jsDecoder = await js.decoder(B);
  const decoded: Float32Array[] = [];
  for (let t = 0; t < T; t++) decoded.push(await jsDecoder.step([tokens[t], tokens[T + t]]));
  for (const model of await fastModels({ config, layout, parameters: params, optimizer: DEFAULT_ADAMW })) {
    const on = model.backend;
    assertClose([await model.forwardBackward(tokens, targets, B, T, 1)], [loss], 1e-5, `${on}: loss`);
    const found = await model.gradients();
    for (const t of layout.tensors) assertClose(slice(found, layout, t.name), slice(expected, layout, t.name), 2e-4, `${on}: d${t.name}`);
    await model.update(1e-2);
    assertClose(await model.parameters(), stepped, 1e-5, `${on}: parameters after a step`);
    const decoder = await model.decoder(B);
    for (let t = 0; t < T; t++) assertClose(await decoder.step([tokens[t], tokens[T + t]]), decoded[t], 1e-4, `${on}: decoder at position ${t}`);
    decoder.dispose();
    model.dispose();
  }
  jsDecoder.dispose();
  js.dispose();
});

test('WaveletLM is causal: changing token t changes no logits before t', async () => {
  const config = BASE;
  const layout = parameterLayout(config);
  const model = new JsModel({ config, layout, parameters: perturbedParameters(config, 3) });
  const random = new SeededRandom(2);
  const T = 12;
  const V = config.vocabSize;
  const tokens = Int32Array.from({ length: T }, () => random.below(V));
  const logitsOf = async (sequence: Int32Array) => {
    const out: Float32Array[] = [];
    for (let t = 1; t <= T; t++) out.push(await model.nextLogits(sequence.slice(0, t)));
    return out;
  };
  const before = await logitsOf(tokens);
  for (const changed of [0, 5, 11]) {
    const other = tokens.slice();
    other[changed] = (other[changed] + 1) % V;
    // The full pass over the whole changed sequence, read at each earlier position.
    const after = await logitsOf(other);
    for (let t = 0; t < changed; t++) assertClose(after[t], before[t], 0, `token ${changed} changed: logits at ${t}`);
    assert.ok(after[changed].some((v, i) => v !== before[changed][i]), `token ${changed} changed: its own logits must move`);
  }
  model.dispose();
});

test('WaveletLM network: the lifting delays are 1, 2, 4 and the lifting weights are shared across blocks', () => {
  const network = waveletLmNetwork(BASE);
  const delays = network.layers.flatMap((l) => (l.kind === 'lifting_predict' ? [l.delay] : []));
  assert.equal(delays, [1, 2, 4, 1, 2, 4]);
  const layout = parameterLayout(BASE);
  assert.ok(layout.byName.has('lift0.predict1.w') && !layout.byName.has('b0.lift0.predict1.w'));
  assert.ok(parameterLayout({ ...BASE, liftingSharing: 'per-block' } as WaveletLMConfig).byName.has('b1.lift2.update2.w'));
});

test('WaveletLM presets and config errors', () => {
  assert.is(waveletLmPresetConfig('tiny').architecture, 'wavelet-lm');
  const small = parameterLayout(waveletLmPresetConfig('small')).count;
  assert.ok(small > 10e6 && small < 30e6, `the GPU preset has ${small} parameters`);
  assert.throws(() => waveletLmPresetConfig('huge'), /unknown WaveletLM preset 'huge': expected one of tiny, small/);
  assert.throws(() => checkConfig({ ...BASE, levels: 0 }), /'levels': expected an integer from 1 to 16, found 0/);
  assert.throws(() => checkConfig({ ...BASE, lowRank: -1 }), /'lowRank': expected an integer from 0 to 4,096, found -1/);
  assert.throws(() => checkConfig({ ...BASE, liftingSharing: 'some' as 'shared' }), /'liftingSharing': expected shared or per-block/);
  assert.throws(() => checkConfig({ ...BASE, architecture: 'mamba' as 'wavelet-lm' }), /'architecture': expected gpt or wavelet-lm, found "mamba"/);
});

test.run();
