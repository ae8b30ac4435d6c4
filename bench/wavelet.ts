// Benchmark of the wavelet op: forward and backward of each form on each backend here, at the
// paper's shape (B 32, T 512, E 128) and a large one (B 16, T 4096, E 768), with maxWindow = T.
// Prints JSON: times, bytes moved per second, and beside them the copy bandwidth measured in the
// same run on the same backend (a typed-array copy in wasm memory; copy.wgsl on WebGPU).
//
// Bytes moved are the least any implementation must move: forward reads x and writes y;
// backward reads dy and writes dx, and the learnable form's tap gradient also reads x and dy.
//
// usage: node --import tsx bench/wavelet.ts [--quick] [--shapes paper,large] [--backends webgpu,wasm] [--chunks 8,16,...] [--out FILE]
// --chunks: WebGPU's streaming forms (Haar, EMA) also with each of these chunks of time a pass
// (the default is streamingChunk's), as forms named haar@16, ema@16.
// A software WebGPU adapter (SwiftShader) is skipped: its times say nothing about a GPU.

import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { createWasmBackend } from '../src/runtime/wasm.js';
import { createWebGPUBackend, type WebGPUBackend } from '../src/runtime/webgpu.js';
import { printReport } from './report.js';
import { WebGPUCopy } from '../src/kernels/copy/webgpu.js';
import { haarInitialTaps, planWavelet, type WaveletForm } from '../src/model/wavelet_plan.js';
import { waveletForwardRef } from '../src/kernels/wavelet/ref.js';
import { WasmWaveletOp } from '../src/kernels/wavelet/wasm.js';
import { WebGPUWaveletOp } from '../src/kernels/wavelet/webgpu.js';

const SHAPES = {
  paper: { batch: 32, time: 512, channels: 128 },
  large: { batch: 16, time: 4096, channels: 768 },
};
type ShapeName = keyof typeof SHAPES;
const FORMS: WaveletForm[] = ['haar', 'ema', 'learnable'];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const shapeNames = (option('--shapes') ?? 'paper,large').split(',') as ShapeName[];
const backendNames = (option('--backends') ?? 'webgpu,wasm').split(',');
const chunks = (option('--chunks') ?? '').split(',').filter(Boolean).map((value) => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new Error(`--chunks: '${value}' is not a positive whole number of time steps`);
  return Number(value);
});
for (const name of shapeNames) if (!(name in SHAPES)) throw new Error(`--shapes: unknown shape '${name}', expected ${Object.keys(SHAPES).join(', ')}`);

interface Row {
  backend: string;
  shape: ShapeName;
  form: WaveletForm | 'copy' | `${WaveletForm}@${number}`; // form@chunk: a streaming form with --chunks' chunk
  pass: 'forward' | 'backward' | 'copy';
  ms: number;
  bytes: number;
  gb_per_s: number;
  copy_gb_per_s?: number;
  fraction_of_copy?: number;
  vs_haar?: number;
}
const rows: Row[] = [];
const notes: string[] = [];

/** Median of `reps` timings of `run` (ms), after one warm-up. */
async function median(reps: number, run: () => unknown): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

function record(row: Omit<Row, 'gb_per_s'>): Row {
  const full = { ...row, gb_per_s: +(row.bytes / row.ms / 1e6).toFixed(2) };
  rows.push(full);
  console.error(`${row.backend.padEnd(7)} ${row.shape.padEnd(6)} ${row.form.padEnd(10)} ${row.pass.padEnd(9)} ${row.ms.toFixed(3).padStart(10)} ms ${full.gb_per_s.toFixed(1).padStart(8)} GB/s`);
  return full;
}

function relate(backend: string, shape: ShapeName, copy: Row) {
  for (const row of rows) {
    if (row.backend !== backend || row.shape !== shape || row.form === 'copy') continue;
    row.copy_gb_per_s = copy.gb_per_s;
    row.fraction_of_copy = +(row.gb_per_s / copy.gb_per_s).toFixed(3);
    const haar = rows.find((r) => r.backend === backend && r.shape === shape && r.form === 'haar' && r.pass === row.pass);
    if (haar) row.vs_haar = +(row.ms / haar.ms).toFixed(2);
  }
}

function bytesMoved(form: WaveletForm, pass: 'forward' | 'backward', n: number): number {
  return 4 * n * (pass === 'backward' && form === 'learnable' ? 4 : 2);
}

async function benchWasm() {
  // Bytes from the build folder of the working directory, so that a bundled copy of this script
  // (run elsewhere, see ../shared/gpu/README.md) finds them too.
  const wasm = await createWasmBackend(readFileSync('build/wavelet.wasm'));
  for (const shapeName of shapeNames) {
    const shape = SHAPES[shapeName];
    const n = shape.batch * shape.time * shape.channels;
    const mark = wasm.arena.mark();
    const [x, y, dy, dx] = [0, 1, 2, 3].map(() => wasm.arena.alloc(4 * n));
    for (const ptr of [x, dy]) wasm.arena.f32(ptr, n).forEach((_, i, a) => (a[i] = Math.sin(i * 0.37)));
    const reps = quick ? 3 : shapeName === 'paper' ? 15 : 5;
    const copyMs = await median(reps, () => wasm.arena.f32(y, n).set(wasm.arena.f32(x, n)));
    const copy = record({ backend: 'wasm', shape: shapeName, form: 'copy', pass: 'copy', ms: copyMs, bytes: 8 * n });
    for (const form of FORMS) {
      const plan = planWavelet(shape.channels, { form, maxWindow: shape.time });
      const op = new WasmWaveletOp(wasm, plan);
      const taps = wasm.arena.put(haarInitialTaps(plan));
      const dTaps = wasm.arena.alloc(4 * plan.tapCount);
      const formReps = form === 'learnable' && shapeName === 'large' ? 1 : reps;
      record({ backend: 'wasm', shape: shapeName, form, pass: 'forward', ms: await median(formReps, () => op.forwardAt(shape, x, y, taps)), bytes: bytesMoved(form, 'forward', n) });
      record({ backend: 'wasm', shape: shapeName, form, pass: 'backward', ms: await median(formReps, () => op.backwardAt(shape, x, dy, dx, taps, dTaps)), bytes: bytesMoved(form, 'backward', n) });
    }
    relate('wasm', shapeName, copy);
    wasm.arena.release(mark);
  }
}

