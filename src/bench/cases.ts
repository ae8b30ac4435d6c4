// Each case of the suite on each kind of target: what one timed run does, how much work it is
// (bytes moved, floating-point operations, tokens), and where a fast kernel's output is checked
// against the reference on a slice (a fast wrong kernel is no result).

import type { BackendModel } from '../backends/model.js';
import { createModel, type BackendDevices } from '../backends/registry.js';
import { parallelKernels } from '../backends/wasm/parallel.js';
import { matmulLaunches, matmulScratchFloats } from '../kernels/gpt/matmul.js';
import { matmulForward } from '../kernels/gpt/ref.js';
import { GptKernels, record } from '../kernels/gpt/webgpu.js';
import { WebGPUCopy } from '../kernels/copy/webgpu.js';
import { waveletBackwardRef, waveletForwardRef } from '../kernels/wavelet/ref.js';
import { WasmWaveletOp } from '../kernels/wavelet/wasm.js';
import { WebGPUWaveletOp } from '../kernels/wavelet/webgpu.js';
import { DEFAULT_ADAMW } from '../kernels/optimizer/ref.js';
import { presetConfig } from '../model/config.js';
import { initialParameters, parameterLayout } from '../model/parameters.js';
import { SeededRandom } from '../model/random.js';
import { haarInitialTaps, planWavelet, type WaveletForm } from '../model/wavelet_plan.js';
import type { WasmBackend } from '../runtime/wasm.js';
import type { WebGPUBackend } from '../runtime/webgpu.js';
import type { GenerateCase, MatmulCase, TargetClass, TrainCase, WaveletCase } from './suite.js';

/** One backend at one thread count, as a column of the report: 'webgpu', 'wasm-4', 'js'. */
export interface Target {
  id: string;
  backend: 'webgpu' | 'wasm' | 'js';
  threads: number;
  class: TargetClass;
}

/** What a target's cases run on: the wasm kernels at its thread count, or the WebGPU device. */
export interface TargetDevices {
  wasm?: WasmBackend;
  gpu?: WebGPUBackend;
  /** Where createModel finds the kernels (the bundles pass them inlined). */
  sources: BackendDevices;
}

/** A measurable unit: run() is one timed repetition; check() (once, after timing) the largest error against the reference. */
export interface Unit {
  figure: string;
  unit: 'GB/s' | 'GFLOP/s' | 'tokens/s';
  /** Bytes, floating-point operations or tokens of one run. */
  work: number;
  run(): Promise<number | void> | number | void;
  check?(): Promise<number>;
  /** The figure of the same case this one is a fraction of (the wavelet op's copy). */
  anchor?: string;
}

/** The units of one case on one target, and how to free what they hold. */
export interface CaseRun {
  units: Unit[];
  dispose(): void;
}

const signal = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));
const maxError = (found: ArrayLike<number>, expected: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(found[i] - expected[i]));
  return worst;
};

/**
 * Times `reps` recordings in one submission, so that launch latency is amortised as in a training
 * step, and returns the time of one. `reps` is set on the first call to fill about 4 ms.
 */
function gpuRepeater(gpu: WebGPUBackend, encode: (encoder: GPUCommandEncoder) => void): () => Promise<number> {
  let reps = 0;
  const submit = async (count: number) => {
    const encoder = gpu.device.createCommandEncoder();
    for (let i = 0; i < count; i++) encode(encoder);
    const started = performance.now();
    gpu.device.queue.submit([encoder.finish()]);
    await gpu.device.queue.onSubmittedWorkDone();
    return (performance.now() - started) / count;
  };
  return async () => {
    if (!reps) reps = Math.max(1, Math.min(64, Math.ceil(4 / (await submit(1)))));
    return submit(reps);
  };
}

// Bytes the wavelet op must move at least: forward reads x and writes y; backward reads dy and
// writes dx, and the learnable form's tap gradient reads x and dy again.
const waveletBytes = (form: WaveletForm, pass: 'forward' | 'backward', n: number) => 4 * n * (pass === 'backward' && form === 'learnable' ? 4 : 2);

