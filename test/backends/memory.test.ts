// The memory planner against what the engines take: the wasm engine's bytes in use after a step
// equal the plan (the plan counts every buffer the description assigns and every layer's saved
// state), for both architectures and every wavelet form; a step over the limit is refused before
// anything is allocated, naming the figures and the micro-batch that fits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { checkConfig, waveletLmPresetConfig, type ModelConfig } from '../../src/model/config.js';
import { initialParameters, parameterLayout } from '../../src/model/parameters.js';
import { networkOf } from '../../src/model/networks.js';
import { WasmModel } from '../../src/backends/wasm/model.js';
import { JsModel } from '../../src/backends/js/model.js';
import { MemoryPlanError, memoryLimits, planMicroBatch, trainingMemory, WASM32_BYTES } from '../../src/backends/memory.js';
import { DEFAULT_ADAMW, defaultOptimizer, OPTIMIZER_SLOTS } from '../../src/kernels/optimizer/ref.js';
import { TEST_CONFIGS } from '../model/configs.js';

const CONFIGS: [string, ModelConfig][] = [
  ...TEST_CONFIGS,
  ['WaveletLM', waveletLmPresetConfig('tiny', { vocabSize: 13, context: 16, width: 12, levels: 2 })],
];

for (const [name, config] of CONFIGS) {
  test(`the plan of a wasm training step equals the bytes the engine holds (${name})`, async () => {
    const layout = parameterLayout(config);
    for (const optimizer of [DEFAULT_ADAMW, defaultOptimizer('adagrad')]) {
      const model = await WasmModel.create({ config, layout, parameters: initialParameters(config, layout, 1), optimizer }, readFileSync('build/wavelet.wasm'));
      const fixed = model.memoryInUse(); // weights, gradients, optimizer, mask, the wavelet op's tables
      for (const [B, T] of [[1, 5], [3, 16]]) {
        const tokens = new Int32Array(B * T).fill(1);
        await model.forwardBackward(tokens, tokens, B, T, 1);
        const plan = trainingMemory('wasm', config, networkOf(config), OPTIMIZER_SLOTS[optimizer.kind].length, B, T);
        const { weights, gradients, optimizer: slots } = plan.parts;
        const wavelet = fixed - (weights + gradients + slots);
        assert.ok(wavelet >= 0 && wavelet < 64 * 1024, `${optimizer.kind}: the fixed part beyond the plan is the wavelet op's tables only (${wavelet} bytes)`);
        // every block is rounded to 16 bytes: at most 15 bytes a block more than planned
        const step = model.memoryInUse() - fixed;
        const planned = plan.total - (weights + gradients + slots);
        assert.ok(step >= planned && step - planned <= 16 * 200, `${optimizer.kind} B ${B} T ${T}: the step holds ${step} bytes, the plan says ${planned}`);
      }
      model.dispose();
    }
  });
}

test('a step over the limit is refused before it is allocated: the figures, the limit, and the micro-batch that fits', async () => {
  // paper-text8's shape at batch 32 needs about 4.4 GiB: over wasm32's 4 GiB
  const config = checkConfig({ vocabSize: 27, context: 512, layers: 10, width: 128, heads: 8, feedForward: 512, headDense: 2048, wavelet: { form: 'haar' } });
  const plan = (b: number) => trainingMemory('wasm', config, networkOf(config), 2, b, 512);
  assert.ok(plan(32).total > WASM32_BYTES && plan(16).total < WASM32_BYTES, `${plan(32).total} ${plan(16).total}`);
  assert.is(planMicroBatch(32, (b) => plan(b).total <= memoryLimits('wasm').totalBytes!), 16);
  assert.is(planMicroBatch(12, (b) => b <= 5), 4, 'the largest divisor that fits');
  assert.is(planMicroBatch(7, () => false), undefined);
  const layout = parameterLayout(config);
  const model = await WasmModel.create({ config, layout, parameters: initialParameters(config, layout, 1), optimizer: DEFAULT_ADAMW }, readFileSync('build/wavelet.wasm'));
  const before = model.memoryBytes();
  const tokens = new Int32Array(32 * 512);
  const error = await model.forwardBackward(tokens, tokens, 32, 512, 1).then(() => undefined, (e: Error) => e);
  assert.instance(error, MemoryPlanError);
  assert.match(error!.message, /a step at batch 32 \(context 512\) needs 4\.\d\d GiB on wasm .*wasm32 memory holds 4 GiB.*--micro-batch 16 \(or auto\)/);
  assert.is(model.memoryBytes(), before, 'nothing was allocated');
  model.dispose();
  // A budget applies to every backend, js too.
  const js = new JsModel({ config, layout, parameters: initialParameters(config, layout, 1), optimizer: DEFAULT_ADAMW, memoryBudget: 2 ** 30 });
  await js.forwardBackward(new Int32Array(16 * 512), new Int32Array(16 * 512), 16, 512, 1).then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /needs 2\.\d\d GiB on js .*the memory budget is 1\.00 GiB; --micro-batch 4/),
  );
});

test.run();
