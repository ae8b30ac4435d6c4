// Every fast backend (AssemblyScript SIMD, WGSL) against the reference, forward and backward,
// on odd shapes: E = 6, 130, 768 (not multiples of 8, a filtered half not 4-aligned), T = 1, 3,
// T shorter than the windows, T = 4096; B = 1 and 5; all three forms; both mappings and halves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planWavelet, type WaveletForm, type WaveletOptions, type WaveletPlan, type ActivationShape } from '../../../src/model/wavelet_plan.js';
import { waveletBackwardRef, waveletForwardRef, type WaveletGradients } from '../../../src/kernels/wavelet/ref.js';
import { WasmWaveletOp } from '../../../src/kernels/wavelet/wasm.js';
import { WebGPUWaveletOp } from '../../../src/kernels/wavelet/webgpu.js';
import { assertClose, maxAbs, randomArray, seededRandom, wasmBackend, webgpuBackend } from '../../helpers.js';

interface Op {
  forward(shape: ActivationShape, x: Float32Array, taps?: Float32Array): Float32Array | Promise<Float32Array>;
  backward(shape: ActivationShape, x: Float32Array, dy: Float32Array, taps?: Float32Array): WaveletGradients | Promise<WaveletGradients>;
}

const backends: Record<string, (plan: WaveletPlan) => Promise<Op | undefined>> = {
  wasm: async (plan) => new WasmWaveletOp(await wasmBackend(), plan),
  webgpu: async (plan) => {
    const gpu = await webgpuBackend();
    return gpu && new WebGPUWaveletOp(gpu.device, plan);
  },
  // The shapes here are small enough that the adaptive chunk is the shortest; cover long and odd
  // ones. The learnable kernel has no chunks: it is covered above.
  'webgpu chunk 64': async (plan) => {
    const gpu = await webgpuBackend();
    return gpu && plan.form !== 'learnable' ? new WebGPUWaveletOp(gpu.device, plan, { chunk: 64 }) : undefined;
  },
  'webgpu chunk 24': async (plan) => {
    const gpu = await webgpuBackend();
    return gpu && plan.form !== 'learnable' ? new WebGPUWaveletOp(gpu.device, plan, { chunk: 24 }) : undefined;
  },
};

const FORMS: WaveletForm[] = ['haar', 'learnable', 'ema'];
const CASES: { batch: number; time: number; channels: number; options: Omit<WaveletOptions, 'form'> }[] = [
  { batch: 1, time: 1, channels: 6, options: { maxWindow: 16 } },
  { batch: 5, time: 3, channels: 6, options: { maxWindow: 16 } },
  { batch: 1, time: 3, channels: 130, options: { maxWindow: 64 } },
  { batch: 5, time: 37, channels: 130, options: { maxWindow: 64, mapping: 'linear-size' } },
  { batch: 11, time: 21, channels: 74, options: { maxWindow: 32 } }, // more batch rows than tap_gradient's 8 lanes
  { batch: 1, time: 100, channels: 768, options: { maxWindow: 512, half: 'lower' } },
  { batch: 1, time: 4096, channels: 6, options: { maxWindow: 4096 } },
  { batch: 2, time: 4096, channels: 130, options: { maxWindow: 64 } },
  { batch: 1, time: 4096, channels: 768, options: { maxWindow: 256 } },
];

