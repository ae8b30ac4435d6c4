// Training on each fast backend against the js backend (the reference kernels): the same loss and
// gradients, and after gradient accumulation over two micro-batches and an AdamW step, the same
// parameters and optimizer state; for the baseline and each wavelet form. Adagrad likewise.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { checkConfig } from '../../src/model/config.js';
import { initialParameters, parameterLayout } from '../../src/model/parameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { JsModel } from '../../src/backends/js/model.js';
import { WasmModel } from '../../src/backends/wasm/model.js';
import { WebGPUModel } from '../../src/backends/webgpu/model.js';
import type { BackendModel, ModelOptions } from '../../src/backends/model.js';
import { DEFAULT_ADAMW, type OptimizerState } from '../../src/kernels/optimizer/ref.js';
import { assertClose, redrawWeights, webgpuBackend } from '../helpers.js';
import { TEST_BASE, TEST_CONFIGS } from '../model/configs.js';
import { isHeadSplit } from '../../src/kernels/gpt/attention.js';

const CONFIGS = TEST_CONFIGS;

const ENGINES: Record<string, (options: ModelOptions) => Promise<BackendModel | undefined>> = {
  wasm: (options) => WasmModel.create(options, readFileSync('build/wavelet.wasm')),
  webgpu: async (options) => {
    const gpu = await webgpuBackend();
    return gpu && WebGPUModel.create(options, gpu);
  },
};

for (const [engineName, makeEngine] of Object.entries(ENGINES)) for (const [name, config] of CONFIGS) {
  test(`${engineName} backend trains as the js backend (${name}): losses, gradients, accumulated step, parameters`, async () => {
    const gpu = engineName === 'webgpu' ? await webgpuBackend() : undefined;
    const layout = parameterLayout(config);
    const params = initialParameters(config, layout, 3);
    const random = new SeededRandom(5);
    redrawWeights(params, layout, random, 0.3);
    const options = { config, layout, parameters: params, optimizer: DEFAULT_ADAMW };
    const js = new JsModel(options);
    const engine = await makeEngine(options);
    if (!engine) return;
    for (let step = 0; step < 2; step++) {
      for (const [B, T] of [[2, 9], [1, 16]]) {
        const tokens = Int32Array.from({ length: B * T }, () => random.below(config.vocabSize));
        // the second shape as classification: every target ignored (-1) but the last
        const targets = Int32Array.from({ length: B * T }, (_, i) => (B === 1 && i < T - 1 ? -1 : random.below(config.vocabSize)));
        const expected = await js.forwardBackward(tokens, targets, B, T, 0.5);
        assertClose([await engine.forwardBackward(tokens, targets, B, T, 0.5)], [expected], 1e-5, `${name} step ${step} loss B ${B}`);
      }
      assertClose(await engine.gradients(), await js.gradients(), 1e-4, `${name} step ${step} accumulated gradients`);
      assertClose([await engine.update(1e-2)], [await js.update(1e-2)], 1e-4, `${name} step ${step} gradient norm`);
      assertClose(await engine.parameters(), await js.parameters(), 1e-4, `${name} step ${step} parameters`);
    }
    assertSameState(await engine.optimizerState(), await js.optimizerState(), name);
    const tokens = Int32Array.from({ length: 7 }, () => random.below(config.vocabSize));
    const [la, lb] = [await engine.nextLogits(tokens), await js.nextLogits(tokens)];
    assertClose(la, lb, 1e-4, `${name} next-token logits`);
    engine.dispose();
    await gpu?.checkErrors();
  });
}