export function waveletCase(c: WaveletCase, target: Target, devices: TargetDevices): CaseRun {
  const shape = { batch: c.batch, time: c.time, channels: c.channels };
  const n = c.batch * c.time * c.channels;
  const first = { ...shape, batch: 1 };
  const firstCount = c.time * c.channels;
  const x = signal(n, 0);
  const dy = signal(n, 1);
  const plans = c.forms.map((form) => ({ form, plan: planWavelet(c.channels, { form, maxWindow: c.time }) }));
  const units: Unit[] = [];
  const frees: (() => void)[] = [];
  const tapsOf = (form: WaveletForm, plan: ReturnType<typeof planWavelet>) => (form === 'learnable' ? haarInitialTaps(plan) : undefined);
  const expectFirst = (form: WaveletForm, plan: ReturnType<typeof planWavelet>) => waveletForwardRef(plan, first, x.subarray(0, firstCount), tapsOf(form, plan));

  if (target.backend === 'js') {
    const y = new Float32Array(n);
    units.push({ figure: 'copy', unit: 'GB/s', work: 8 * n, run: () => void y.set(x) });
    for (const { form, plan } of plans) {
      const taps = tapsOf(form, plan);
      units.push({ figure: `${form} forward`, unit: 'GB/s', work: waveletBytes(form, 'forward', n), anchor: 'copy', run: () => void waveletForwardRef(plan, shape, x, taps) });
      units.push({ figure: `${form} backward`, unit: 'GB/s', work: waveletBytes(form, 'backward', n), anchor: 'copy', run: () => void waveletBackwardRef(plan, shape, x, dy, taps) });
    }
  } else if (target.backend === 'wasm') {
    const wasm = devices.wasm!;
    const mark = wasm.arena.mark();
    const [xp, yp, dyp, dxp] = [x, undefined, dy, undefined].map((data) => (data ? wasm.arena.put(data) : wasm.arena.alloc(4 * n)));
    units.push({ figure: 'copy', unit: 'GB/s', work: 8 * n, run: () => void wasm.arena.f32(yp, n).set(wasm.arena.f32(xp, n)) });
    for (const { form, plan } of plans) {
      const op = new WasmWaveletOp(wasm, plan);
      const initial = tapsOf(form, plan);
      const taps = initial ? wasm.arena.put(initial) : 0;
      const dTaps = wasm.arena.alloc(4 * Math.max(1, plan.tapCount));
      units.push({
        figure: `${form} forward`, unit: 'GB/s', work: waveletBytes(form, 'forward', n), anchor: 'copy',
        run: () => op.forwardAt(shape, xp, yp, taps),
        check: async () => {
          op.forwardAt(shape, xp, yp, taps);
          return maxError(wasm.arena.f32(yp, firstCount), expectFirst(form, plan));
        },
      });
      units.push({ figure: `${form} backward`, unit: 'GB/s', work: waveletBytes(form, 'backward', n), anchor: 'copy', run: () => op.backwardAt(shape, xp, dyp, dxp, taps, dTaps) });
    }
    frees.push(() => wasm.arena.release(mark));
  } else {
    const gpu = devices.gpu!;
    const copier = new WebGPUCopy(gpu.device);
    const [xb, yb, dyb, dxb] = [x, undefined, dy, undefined].map((data) => gpu.buffer(4 * n, undefined, data));
    frees.push(() => [xb, yb, dyb, dxb].forEach((b) => b.destroy()));
    units.push({ figure: 'copy', unit: 'GB/s', work: 8 * n, run: gpuRepeater(gpu, (e) => copier.encode(e, xb, yb, n)) });
    for (const { form, plan } of plans) {
      const op = new WebGPUWaveletOp(gpu.device, plan);
      const initial = tapsOf(form, plan);
      const taps = initial ? gpu.buffer(4 * initial.length, undefined, initial) : undefined;
      const dTaps = gpu.buffer(4 * Math.max(1, plan.tapCount));
      frees.push(() => (op.destroy(), taps?.destroy(), dTaps.destroy()));
      units.push({
        figure: `${form} forward`, unit: 'GB/s', work: waveletBytes(form, 'forward', n), anchor: 'copy',
        run: gpuRepeater(gpu, (e) => op.encodeForward(e, shape, xb, yb, taps)),
        check: async () => {
          const encoder = gpu.device.createCommandEncoder();
          op.encodeForward(encoder, shape, xb, yb, taps);
          gpu.device.queue.submit([encoder.finish()]);
          return maxError(await gpu.read(yb, 4 * firstCount), expectFirst(form, plan));
        },
      });
      units.push({ figure: `${form} backward`, unit: 'GB/s', work: waveletBytes(form, 'backward', n), anchor: 'copy', run: gpuRepeater(gpu, (e) => op.encodeBackward(e, shape, xb, dyb, dxb, taps, dTaps)) });
    }
  }
  return { units, dispose: () => frees.forEach((free) => free()) };
}

