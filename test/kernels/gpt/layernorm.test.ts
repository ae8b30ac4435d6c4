// layernorm.wgsl against ref.ts's LayerNorm, forward and backward, at sizes the layer tests (a few
// rows, 6 channels) do not reach: more rows than the parameter gradients' parts (256), so that a
// part sums several rows and the last part fewer, more channels than one workgroup's 64 (70, and
// 300: five rounds of its invocations, the last ragged), and a row shorter than its 64 invocations.
import { test } from 'uvu';
import { createBuffer, readBuffer } from '../../../src/runtime/webgpu.js';
import { GptKernels, grid, record } from '../../../src/kernels/gpt/webgpu.js';
import { layernormBackward, layernormForward } from '../../../src/kernels/gpt/ref.js';
import { LAYERNORM_PARTS, layernormPartialFloats } from '../../../src/backends/webgpu/layers.js';
import { assertClose, randomArray, seededRandom, webgpuBackend } from '../../helpers.js';

for (const [N, C] of [[700, 70], [1, 5], [13, 33], [3, 300]]) {
  test(`layernorm.wgsl equals ref.ts: ${N} rows of ${C} channels, forward, input and parameter gradients (added into)`, async () => {
    const gpu = await webgpuBackend();
    if (!gpu) return;
    const random = seededRandom(N + C);
    const inp = randomArray(N * C, random);
    const dout = randomArray(N * C, random);
    // The parameters at offsets inside one buffer, as the model lays them out.
    const [wOffset, bOffset] = [3, 3 + C + 2];
    const params = randomArray(bOffset + C + 1, random);
    const w = params.slice(wOffset, wOffset + C);
    const b = params.slice(bOffset, bOffset + C);
    const initialDinp = randomArray(N * C, random);
    const initialGrads = randomArray(params.length, random);

    const out = new Float32Array(N * C);
    const [mean, rstd] = [new Float32Array(N), new Float32Array(N)];
    layernormForward(out, mean, rstd, inp, w, b, N, C);
    const dinp = initialDinp.slice();
    const [dw, db] = [new Float32Array(C), new Float32Array(C)];
    layernormBackward(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
    const grads = initialGrads.slice();
    for (let c = 0; c < C; c++) {
      grads[wOffset + c] += dw[c];
      grads[bOffset + c] += db[c];
    }

    const k = new GptKernels(gpu.device, 4);
    const buffer = (values: Float32Array | number) => (typeof values === 'number' ? createBuffer(gpu.device, 4 * values) : createBuffer(gpu.device, 4 * values.length, undefined, values));
    const [x, P, y, stats, dy, dx, G, partials] = [buffer(inp), buffer(params), buffer(N * C), buffer(2 * N), buffer(dout), buffer(initialDinp), buffer(initialGrads), buffer(layernormPartialFloats(C))];
    const uniforms = [N, C, wOffset, bOffset];
    const encoder = gpu.device.createCommandEncoder();
    record(encoder, [
      k.dispatch('layernorm', 'forward', uniforms, [x, P, y, stats, k.unused, k.unusedWritable], grid(N, 1)),
      k.dispatch('layernorm', 'backward_input', uniforms, [x, P, dx, stats, dy, k.unusedWritable], grid(N, 1)),
      k.dispatch('layernorm', 'backward_params_partials', uniforms, [x, P, partials, stats, dy, k.unusedWritable], [Math.ceil(C / 64), LAYERNORM_PARTS, 1]),
      k.dispatch('layernorm', 'backward_params_total', uniforms, [k.unused, P, partials, stats, k.unused, G], [C, 1, 1]),
    ]);
    gpu.device.queue.submit([encoder.finish()]);
    assertClose(await readBuffer(gpu.device, y), out, 1e-5, 'forward');
    assertClose(await readBuffer(gpu.device, dx), dinp, 1e-4, 'input gradient');
    assertClose(await readBuffer(gpu.device, G), grads, 1e-4, 'parameter gradients');
    await gpu.checkErrors();
  });
}

test.run();
