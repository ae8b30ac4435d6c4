// pointwise.wgsl's gelu, gelu_backward and add against ref.ts, at sizes where each invocation
// takes all four of its elements (a launch's width apart) and the last of them runs past n, and
// at fewer elements than one workgroup's invocations; its column sums (a bias's gradient) against
// sums in float64, at shapes cut into tens and over a hundred parts of rows (some ragged) and into two.
import { test } from 'uvu';
import { createBuffer, readBuffer } from '../../../src/runtime/webgpu.js';
import { columnSumLaunches, columnSumScratchFloats, GptKernels, pointwiseLaunch, record } from '../../../src/kernels/gpt/webgpu.js';
import { geluBackward, geluForward, residualForward } from '../../../src/kernels/gpt/ref.js';
import { assertClose, randomArray, seededRandom, webgpuBackend } from '../../helpers.js';

for (const n of [4001, 3]) {
  test(`pointwise.wgsl gelu, gelu_backward (added into, and written over NaNs) and add equal ref.ts over ${n} elements`, async () => {
    const gpu = await webgpuBackend();
    if (!gpu) return;
    const random = seededRandom(n);
    // Inputs past tanh's clamp (|x| > 5) as well as near 0.
    const x = randomArray(n, random).map((v) => 8 * v);
    const y = randomArray(n, random);
    const initial = randomArray(n, random);
    const gelu = new Float32Array(n);
    geluForward(gelu, x);
    const gradient = initial.slice();
    geluBackward(gradient, x, y);
    const fresh = new Float32Array(n);
    geluBackward(fresh, x, y);
    const sum = new Float32Array(n);
    residualForward(sum, x, y);

    const k = new GptKernels(gpu.device, 4);
    const buffer = (values: Float32Array) => createBuffer(gpu.device, 4 * values.length, undefined, values);
    const [xb, yb, geluOut, gradientOut, freshOut, sumOut] = [buffer(x), buffer(y), buffer(new Float32Array(n)), buffer(initial), buffer(new Float32Array(n).fill(NaN)), buffer(new Float32Array(n))];
    const encoder = gpu.device.createCommandEncoder();
    record(encoder, [
      pointwiseLaunch(k, 'gelu', n, xb, k.unused, geluOut),
      pointwiseLaunch(k, 'gelu_backward', n, xb, yb, gradientOut, true),
      pointwiseLaunch(k, 'gelu_backward', n, xb, yb, freshOut, false),
      pointwiseLaunch(k, 'add', n, xb, yb, sumOut),
    ]);
    gpu.device.queue.submit([encoder.finish()]);
    assertClose(await readBuffer(gpu.device, geluOut), gelu, 1e-5, 'gelu');
    assertClose(await readBuffer(gpu.device, gradientOut), gradient, 1e-5, 'gelu_backward, added');
    assertClose(await readBuffer(gpu.device, freshOut), fresh, 1e-5, 'gelu_backward, written');
    assertClose(await readBuffer(gpu.device, sumOut), sum, 1e-6, 'add');
    await gpu.checkErrors();
  });
}

for (const [rows, width] of [[1023, 70], [4001, 70], [3, 5], [40, 70000]]) {
  test(`pointwise.wgsl column sums of ${rows} rows of ${width}, added into a gradient at an offset, equal float64 sums`, async () => {
    const gpu = await webgpuBackend();
    if (!gpu) return;
    const random = seededRandom(rows + width);
    const x = randomArray(rows * width, random);
    const offset = 5;
    const initial = randomArray(offset + width + 3, random);
    const expected = initial.slice();
    for (let c = 0; c < width; c++) {
      let sum = 0;
      for (let r = 0; r < rows; r++) sum += x[r * width + c];
      expected[offset + c] += sum;
    }
    const k = new GptKernels(gpu.device, 4);
    const buffer = (values: Float32Array) => createBuffer(gpu.device, 4 * values.length, undefined, values);
    const grads = buffer(initial);
    const encoder = gpu.device.createCommandEncoder();
    record(encoder, columnSumLaunches(k, rows, width, buffer(x), createBuffer(gpu.device, 4 * columnSumScratchFloats(rows, width)), grads, offset));
    gpu.device.queue.submit([encoder.finish()]);
    assertClose(await readBuffer(gpu.device, grads), expected, 1e-5, 'column sums');
    await gpu.checkErrors();
  });
}

test.run();