for (const [name, make] of Object.entries(backends)) {
  for (const form of FORMS) {
    test(`${name} ${form}: forward and backward equal the reference on odd shapes`, async () => {
      for (const { batch, time, channels, options } of CASES) {
        const random = seededRandom(batch * 1000 + time + channels);
        const plan = planWavelet(channels, { form, ...options });
        const op = await make(plan);
        if (!op) return;
        const shape = { batch, time, channels };
        const n = batch * time * channels;
        const x = randomArray(n, random);
        const dy = randomArray(n, random);
        const taps = form === 'learnable' ? randomArray(plan.tapCount, random, 0.2) : undefined;
        const label = `${name} ${form} B ${batch} T ${time} E ${channels}`;
        assertClose(await op.forward(shape, x, taps), waveletForwardRef(plan, shape, x, taps), 2e-5, `${label} y`);
        const expected = waveletBackwardRef(plan, shape, x, dy, taps);
        const found = await op.backward(shape, x, dy, taps);
        assertClose(found.dx, expected.dx, 2e-5, `${label} dx`);
        // dTaps sums B * T products in float32: allow for that many roundings.
        assertClose(found.dTaps, expected.dTaps, 1e-4, `${label} dTaps`);
      }
    });

    test(`${name} ${form}: causal, and NaN at (t', c) reaches no earlier output and no other channel`, async () => {
      const random = seededRandom(3);
      const shape = { batch: 2, time: 150, channels: 10 };
      const plan = planWavelet(10, { form, maxWindow: 128 });
      const op = await make(plan);
      if (!op) return;
      const taps = form === 'learnable' ? randomArray(plan.tapCount, random) : undefined;
      const x = randomArray(3000, random);
      const y = await op.forward(shape, x, taps);
      const at = (b: number, t: number, c: number) => (b * 150 + t) * 10 + c;
      const changed = x.slice();
      for (let c = 0; c < 10; c++) changed[at(1, 70, c)] += 3;
      const y2 = await op.forward(shape, changed, taps);
      for (let t = 0; t < 70; t++) for (let c = 0; c < 10; c++) assert.is(y2[at(1, t, c)], y[at(1, t, c)], `t ${t} c ${c} before t' = 70`);
      assert.equal(Array.from(y2.subarray(0, 1500)), Array.from(y.subarray(0, 1500)), 'the other sequence of the batch');

      const poisoned = x.slice();
      poisoned[at(0, 70, 8)] = NaN; // a filtered channel
      const y3 = await op.forward(shape, poisoned, taps);
      assert.ok(Number.isNaN(y3[at(0, 70, 8)]), 'the output at the NaN is NaN');
      for (let t = 0; t < 150; t++) {
        for (let c = 0; c < 10; c++) {
          if (c === 8 && t >= 70) continue; // documented: later outputs of that channel may be NaN
          assert.is(y3[at(0, t, c)], y[at(0, t, c)], `t ${t} c ${c} untouched by the NaN`);
        }
      }
    });
  }

  test(`${name} haar: error independent of T, checked at T = 8192 on a slowly rising signal`, async () => {
    // x = 1000 + 1e-5 t: increments below float32's resolution at 2000, where a plain float32
    // running sum loses them and drifts. The bound must hold for us and fail for that sum.
    const time = 8192;
    const channels = 8; // windows 2, 16, 128, 1024
    const plan = planWavelet(channels, { form: 'haar', maxWindow: time });
    const op = await make(plan);
    if (!op) return;
    const x = new Float32Array(time * channels);
    for (let t = 0; t < time; t++) for (let c = 0; c < channels; c++) x[t * channels + c] = 1000 + 1e-5 * t;
    const shape = { batch: 1, time, channels };
    const expected = waveletForwardRef(plan, shape, x);
    const bound = 2e-6 * maxAbs(x);
    const found = await op.forward(shape, x);
    const error = maxAbs(found.map((v, i) => v - expected[i]));
    assert.ok(error <= bound, `${name} error ${error} > ${bound}`);

    let naiveError = 0;
    for (let c = 4; c < channels; c++) {
      const f = plan.windows[c];
      let s = 0;
      for (let t = 0; t < time; t++) {
        s = Math.fround(s + Math.fround(x[t * channels + c] - (t >= f ? x[(t - f) * channels + c] : 0)));
        naiveError = Math.max(naiveError, Math.abs(Math.fround(s / f) - expected[t * channels + c]));
      }
    }
    assert.ok(naiveError > bound, `the test signal must make a plain float32 running sum drift (${naiveError} <= ${bound})`);
  });
}

test.run();