/** out (rows x outer) = inp (rows x inner) . weight (outer x inner)^T + bias: the linear layers' product. */
export function matmulCase(c: MatmulCase, target: Target, devices: TargetDevices): CaseRun {
  const { rows: N, inner: C, outer: OC } = c;
  const inp = signal(N * C, 2);
  const weight = signal(OC * C, 3).map((v) => v / Math.sqrt(C));
  const bias = signal(OC, 4);
  const expectedRow = new Float32Array(OC);
  matmulForward(expectedRow, inp.subarray(0, C), weight, bias, 1, C, OC);
  const figure = { figure: 'product', unit: 'GFLOP/s' as const, work: 2 * N * C * OC };
  if (target.backend === 'js') {
    const out = new Float32Array(N * OC);
    return { units: [{ ...figure, run: () => matmulForward(out, inp, weight, bias, N, C, OC) }], dispose() {} };
  }
  if (target.backend === 'wasm') {
    const wasm = devices.wasm!;
    const kernels = parallelKernels(wasm);
    const mark = wasm.arena.mark();
    const [ip, wp, bp] = [inp, weight, bias].map((data) => wasm.arena.put(data));
    const op = wasm.arena.alloc(4 * N * OC);
    const run = () => kernels.matmulForward(op, ip, wp, bp, N, C, OC);
    return {
      units: [{ ...figure, run, check: async () => (run(), maxError(wasm.arena.f32(op, OC), expectedRow)) }],
      dispose: () => wasm.arena.release(mark),
    };
  }
  const gpu = devices.gpu!;
  const kernels = new GptKernels(gpu.device, 32);
  const [ib, wb, bb] = [inp, weight, bias].map((data) => gpu.buffer(4 * data.length, undefined, data));
  const ob = gpu.buffer(4 * N * OC);
  const product = { M: N, N: OC, K: C, accumulate: false, a: [ib, 0, C, 1], b: [wb, 0, 1, C], bias: [bb, 0], c: [ob, 0, OC] } as Parameters<typeof matmulLaunches>[1];
  const scratchFloats = matmulScratchFloats(product);
  const scratch = scratchFloats ? gpu.buffer(4 * scratchFloats) : undefined;
  const launches = matmulLaunches(kernels, product, scratch);
  return {
    units: [{
      ...figure,
      run: gpuRepeater(gpu, (e) => record(e, launches)),
      check: async () => {
        const encoder = gpu.device.createCommandEncoder();
        record(encoder, launches);
        gpu.device.queue.submit([encoder.finish()]);
        return maxError(await gpu.read(ob, 4 * OC), expectedRow);
      },
    }],
    dispose() {
      kernels.release(launches);
      kernels.destroy();
      [ib, wb, bb, ob, scratch].forEach((b) => b?.destroy());
    },
  };
}

/** The case's model on the target: Haar WaveletGPT of the preset, seeded, with AdamW (so it trains). */
async function presetModel(c: TrainCase | GenerateCase, target: Target, devices: TargetDevices): Promise<BackendModel> {
  const config = presetConfig(c.preset, { form: 'haar' });
  const layout = parameterLayout(config);
  const options = { config, layout, parameters: initialParameters(config, layout, 1), optimizer: DEFAULT_ADAMW, threads: target.threads };
  return createModel(target.backend, options, { ...devices.sources, gpu: devices.gpu });
}

export async function trainCase(c: TrainCase, target: Target, devices: TargetDevices): Promise<CaseRun> {
  const model = await presetModel(c, target, devices);
  const T = model.config.context;
  const random = new SeededRandom(2);
  const tokens = Int32Array.from({ length: c.batch * T }, () => random.below(model.config.vocabSize));
  const targets = tokens.map((_, i) => tokens[(i + 1) % tokens.length]);
  return {
    units: [{
      figure: 'step', unit: 'tokens/s', work: c.batch * T,
      run: () => Promise.all([model.forwardBackward(tokens, targets, c.batch, T, 1), model.update(1e-4)]).then(() => undefined),
    }],
    dispose: () => model.dispose(),
  };
}

export async function generateCase(c: GenerateCase, target: Target, devices: TargetDevices): Promise<CaseRun> {
  const model = await presetModel(c, target, devices);
  const decoder = await model.decoder(c.batch);
  const T = model.config.context;
  const random = new SeededRandom(3);
  const next = () => Array.from({ length: c.batch }, () => random.below(model.config.vocabSize));
  // Tokens from halfway into the context on, where attention's cost is typical; back there when full.
  const half = Math.floor(T / 2);
  const fill = async () => {
    decoder.reset();
    for (let t = 0; t < half; t++) await decoder.step(next());
  };
  await fill();
  // Several tokens a run: one token of a small model takes tens of microseconds, near the 5 to 100
  // microsecond resolution of a browser's clock.
  const tokens = 16;
  return {
    units: [{
      figure: 'decode', unit: 'tokens/s', work: tokens * c.batch,
      run: async () => {
        if (decoder.position + tokens > T) await fill(); // untimed
        const started = performance.now();
        for (let i = 0; i < tokens; i++) await decoder.step(next());
        return performance.now() - started;
      },
    }],
    dispose: () => (decoder.dispose(), model.dispose()),
  };
}