// Heads of 36: where the device has subgroups (SwiftShader has) the engine runs attention-subgroup.wgsl.
// Losses and gradients only: AdamW's step divides by the square roots of near-zero moments, which
// turn the last bits of a gradient into visible differences in the parameters.
test('webgpu backend: heads of 36 give the js backend\'s losses, gradients and logits', async () => {
  const gpu = await webgpuBackend();
  if (!gpu) return;
  const config = checkConfig({ ...TEST_BASE, width: 72, heads: 2, wavelet: { form: 'haar' } });
  const layout = parameterLayout(config);
  const params = initialParameters(config, layout, 3);
  const random = new SeededRandom(8);
  redrawWeights(params, layout, random, 0.3);
  const options = { config, layout, parameters: params, optimizer: DEFAULT_ADAMW };
  const js = new JsModel(options);
  const engine = await WebGPUModel.create(options, gpu);
  assert.is(isHeadSplit(engine.attentionTiling), gpu.device.features.has('subgroups'), `tiling ${JSON.stringify(engine.attentionTiling)}`);
  for (const [B, T] of [[2, 9], [1, 16]]) {
    const tokens = Int32Array.from({ length: B * T }, () => random.below(config.vocabSize));
    assertClose([await engine.forwardBackward(tokens, tokens, B, T, 0.5)], [await js.forwardBackward(tokens, tokens, B, T, 0.5)], 1e-5, `loss B ${B}`);
  }
  assertClose(await engine.gradients(), await js.gradients(), 1e-4, 'accumulated gradients');
  const tokens = Int32Array.from({ length: 7 }, () => random.below(config.vocabSize));
  assertClose(await engine.nextLogits(tokens), await js.nextLogits(tokens), 1e-4, 'next-token logits');
  engine.dispose();
  await gpu.checkErrors();
});

function assertSameState(found: OptimizerState, expected: OptimizerState, what: string): void {
  assert.is(found.kind, expected.kind, `${what}: optimizer`);
  assert.is(found.t, expected.t, `${what}: steps taken`);
  assert.equal(Object.keys(found.slots), Object.keys(expected.slots), `${what}: optimizer slots`);
  for (const name of Object.keys(expected.slots)) assertClose(found.slots[name], expected.slots[name], 1e-4, `${what}: optimizer slot ${name}`);
}

test('Adagrad (L2 decay, clipping active) on each fast backend steps as on js; its state survives load', async () => {
  const config = CONFIGS[2][1]; // haar
  const layout = parameterLayout(config);
  const optimizer = { kind: 'adagrad' as const, epsilon: 1e-10, weightDecay: 0.05, clipNorm: 0.02 };
  const random = new SeededRandom(31);
  const batches = Array.from({ length: 3 }, () => Int32Array.from({ length: 2 * 16 }, () => random.below(config.vocabSize)));
  const options = { config, layout, parameters: initialParameters(config, layout, 7), optimizer };
  const js = new JsModel(options);
  const engines: [string, BackendModel | undefined][] = [];
  for (const [name, make] of Object.entries(ENGINES)) engines.push([name, await make(options)]);
  for (let step = 0; step < 3; step++) {
    const expectedLoss = await js.forwardBackward(batches[step], batches[(step + 1) % 3], 2, 16, 1);
    const expectedNorm = await js.update(2e-2);
    assert.ok(expectedNorm > optimizer.clipNorm, `the clip is active (norm ${expectedNorm})`);
    for (const [name, engine] of engines) {
      if (!engine) continue;
      assertClose([await engine.forwardBackward(batches[step], batches[(step + 1) % 3], 2, 16, 1)], [expectedLoss], 1e-5, `${name} Adagrad step ${step} loss`);
      assertClose([await engine.update(2e-2)], [expectedNorm], 1e-4, `${name} Adagrad step ${step} gradient norm`);
      assertClose(await engine.parameters(), await js.parameters(), 1e-4, `${name} Adagrad step ${step} parameters`);
    }
  }
  const state = await js.optimizerState();
  assert.equal(Object.keys(state.slots), ['sum'], 'Adagrad keeps one slot');
  for (const [name, engine] of engines) {
    if (!engine) continue;
    assertSameState(await engine.optimizerState(), state, name);
    // load() puts a state back; one of another optimizer is refused by name.
    await engine.load(await js.parameters(), state);
    assertSameState(await engine.optimizerState(), state, `${name} after load`);
    const refused = await engine.load(new Float32Array(layout.count), { kind: 'adamw', t: 1, slots: { m: new Float32Array(layout.count), v: new Float32Array(layout.count) } }).then(() => undefined, (error: Error) => error.message);
    assert.match(refused ?? 'accepted', /optimizer state of adamw given to a model training with adagrad/);
    engine.dispose();
  }
});

