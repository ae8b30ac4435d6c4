// Every layer kind on every backend, alone, so that a failure names the kernel (after ggml's
// test-backend-ops): each case is a small network, embedding -> the layer (and what feeds it) ->
// a linear head, on odd shapes (width 6, not a multiple of 4; T = 1; T shorter than a look back;
// batch 1). The js backend's loss and every gradient are held to TensorFlow.js autodiff of the same
// network, its decode step to its own full passes; wasm and WebGPU are held to js, forward,
// backward and decode. A backend without a kernel for a kind must say so (and be listed here).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import { JsModel } from '../../src/backends/js/model.js';
import { WebGPUModel } from '../../src/backends/webgpu/model.js';
import type { BackendModel, ModelOptions } from '../../src/backends/model.js';
import { DEFAULT_ADAMW } from '../../src/kernels/optimizer/ref.js';
import { checkConfig, type GPTConfig, type WaveletStructure } from '../../src/model/config.js';
import { networkBuilder, type Layer, type Network } from '../../src/model/network.js';
import { initialParameters, slice, waveletPlanOf, type AddTensor, type Init, type ParameterLayout, type ParameterTensor } from '../../src/model/parameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { loraTensors, withLora } from '../../src/model/lora.js';
import { useTfjsBackend } from '../../src/tfjs/backends.js';
import { tfjsLoss, tfjsParameters } from '../../src/tfjs/network.js';
import { registerWaveletOp } from '../../src/tfjs/wavelet_op.js';
import { assertClose, fastModels, webgpuBackend } from '../helpers.js';

const C = 6; // the residual width: not a multiple of 4
const V = 7;

interface LayerCase {
  name: string;
  /** The layer kinds under test (others in the network only feed them). */
  kinds: Layer['kind'][];
  /** Builds the layers after the embedding `x` (width C); returns the activation the head reads and its width. */
  build(x: string, add: (layer: Layer, width: number) => string, tensor: AddTensor, config: GPTConfig): [string, number];
  wavelet?: WaveletStructure;
}

const linear = (add: (layer: Layer, width: number) => string, tensor: AddTensor, input: string, out: string, inFeatures: number, outFeatures: number, bias = true) => {
  tensor(`${out}.w`, [outFeatures, inFeatures], { normal: 0.5 });
  if (bias) tensor(`${out}.b`, [outFeatures], { normal: 0.5 });
  return add({ kind: 'linear', in: input, out, weight: `${out}.w`, bias: bias ? `${out}.b` : null, inFeatures, outFeatures }, outFeatures);
};

