// dispose() gives back what a model holds: every GPU buffer it or its decoders made (counted by
// wrapping the device's createBuffer, independently of our own bookkeeping), the chooser's losing
// models, the wasm arena's blocks of each decoder, and the wasm instance itself; and so does
// WaveletModel.dispose, with the decoders it keeps for reuse.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { chooseBackend } from '../../src/backends/registry.js';
import { WasmModel } from '../../src/backends/wasm/model.js';
import { WebGPUModel } from '../../src/backends/webgpu/model.js';
import { DEFAULT_ADAMW } from '../../src/kernels/optimizer/ref.js';
import { initialParameters, parameterLayout } from '../../src/model/parameters.js';
import { webgpuBackend } from '../helpers.js';
import { WaveletModel } from '../../src/infer/model.js';
import { CharacterTokenizer } from '../../src/tokenizers/characters.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { CHECKPOINT_FORMAT } from '../../src/io/checkpoint.js';
import { TEST_CONFIGS } from '../model/configs.js';

const config = TEST_CONFIGS[3][1]; // learnable: every kind of buffer (taps, tap gradients)
const layout = parameterLayout(config);
const options = { config, layout, parameters: initialParameters(config, layout, 1), optimizer: DEFAULT_ADAMW };
const tokens = Int32Array.from({ length: 2 * 16 }, (_, i) => i % config.vocabSize);

/** Live buffers of a device: created and not destroyed. */
function countBuffers(device: GPUDevice): () => number {
  const live = new Set<GPUBuffer>();
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create(descriptor);
    live.add(buffer);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      live.delete(buffer);
      destroy();
    };
    return buffer;
  };
  return () => live.size;
}

test('webgpu: 20 create/train/decode/dispose cycles leave the live buffers where they started', async () => {
  const gpu = await webgpuBackend();
  if (!gpu) return;
  const live = countBuffers(gpu.device);
  const start = live();
  let during = 0;
  for (let cycle = 0; cycle < 20; cycle++) {
    const model = await WebGPUModel.create(options, gpu);
    await Promise.all([model.forwardBackward(tokens, tokens, 2, 16, 1), model.update(1e-3)]);
    await model.evaluate(tokens.subarray(0, 16), tokens.subarray(0, 16), 1, 16); // a second batch shape: the first program is freed
    const decoder = await model.decoder(2);
    await decoder.step([1, 2]);
    if (cycle % 2) decoder.dispose(); // the model frees the decoders left to it
    during = Math.max(during, live());
    model.dispose();
  }
  assert.ok(during > start + 50, `a model holds buffers while alive (${during - start})`);
  assert.is(live(), start, 'every buffer made by the 20 models was destroyed');
  const { model } = await chooseBackend(options, { mode: 'train', batch: 2 }, { gpu, budgetMs: 50 });
  model.dispose();
  assert.is(live(), start, 'the chooser frees the models that lost and the winner frees itself');
  await gpu.checkErrors();
});

async function decodeAndDispose(model: WasmModel, cycles: number): Promise<void> {
  for (let cycle = 0; cycle < cycles; cycle++) {
    const decoder = await model.decoder(3);
    await decoder.step([1, 2, 3]);
    decoder.dispose();
  }
}

test('wasm: decoders give their blocks back to the arena; dispose lets the instance go', async () => {
  const model = await WasmModel.create(options, readFileSync('build/wavelet.wasm'));
  // The module seen from outside, through a function so that no variable here holds it.
  const module = () => (model as unknown as { wasm: { arena: { bytesInUse(): number }; kernels: { memory: WebAssembly.Memory } } }).wasm;
  await model.forwardBackward(tokens, tokens, 2, 16, 1);
  const inUse = module().arena.bytesInUse();
  const memory = module().kernels.memory.buffer.byteLength;
  await decodeAndDispose(model, 20); // in a function of its own: a suspended frame here would keep its last decoder
  assert.is(module().arena.bytesInUse(), inUse, 'the decoders\' blocks are free again');
  assert.is(module().kernels.memory.buffer.byteLength, memory, 'and reused: the memory did not grow');
  const instance = new WeakRef(module().kernels.memory);
  model.dispose();
  await model.parameters().then(() => assert.unreachable('used after dispose'), (e: Error) => assert.match(e.message, /disposed/));
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, 'the tests run with --expose-gc');
  for (let i = 0; i < 10 && instance.deref(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc!();
  }
  assert.is(instance.deref(), undefined, 'the module\'s memory was collected');
});

test('WaveletModel.dispose frees what the model, its chooser and its kept decoders made', async () => {
  const tokenizer = await CharacterTokenizer.fromCorpus('abcdefghijklm');
  const small = { ...config, vocabSize: tokenizer.vocabSize };
  const smallLayout = parameterLayout(small);
  const bytes = writeSafetensors(
    smallLayout.tensors.map((t) => ({ name: t.name, shape: t.shape, data: initialParameters(small, smallLayout, 2).subarray(t.offset, t.offset + t.size) })),
    { format: CHECKPOINT_FORMAT, config: JSON.stringify(small), tokenizer: JSON.stringify(tokenizer.toJSON()) },
  );
  const gpu = await webgpuBackend();
  if (gpu) {
    const live = countBuffers(gpu.device);
    const start = live();
    for (const backend of ['webgpu', 'auto'] as const) {
      const model = await WaveletModel.load(bytes, { backend, gpu, chooseBudgetMs: 30 });
      await model.complete(['abc', 'def'], { maxTokens: 5 });
      await Promise.all([model.complete('abc', { maxTokens: 5 }), model.complete('abc', { maxTokens: 5 }), model.complete('abc', { maxTokens: 5 })]); // three decoders at once, two kept
      // (auto keeps wasm where WebGPU is software: then the webgpu model it timed is what must be gone)
      if (model.backend === 'webgpu') assert.ok(live() > start + 20, `backend ${backend}: the model and its kept decoders hold buffers (${live() - start})`);
      else assert.is(live(), start, 'the chooser freed the webgpu model it timed');
      model.dispose();
      assert.is(live(), start, `backend ${backend}: every GPU buffer destroyed`);
    }
  }
  const model = await WaveletModel.load(bytes, { backend: 'wasm' });
  await model.complete('abc', { maxTokens: 5 });
  const memory = new WeakRef((model as unknown as { model: { wasm: { kernels: { memory: WebAssembly.Memory } } } }).model.wasm.kernels.memory);
  model.dispose();
  for (let i = 0; i < 10 && memory.deref(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    (globalThis as { gc?: () => void }).gc!();
  }
  assert.is(memory.deref(), undefined, "the wasm instance's memory was collected");
});

test.run();