test('every engine overfits a fixed batch: the loss falls', async () => {
  const config = CONFIGS[2][1]; // haar
  const layout = parameterLayout(config);
  const options = { config, layout, parameters: initialParameters(config, layout, 6), optimizer: DEFAULT_ADAMW };
  const random = new SeededRandom(12);
  const tokens = Int32Array.from({ length: 32 }, () => random.below(config.vocabSize));
  const targets = Int32Array.from({ length: 32 }, () => random.below(config.vocabSize));
  const engines: [string, BackendModel | undefined][] = [['js', new JsModel(options)]];
  for (const [name, make] of Object.entries(ENGINES)) engines.push([name, await make(options)]);
  for (const [name, engine] of engines) {
    if (!engine) continue;
    const first = await engine.forwardBackward(tokens, targets, 2, 16, 1);
    await engine.update(2e-2);
    let last = first;
    for (let step = 0; step < 40; step++) {
      last = await engine.forwardBackward(tokens, targets, 2, 16, 1);
      await engine.update(2e-2);
    }
    assert.ok(last < 0.3 * first, `${name}: loss ${first} -> ${last}`);
  }
});

test('webgpu backend with split-K weight gradients (B * T = 1024) trains as the js backend', async () => {
  const gpu = await webgpuBackend();
  if (!gpu) return;
  const config = checkConfig({ vocabSize: 9, context: 128, layers: 1, width: 8, heads: 2, feedForward: 8, headDense: 8, wavelet: { form: 'haar' } });
  const layout = parameterLayout(config);
  const options = { config, layout, parameters: initialParameters(config, layout, 4), optimizer: DEFAULT_ADAMW };
  const [js, engine] = [new JsModel(options), await WebGPUModel.create(options, gpu)];
  const random = new SeededRandom(8);
  const tokens = Int32Array.from({ length: 1024 }, () => random.below(9));
  assertClose([await engine.forwardBackward(tokens, tokens, 8, 128, 1)], [await js.forwardBackward(tokens, tokens, 8, 128, 1)], 1e-5, 'loss');
  assertClose([await engine.update(1e-2)], [await js.update(1e-2)], 1e-4, 'gradient norm');
  assertClose(await engine.parameters(), await js.parameters(), 1e-4, 'parameters');
  await gpu.checkErrors();
});

test('calls issued without awaiting the one before give what awaited calls give (every backend)', async () => {
  const config = CONFIGS[3][1]; // learnable: the most launches a step
  const layout = parameterLayout(config);
  const random = new SeededRandom(21);
  const batches = Array.from({ length: 3 }, () => Int32Array.from({ length: 2 * 16 }, () => random.below(config.vocabSize)));
  for (const [name, make] of Object.entries(ENGINES)) {
    const options = () => ({ config, layout, parameters: initialParameters(config, layout, 9), optimizer: DEFAULT_ADAMW });
    const [awaited, issued] = [await make(options()), await make(options())];
    if (!awaited || !issued) continue;
    for (let step = 0; step < 2; step++) {
      // two micro-batches of different targets, then the update; then an evaluation
      const expected = [await awaited.forwardBackward(batches[0], batches[1], 2, 16, 0.5), await awaited.forwardBackward(batches[1], batches[2], 2, 16, 0.5), await awaited.update(1e-2), await awaited.evaluate(batches[2], batches[0], 2, 16)];
      const found = await Promise.all([issued.forwardBackward(batches[0], batches[1], 2, 16, 0.5), issued.forwardBackward(batches[1], batches[2], 2, 16, 0.5), issued.update(1e-2), issued.evaluate(batches[2], batches[0], 2, 16)]);
      assert.equal(found, expected, `${name} step ${step}: losses, gradient norm, evaluation`);
    }
    assert.equal(await issued.parameters(), await awaited.parameters(), `${name}: parameters`);
  }
});

test.run();