const CASES: LayerCase[] = [
  { name: 'embedding (tokens and positions)', kinds: ['embedding'], build: (x) => [x, C] },
  {
    name: 'layernorm', kinds: ['layernorm'],
    build: (x, add, tensor) => {
      tensor('ln.w', [C], { normal: 1 });
      tensor('ln.b', [C], { normal: 0.5 });
      return [add({ kind: 'layernorm', in: x, out: 'ln', weight: 'ln.w', bias: 'ln.b' }, C), C];
    },
  },
  { name: 'linear, 6 -> 5 with bias, then 5 -> 9 without', kinds: ['linear'], build: (x, add, tensor) => [linear(add, tensor, linear(add, tensor, x, 'a', C, 5), 'b', 5, 9, false), 9] },
  { name: 'gelu', kinds: ['gelu'], build: (x, add) => [add({ kind: 'gelu', in: x, out: 'gelu' }, C), C] },
  {
    name: 'residual', kinds: ['residual'],
    build: (x, add, tensor) => {
      // The stream's other reader comes before the branch's last layer, as in a block (buffers.ts).
      const branch = linear(add, tensor, add({ kind: 'gelu', in: x, out: 'inner' }, C), 'branch', C, C);
      return [add({ kind: 'residual', stream: x, branch, out: 'residual' }, C), C];
    },
  },
  { name: 'attention, 2 heads of 3', kinds: ['attention'], build: (x, add, tensor) => [add({ kind: 'attention', in: linear(add, tensor, x, 'qkv', C, 3 * C, false), out: 'attention', heads: 2 }, C), C] },
  ...(['haar', 'learnable', 'ema'] as const).map((form): LayerCase => ({
    name: `wavelet (${form}, windows up to 4)`, kinds: ['wavelet'], wavelet: { form, maxWindow: 4 },
    build: (x, add, tensor, config) => {
      if (form === 'learnable') tensor('taps', [waveletPlanOf(config)!.tapCount], 'haar');
      return [add({ kind: 'wavelet', in: x, out: 'wavelet', taps: form === 'learnable' ? 'taps' : null }, C), C];
    },
  })),
  { name: 'pad, 6 -> 8', kinds: ['pad'], build: (x, add) => [add({ kind: 'pad', in: x, out: 'padded', from: C, to: 8 }, 8), 8] },
  ...[1, 2, 4].map((delay): LayerCase => ({
    name: `lifting_predict, delay ${delay}`, kinds: ['lifting_predict'],
    build: (x, add, tensor) => [add({ kind: 'lifting_predict', in: x, predicted: linear(add, tensor, x, 'predicted', C, C), out: 'detail', delay }, C), C],
  })),
  {
    name: 'sum, constant and learned factors', kinds: ['sum'],
    build: (x, add, tensor) => {
      tensor('alpha', [1], { normal: 1 });
      const other = linear(add, tensor, x, 'other', C, C);
      const constant = add({ kind: 'sum', a: x, b: other, out: 'constant', scaleA: Math.SQRT2, scaleB: -1 }, C);
      return [add({ kind: 'sum', a: constant, b: x, out: 'learned', scaleA: { parameter: 'alpha' }, scaleB: 0.5 }, C), C];
    },
  },
  {
    name: 'scale', kinds: ['scale'],
    build: (x, add, tensor) => {
      tensor('factor', [1], { normal: 1 });
      return [add({ kind: 'scale', in: x, out: 'scaled', factor: 'factor' }, C), C];
    },
  },
  {
    name: 'channel_scale', kinds: ['channel_scale'],
    build: (x, add, tensor) => {
      tensor('gain', [C], { normal: 1 });
      return [add({ kind: 'channel_scale', in: x, out: 'gained', gain: 'gain' }, C), C];
    },
  },
  { name: 'hadamard, width 8', kinds: ['hadamard'], build: (x, add) => [add({ kind: 'hadamard', in: add({ kind: 'pad', in: x, out: 'padded', from: C, to: 8 }, 8), out: 'spectrum' }, 8), 8] },
  { name: 'silu_gate', kinds: ['silu_gate'], build: (x, add, tensor) => [add({ kind: 'silu_gate', in: x, gate: linear(add, tensor, x, 'gate', C, C), out: 'gated' }, C), C] },
  {
    name: 'scale_route, 3 scales', kinds: ['scale_route'],
    build: (x, add, tensor) => {
      tensor('route', [3, 3], { normal: 1 });
      const ins = [x, linear(add, tensor, x, 'second', C, C), add({ kind: 'gelu', in: x, out: 'third' }, C)];
      const routes = [0, 1, 2].map((row) => add({ kind: 'scale_route', ins, out: `routed${row}`, matrix: 'route', row }, C));
      return [add({ kind: 'sum', a: add({ kind: 'sum', a: routes[0], b: routes[1], out: 'r01', scaleA: 1, scaleB: 1 }, C), b: routes[2], out: 'routed', scaleA: 1, scaleB: 1 }, C), C];
    },
  },
  {
    // The rewrite itself (model/lora.ts) on a linear layer: base + (alpha / r) up(down(x)).
    name: 'LoRA beside a linear layer, 6 -> 5, rank 2', kinds: ['linear', 'sum'],
    build: (x, add, tensor) => {
      tensor('a.w', [5, C], { normal: 0.5 });
      tensor('a.b', [5], { normal: 0.5 });
      for (const t of loraTensors([{ name: 'a.w', shape: [5, C] }], 2)) tensor(t.name, t.shape, { normal: 0.5 }); // B drawn too: A then has a gradient
      const base: Network = { layers: [{ kind: 'linear', in: x, out: 'a', weight: 'a.w', bias: 'a.b', inFeatures: C, outFeatures: 5 }], widths: new Map([['a', 5]]), logits: 'a' };
      const adapted = withLora(base, { rank: 2, alpha: 3, targets: ['a.w'] }, ['a.w']);
      for (const layer of adapted.layers) add(layer, adapted.widths.get(layer.out)!);
      return ['a', 5];
    },
  },
  { name: 'running_mean', kinds: ['running_mean'], build: (x, add) => [add({ kind: 'running_mean', in: x, out: 'mean' }, C), C] },
];