/** Times `reps` recordings in one submission, so launch latency is amortised as in a training step. */
async function gpuTime(gpu: WebGPUBackend, reps: number, encode: (encoder: GPUCommandEncoder) => void): Promise<number> {
  const once = async (count: number) => {
    const encoder = gpu.device.createCommandEncoder();
    for (let i = 0; i < count; i++) encode(encoder);
    const start = performance.now();
    gpu.device.queue.submit([encoder.finish()]);
    await gpu.device.queue.onSubmittedWorkDone();
    return performance.now() - start;
  };
  await once(2);
  const times = [];
  for (let i = 0; i < 3; i++) times.push((await once(reps)) / reps);
  return times.sort((a, b) => a - b)[1];
}

async function benchWebGPU() {
  let gpu: WebGPUBackend;
  try {
    gpu = await createWebGPUBackend();
  } catch (error) {
    notes.push(`webgpu: not available (${(error as Error).message.split('\n')[0]})`);
    return;
  }
  if (gpu.adapter.software && process.env.WAVELET_BENCH_SOFTWARE_GPU !== '1') {
    notes.push(`webgpu: skipped, ${gpu.adapter.description} is a software adapter (set WAVELET_BENCH_SOFTWARE_GPU=1 to run it anyway)`);
    return;
  }
  const copier = new WebGPUCopy(gpu.device);
  for (const shapeName of shapeNames) {
    const shape = SHAPES[shapeName];
    const n = shape.batch * shape.time * shape.channels;
    const signal = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));
    const [x, y, dy, dx] = [signal, undefined, signal, undefined].map((data) => gpu.buffer(4 * n, undefined, data));
    const reps = quick ? 5 : 50;
    const copy = record({ backend: 'webgpu', shape: shapeName, form: 'copy', pass: 'copy', ms: await gpuTime(gpu, reps, (e) => copier.encode(e, x, y, n)), bytes: 8 * n });
    const variants = FORMS.flatMap((form) => [{ form, chunk: undefined as number | undefined }, ...(form === 'learnable' ? [] : chunks.map((chunk) => ({ form, chunk })))]);
    for (const { form, chunk } of variants) {
      const plan = planWavelet(shape.channels, { form, maxWindow: shape.time });
      const op = new WebGPUWaveletOp(gpu.device, plan, chunk ? { chunk } : {});
      const name: Row['form'] = chunk ? `${form}@${chunk}` : form;
      const taps = gpu.buffer(4 * plan.tapCount, undefined, haarInitialTaps(plan));
      const dTaps = gpu.buffer(4 * plan.tapCount);
      const formReps = form === 'learnable' ? Math.max(2, reps / 10) : reps;
      record({ backend: 'webgpu', shape: shapeName, form: name, pass: 'forward', ms: await gpuTime(gpu, formReps, (e) => op.encodeForward(e, shape, x, y, taps)), bytes: bytesMoved(form, 'forward', n) });
      record({ backend: 'webgpu', shape: shapeName, form: name, pass: 'backward', ms: await gpuTime(gpu, formReps, (e) => op.encodeBackward(e, shape, x, dy, dx, taps, dTaps)), bytes: bytesMoved(form, 'backward', n) });
      // The GPU's result against the reference on the first sequence: a fast wrong kernel is no result.
      if (shapeName === 'paper') {
        const encoder = gpu.device.createCommandEncoder();
        op.encodeForward(encoder, shape, x, y, taps);
        gpu.device.queue.submit([encoder.finish()]);
        const first = { ...shape, batch: 1 };
        const found = await gpu.read(y, 4 * first.time * first.channels);
        const expected = waveletForwardRef(plan, first, signal.subarray(0, found.length), form === 'learnable' ? haarInitialTaps(plan) : undefined);
        const error = found.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
        notes.push(`webgpu ${name} paper forward: max |error| vs reference ${error.toExponential(2)}`);
      }
      taps.destroy();
      dTaps.destroy();
      op.destroy();
    }
    relate('webgpu', shapeName, copy);
    for (const buffer of [x, y, dy, dx]) buffer.destroy();
  }
  await gpu.checkErrors();
  const adapter = gpu.adapter;
  gpu.destroy();
  return adapter;
}

const adapter = backendNames.includes('webgpu') ? await benchWebGPU() : undefined;
if (backendNames.includes('wasm')) await benchWasm();
const report = {
  bench: 'wavelet',
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, memory_gib: +(totalmem() / 2 ** 30).toFixed(1), node: process.versions.node, gpu: adapter },
  shapes: Object.fromEntries(shapeNames.map((name) => [name, { ...SHAPES[name], max_window: SHAPES[name].time }])),
  bytes_model: 'forward 8N (read x, write y); backward 8N, learnable backward 16N (dx, and the tap gradient reads x and dy); N = B*T*E',
  results: rows,
  notes,
};
printReport(report, option('--out'));
process.exit(0); // Dawn keeps the event loop alive
