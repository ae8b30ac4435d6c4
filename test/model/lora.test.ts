// LoRA adapters and frozen parameters. The adapted network runs on every backend through the
// model tables (configs.ts holds a LoRA config: tfjs autodiff, training, decoding, memory); here,
// against independent oracles: the adapted model's logits equal the base model's with W + (alpha /
// r) B A written into it (the merge, by its definition); a frozen parameter is bit for bit what
// it was after steps on every backend, and the others take the reference optimizer's step on the
// gradients with the frozen ones zeroed; the adapter file round-trips and refuses another model.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JsModel } from '../../src/backends/js/model.js';
import { adamwStep, decayMask, DEFAULT_ADAMW, emptyOptimizerState } from '../../src/kernels/optimizer/ref.js';
import { baseConfig, mergeAdapters, splitAdapterTensors } from '../../src/model/adapters.js';
import { checkConfig, type GPTConfig } from '../../src/model/config.js';
import { loraTargets, namePattern, withLora } from '../../src/model/lora.js';
import { gptNetwork } from '../../src/model/gpt.js';
import { initialParameters, parameterLayout, slice, tensorRanges } from '../../src/model/parameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { applyAdapter, writeAdapter } from '../../src/io/adapter.js';
import { assertClose, fastModels, redrawWeights } from '../helpers.js';
import { TEST_BASE, TEST_CONFIGS } from './configs.js';

const config = TEST_CONFIGS.find(([, c]) => c.lora)![1];
const layout = parameterLayout(config);
const random = new SeededRandom(5);
const parameters = redrawWeights(initialParameters(config, layout, 3), layout, random, 0.3); // B drawn too: the adapters change the output
const tokens = Int32Array.from({ length: 2 * 11 }, () => random.below(config.vocabSize));
const targets = Int32Array.from({ length: 2 * 11 }, () => random.below(config.vocabSize));

test('the adapted model gives the logits of its base with W + (alpha / r) B A merged in', async () => {
  const adapted = new JsModel({ config, layout, parameters });
  const merged = mergeAdapters(config, parameters);
  assert.equal(merged.config, baseConfig(config));
  assert.is(merged.parameters.length, parameterLayout(merged.config).count);
  const plain = new JsModel({ config: merged.config, layout: parameterLayout(merged.config), parameters: merged.parameters });
  const sequence = tokens.subarray(0, 11);
  const [a, b] = [await adapted.nextLogits(sequence), await plain.nextLogits(sequence)];
  assertClose(a, b, 1e-5, 'adapted vs merged logits');
  const base = new JsModel({ config: merged.config, layout: parameterLayout(merged.config), parameters: parameters.slice(0, merged.parameters.length) });
  const unadapted = await base.nextLogits(sequence);
  assert.ok(a.some((value, i) => Math.abs(value - unadapted[i]) > 1e-3), 'the adapters do change the output');
});

test('the rewrite: adapters after the model tensors, shaped (r, in) and (out, r), B starting at zero', () => {
  const plain = parameterLayout(baseConfig(config));
  assert.equal(layout.tensors.slice(0, plain.tensors.length).map((t) => [t.name, t.offset]), plain.tensors.map((t) => [t.name, t.offset]), 'the base keeps its offsets');
  const { adapters } = splitAdapterTensors(config);
  assert.is(adapters.length, 2 * (4 * config.layers + 1));
  assert.equal(layout.byName.get('h0.qkv.lora_a')!.shape, [2, TEST_BASE.width]);
  assert.equal(layout.byName.get('h0.qkv.lora_b')!.shape, [3 * TEST_BASE.width, 2]);
  assert.equal(layout.byName.get('out.lora_b')!.shape, [TEST_BASE.vocabSize, 2]);
  const fresh = initialParameters(config, layout, 1);
  assert.ok(slice(fresh, layout, 'h1.fc.lora_b').every((v) => v === 0) && slice(fresh, layout, 'h1.fc.lora_a').some((v) => v !== 0));
});