/** The case's network, layout (every tensor drawn from `seed`) and a GPT config carrying the sizes the backends read. */
function caseModel(c: LayerCase, T: number, seed: number): ModelOptions & { network: Network } {
  const config: GPTConfig = checkConfig({ vocabSize: V, context: T, layers: 1, width: C, heads: 2, feedForward: 8, headDense: 0, wavelet: c.wavelet ?? null });
  const tensors: ParameterTensor[] = [];
  let offset = 0;
  const tensor: AddTensor = (name: string, shape: number[], init: Init) => {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, shape, offset, size, init });
    offset += size;
  };
  const { add, done } = networkBuilder();
  tensor('wte', [V, C], { normal: 1 });
  tensor('wpe', [T, C], { normal: 0.5 });
  const x = add({ kind: 'embedding', out: 'x', tokens: 'wte', positions: 'wpe' }, C);
  const [last, width] = c.build(x, add, tensor, config);
  tensor('out.w', [V, width], { normal: 0.5 });
  const logits = add({ kind: 'linear', in: last, out: 'logits', weight: 'out.w', bias: null, inFeatures: width, outFeatures: V }, V);
  const layout: ParameterLayout = { tensors, byName: new Map(tensors.map((t) => [t.name, t])), count: offset };
  const parameters = initialParameters(config, layout, seed);
  return { config, layout, parameters, network: done(logits) };
}

/** The kinds each fast backend has no kernel for yet: listed, so that adding one must update this. */
const MISSING: Record<string, Layer['kind'][]> = {
  wasm: [],
  webgpu: [],
};

const SHAPES: [number, number][] = [[2, 5], [1, 1], [1, 3]]; // (B, T): T = 5, T = 1, T shorter than the look back of 4

for (const c of CASES) {
  test(`layer ${c.name}: js against tfjs autodiff and its own decode, wasm and webgpu against js`, async () => {
    await registerWaveletOp();
    await useTfjsBackend('cpu');
    for (const [B, T] of SHAPES) {
      const shape = `B ${B}, T ${T}`;
      const options = caseModel(c, T, 17 + T);
      const { layout, parameters, network } = options;
      const random = new SeededRandom(B * 10 + T);
      const tokens = Int32Array.from({ length: B * T }, () => random.below(V));
      const targets = Int32Array.from({ length: B * T }, () => random.below(V));
      const js = new JsModel({ ...options, optimizer: DEFAULT_ADAMW });
      const loss = await js.forwardBackward(tokens, targets, B, T, 1);
      const grads = await js.gradients();

      const vars = tfjsParameters(layout, parameters, `layer ${c.name} ${shape}/`);
      const { value, grads: expected } = tf.variableGrads(() => tfjsLoss(options.config, vars, tokens, targets, B, T, network));
      assertClose([loss], [(await value.data())[0]], 1e-5, `${c.name} (${shape}): js loss against tfjs`);
      for (const t of layout.tensors) {
        if (t.size === 0) continue;
        assertClose(slice(grads, layout, t.name), await expected[`layer ${c.name} ${shape}/${t.name}`].data(), 2e-4, `${c.name} (${shape}): js d${t.name} against tfjs`);
      }
      tf.dispose([value, ...Object.values(expected), ...vars.values()]);

      // Decode: B sequences a position at a time, against the full pass over each prefix.
      const decoder = await js.decoder(B);
      const decoded: Float32Array[] = [];
      for (let t = 0; t < T; t++) {
        const logits = await decoder.step(Array.from({ length: B }, (_, b) => tokens[b * T + t]));
        decoded.push(logits.slice());
        for (let b = 0; b < B; b++) assertClose(logits.subarray(b * V, b * V + V), await js.nextLogits(tokens.slice(b * T, b * T + t + 1)), 1e-5, `${c.name} (${shape}): js decode, sequence ${b}, position ${t}`);
      }
      decoder.dispose();

      for (const model of await fastModels({ ...options, optimizer: DEFAULT_ADAMW })) {
        const what = `${c.name} (${shape}) on ${model.backend}`;
        try {
          await checkAgainstJs(model, what, { tokens, targets, B, T, loss, grads, decoded, layout });
        } catch (error) {
          const missing = /no kernel for the '(\w+)' layer/.exec((error as Error).message)?.[1];
          if (!missing) throw error;
          assert.ok(MISSING[model.backend]?.includes(missing as Layer['kind']), `${what}: no kernel for '${missing}', which is not listed as missing`);
          assert.ok(c.kinds.some((k) => MISSING[model.backend].includes(k)), `${what}: a kernel the case does not test is missing`);
        } finally {
          model.dispose();
        }
      }
      js.dispose();
    }
    await (await webgpuBackend())?.checkErrors();
  });
}