test('bad adapter settings and targets are refused by name', () => {
  const plain = checkConfig({ ...TEST_BASE, wavelet: null }) as GPTConfig;
  const layoutTensors = parameterLayout(plain).tensors;
  assert.throws(() => loraTargets(layoutTensors, { rank: 2, alpha: 2, targets: ['*.attn.w'] }), /LoRA target '\*\.attn\.w' matches no matrix of the model \(its matrices: wte, wpe, h0\.qkv\.w/);
  assert.throws(() => withLora(gptNetwork(plain), { rank: 2, alpha: 2, targets: ['wte'] }, ['wte']), /LoRA target 'wte' is not the weight of a linear layer/);
  assert.throws(() => checkConfig({ ...plain, lora: { rank: 0, alpha: 1, targets: ['*'] } }), /'lora\.rank': expected an integer from 1/);
  assert.throws(() => checkConfig({ ...plain, lora: { rank: 2, alpha: -1, targets: ['*'] } }), /'lora\.alpha': expected a number above 0, found -1/);
  assert.throws(() => checkConfig({ ...plain, lora: { rank: 2, alpha: 1, targets: [] } }), /'lora\.targets': expected a list of name patterns/);
  const matches = namePattern(['h*.fc.w', 'lnf.?']);
  assert.equal(['h0.fc.w', 'h12.fc.w', 'h0.fcproj.w', 'lnf.w', 'lnf.ww', 'xh0.fc.w'].map(matches), [true, true, false, true, false, false]);
});

test('frozen parameters stay bit for bit on every backend; the others take the reference step on gradients with the frozen zeroed', async () => {
  const frozen = ['wte', 'h0.ln1.w', ...splitAdapterTensors(config).base.filter((name) => name.startsWith('h1.'))];
  const ranges = tensorRanges(layout, frozen);
  const options = { config, layout, parameters, optimizer: DEFAULT_ADAMW, frozen };
  // The oracle: gradients of an unfrozen model, the frozen zeroed, the reference AdamW without decay there.
  const free = new JsModel({ ...options, frozen: [] });
  await free.forwardBackward(tokens, targets, 2, 11, 1);
  const grads = await free.gradients();
  for (const [start, end] of ranges) grads.fill(0, start, end);
  const expected = parameters.slice();
  const state = emptyOptimizerState('adamw', layout.count);
  adamwStep(expected, grads, state.slots.m, state.slots.v, decayMask(layout, ranges), 1, 1e-2, DEFAULT_ADAMW);
  const js = new JsModel(options);
  const engines = [js, ...(await fastModels(options))];
  let afterThree: Float32Array | undefined; // js's parameters after 3 steps
  for (const engine of engines) {
    for (let step = 0; step < 3; step++) {
      await engine.forwardBackward(tokens, targets, 2, 11, 1);
      await engine.update(1e-2);
      const now = await engine.parameters();
      if (step === 0) assertClose(now, expected, 1e-4, `${engine.backend}: the first step`);
      for (const name of frozen) assert.ok(slice(now, layout, name).every((v, i) => v === slice(parameters, layout, name)[i]), `${engine.backend} step ${step}: ${name} unchanged`);
    }
    if (engine === js) afterThree = await js.parameters();
    else assertClose(await engine.parameters(), afterThree!, 1e-4, `${engine.backend} after 3 steps, against js`);
    // A state loaded with moments for the frozen parameters (a run that trained them) moves them no more.
    const moved = await engine.optimizerState();
    for (const slot of Object.values(moved.slots)) slot.fill(0.5);
    await engine.load(parameters, moved);
    await engine.forwardBackward(tokens, targets, 2, 11, 1);
    await engine.update(1e-2);
    for (const name of frozen) assert.ok(slice(await engine.parameters(), layout, name).every((v, i) => v === slice(parameters, layout, name)[i]), `${engine.backend}: ${name} unchanged after a loaded state`);
    engine.dispose();
  }
  assert.throws(() => new JsModel({ ...options, frozen: ['nothing.w'] }), /no parameter 'nothing\.w'/);
});

test('an adapter file holds the adapters alone, applies to its base, and refuses another model by the field that differs', () => {
  const bytes = writeAdapter(config, parameters);
  const base = parameters.slice(0, parameterLayout(baseConfig(config)).count);
  const applied = applyAdapter({ config: baseConfig(config), parameters: base }, bytes, 'adapter.safetensors');
  assert.equal(applied.config, config);
  assert.equal(Array.from(applied.parameters), Array.from(parameters), 'base + adapter = the adapted model');
  const adapterFloats = splitAdapterTensors(config).adapters.reduce((sum, name) => sum + layout.byName.get(name)!.size, 0);
  assert.ok(bytes.length < 4 * adapterFloats + 4000, `${bytes.length} bytes for ${adapterFloats} floats`);
  const wider = checkConfig({ ...baseConfig(config), feedForward: 24 } as GPTConfig);
  assert.throws(() => applyAdapter({ config: wider, parameters: initialParameters(wider, parameterLayout(wider), 1) }, bytes, 'a.safetensors'), /a\.safetensors: an adapter for another model: 'feedForward' is 20 there, 24 in the model given/);
  assert.throws(() => applyAdapter({ config, parameters }, bytes, 'a.safetensors'), /has adapters of its own; merge them first/);
});

test.run();