test('past 65,535 positions a step (B x T = 66,560): the embedding, LayerNorm and the head on WebGPU, against js', async () => {
  const gpu = await webgpuBackend();
  if (!gpu) return;
  // WebGPU grids have at most 65,535 workgroups a dimension; kernels with a workgroup a row fold
  // their rows into two. Most positions hold one of 7 tokens, so the embedding's gradient sums long runs.
  const [B, T] = [1040, 64];
  const options = caseModel(CASES.find((c) => c.name === 'layernorm')!, T, 5);
  const random = new SeededRandom(9);
  const tokens = Int32Array.from({ length: B * T }, () => random.below(V));
  const targets = Int32Array.from({ length: B * T }, () => random.below(V));
  const js = new JsModel({ ...options, optimizer: DEFAULT_ADAMW });
  const loss = await js.forwardBackward(tokens, targets, B, T, 1);
  const grads = await js.gradients();
  const webgpu = await WebGPUModel.create({ ...options, optimizer: DEFAULT_ADAMW }, gpu);
  try {
    const got = await webgpu.forwardBackward(tokens, targets, B, T, 1);
    assertClose([got], [loss], 1e-5, 'loss');
    const gpuGrads = await webgpu.gradients();
    for (const t of options.layout.tensors) assertClose(slice(gpuGrads, options.layout, t.name), slice(grads, options.layout, t.name), 2e-4, `d${t.name}`);
  } finally {
    js.dispose();
    webgpu.dispose();
  }
  await gpu.checkErrors();
});

async function checkAgainstJs(model: BackendModel, what: string, expected: { tokens: Int32Array; targets: Int32Array; B: number; T: number; loss: number; grads: Float32Array; decoded: Float32Array[]; layout: ParameterLayout }): Promise<void> {
  const { tokens, targets, B, T, layout } = expected;
  const loss = await model.forwardBackward(tokens, targets, B, T, 1);
  assertClose([loss], [expected.loss], 1e-5, `${what}: loss`);
  const grads = await model.gradients();
  for (const t of layout.tensors) if (t.size) assertClose(slice(grads, layout, t.name), slice(expected.grads, layout, t.name), 2e-4, `${what}: d${t.name}`);
  const decoder = await model.decoder(B);
  try {
    for (let t = 0; t < T; t++) assertClose(await decoder.step(Array.from({ length: B }, (_, b) => tokens[b * T + t])), expected.decoded[t], 1e-4, `${what}: decode at position ${t}`);
  } finally {
    decoder.dispose();
  }
}

test('every layer kind has a case', () => {
  const kinds: Layer['kind'][] = ['embedding', 'layernorm', 'linear', 'attention', 'gelu', 'residual', 'wavelet', 'pad', 'lifting_predict', 'sum', 'scale', 'channel_scale', 'hadamard', 'silu_gate', 'scale_route', 'running_mean'];
  for (const kind of kinds) assert.ok(CASES.some((c) => c.kinds.includes(kind)), `no case tests '${kind}'`);
});

test.run();
