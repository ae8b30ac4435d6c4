// The backends in one place: which run here, how to make each one's model, and which is fastest
// for a model on this device. The choice times the work itself (training steps, or decoded
// tokens) on each backend that runs (js, the fallback, only where nothing faster does), for about
// a budget of time, keeps the fastest, frees the others, and says why in words. Where a cache is given (the Node entry gives one on disk) a
// choice made before for the same device, model and work is reused.

import { wasmRelaxedSimdSupported, wasmSimdSupported, type WasmSource } from '../runtime/wasm.js';
import { processorCount, threadsUnavailable } from '../runtime/wasm_threads.js';
import { createWebGPUBackend, type WebGPUBackend } from '../runtime/webgpu.js';
import { BackendUnavailableError, WaveletInputError } from '../errors.js';
import { SeededRandom } from '../model/random.js';
import { BACKEND_NAMES, type BackendModel, type BackendName, type ModelOptions } from './model.js';
import { JsModel } from './js/model.js';
import { WasmModel } from './wasm/model.js';
import { chunkThresholds } from './wasm/parallel.js';
import { networkOf } from '../model/networks.js';
import { WebGPUModel } from './webgpu/model.js';

/** Where the devices come from: a WebGPU device to use, the wasm kernels where there is no file system. */
export interface BackendDevices {
  gpu?: WebGPUBackend;
  wasm?: WasmSource;
  /** build/wavelet-threads.wasm likewise (the wasm backend on more than one thread). */
  wasmThreads?: WasmSource;
}

/** `backend` as a backend's name, or an error naming `what` (a flag, an option). */
export function checkBackendName(backend: string, what: string, allowAuto = true): BackendName | 'auto' {
  const names: string[] = allowAuto ? ['auto', ...BACKEND_NAMES] : [...BACKEND_NAMES];
  if (!names.includes(backend)) throw new WaveletInputError(`${what}: expected ${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}, found '${backend}'`);
  return backend as BackendName | 'auto';
}

/** The model of one backend. A WebGPU device made here is destroyed with the model; one given is not. */
export async function createModel(backend: BackendName, options: ModelOptions, devices: BackendDevices = {}): Promise<BackendModel> {
  if (backend === 'webgpu') return WebGPUModel.create(options, devices.gpu);
  if (backend === 'wasm') return WasmModel.create(options, devices.wasm, devices.wasmThreads);
  return new JsModel(options);
}

/**
 * The model for a backend asked for by name or 'auto', and wasm's threads as a count or 'auto'.
 * What is left open ('auto' either way) is timed by the chooser; what is fixed is made as asked.
 * `names` are the options as the caller's user knows them (flags in the CLI, fields in the library).
 */
export async function openModel(
  backend: BackendName | 'auto', threads: number | 'auto' | undefined, options: ModelOptions, work: Workload, settings: ChooseSettings = {},
  names = { backend: 'backend', threads: 'threads' },
): Promise<{ model: BackendModel; choice?: BackendChoice }> {
  const count = threads === undefined || threads === 'auto' ? undefined : threads;
  // Checked here, not left to the wasm model: the chooser counts a backend that throws as one that failed, and would choose another.
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new WaveletInputError(`${names.threads}: expected a positive integer or auto, found ${JSON.stringify(count)}`);
  if (count !== undefined && count > 1 && backend !== 'auto' && backend !== 'wasm') throw new WaveletInputError(`${names.threads} ${count}: threads share the wasm backend's work; ${names.backend} ${backend} does not use them`);
  const asked = count === undefined ? options : { ...options, threads: count };
  if (backend === 'auto') return chooseBackend(asked, work, settings);
  if (backend === 'wasm' && count === undefined) return chooseBackend(asked, work, { ...settings, backends: ['wasm'] });
  return { model: await createModel(backend, asked, settings) };
}

/** What is timed: training steps at a batch size, or decoded tokens for a batch of sequences. */
export interface Workload {
  mode: 'train' | 'generate';
  batch: number;
}

export interface Timing {
  backend: BackendName;
  /** wasm: the threads it ran on. */
  threads?: number;
  /** Median milliseconds a training step or a decoded token, or null when it could not run here. */
  ms: number | null;
  note: string;
}

export interface BackendChoice {
  backend: BackendName;
  /** wasm: the threads that were fastest. */
  threads?: number;
  reason: string;
  timings: Timing[];
  cached: boolean;
}

/** A store of choices by key (device, model, workload). */
export interface ChoiceCache {
  get(key: string): Omit<BackendChoice, 'cached'> | undefined;
  set(key: string, choice: Omit<BackendChoice, 'cached'>): void;
}

export interface ChooseSettings extends BackendDevices {
  /** About how long to time each backend. Default 1000 ms. */
  budgetMs?: number;
  cache?: ChoiceCache;
  /**
   * Time a software WebGPU adapter too (SwiftShader: correct, and tens of times slower than wasm,
   * so by default it is not timed, which saved the first train of a shape 45 s of silence).
   */
  timeSoftwareAdapter?: boolean;
  /** Told what is being timed, as it starts (the CLI prints it: timing can take seconds). */
  onTiming?(message: string): void;
  /** The backends to time (default all); `--backend wasm` with threads to choose times wasm alone. */
  backends?: readonly BackendName[];
}

/**
 * The thread counts to time: the one asked for, or 1, 2, 4, ... and the processors here. Timing
 * stops at the first count that is not faster than the one before (wasm_threads.ts's overhead).
 */
function threadCounts(asked: number | undefined, options: ModelOptions, work: Workload, processors: number): number[] {
  if (asked !== undefined) return [asked];
  if (!worthSharing(options, work)) return [1];
  const counts: number[] = [];
  for (let n = 1; n < processors; n *= 2) counts.push(n);
  counts.push(processors);
  return counts;
}

/** Whether the model's largest matmul, at this workload, is large enough for wasm's threads to share out (backends/wasm/parallel.ts). */
function worthSharing(options: ModelOptions, work: Workload): boolean {
  const rows = work.mode === 'train' ? work.batch * options.config.context : work.batch;
  const network = options.network ?? networkOf(options.config);
  let largest = 0;
  for (const layer of network.layers) if (layer.kind === 'linear') largest = Math.max(largest, layer.inFeatures * layer.outFeatures * rows);
  return largest >= 2 * chunkThresholds.macs;
}

/** A timing's name in a reason: 'webgpu', 'wasm', 'wasm on 4 threads'. */
function label(timing: { backend: BackendName; threads?: number }): string {
  return timing.threads && timing.threads > 1 ? `${timing.backend} on ${timing.threads} threads` : timing.backend;
}

/** Runs `unit` until `budgetMs` is spent (one warm-up, then at least two); the median milliseconds. */
async function timeUnits(unit: () => Promise<unknown>, budgetMs: number): Promise<number> {
  const once = async () => {
    const started = performance.now();
    await unit();
    return performance.now() - started;
  };
  const first = await once();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 2 || (performance.now() - start < budgetMs && times.length < 20)) {
    times.push(await once());
    if (first > budgetMs) break; // one slow unit says enough
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

async function timeWorkload(model: BackendModel, work: Workload, budgetMs: number): Promise<number> {
  const { context: T, vocabSize: V } = model.config;
  const random = new SeededRandom(1);
  const tokens = (count: number) => Int32Array.from({ length: count }, () => random.below(V));
  if (work.mode === 'train') {
    return timeUnits(() => {
      const batch = tokens(work.batch * T);
      return Promise.all([model.forwardBackward(batch, batch, work.batch, T, 1), model.update(0)]);
    }, budgetMs);
  }
  const decoder = await model.decoder(work.batch);
  try {
    // Tokens at a position halfway into the context, where attention's cost is typical.
    for (let t = 0; t < Math.floor(T / 2); t++) await decoder.step(tokens(work.batch));
    return await timeUnits(async () => {
      if (decoder.position >= T) decoder.reset();
      await decoder.step(tokens(work.batch));
    }, budgetMs);
  } finally {
    decoder.dispose();
  }
}

/**
 * The fastest backend here for the model and workload, and its model (holding
 * `options.parameters` and, for training, a fresh optimizer). The others made are disposed.
 */
export async function chooseBackend(options: ModelOptions, work: Workload, settings: ChooseSettings = {}): Promise<{ model: BackendModel; choice: BackendChoice }> {
  const budgetMs = settings.budgetMs ?? 1000;
  const candidates = settings.backends ?? BACKEND_NAMES;
  let gpu = settings.gpu;
  let gpuNote = '';
  // A device is made only where WebGPU is timed (`--backend wasm` times wasm's thread counts alone).
  if (!gpu && candidates.includes('webgpu')) {
    try {
      gpu = await createWebGPUBackend();
    } catch (error) {
      gpuNote = (error as Error).message.split('\n')[0];
    }
  }
  const ownsGpu = gpu !== undefined && gpu !== settings.gpu;
  if (gpu) gpuNote = `${gpu.adapter.description || gpu.adapter.device}${gpu.adapter.software ? ' (software)' : ''}`;
  // A device made here is given to the model that wins (adoptDevice); the others must not destroy it.
  const make = (backend: BackendName, threads?: number) => createModel(backend, { ...options, threads }, { gpu, wasm: settings.wasm, wasmThreads: settings.wasmThreads });
  const unit = work.mode === 'train' ? `a step of this model at batch ${work.batch}` : `a token of this model at batch ${work.batch}`;
  const processors = await processorCount();
  const key = JSON.stringify({ gpu: gpu ? gpuNote : null, wasm: wasmSimdSupported(), cores: processors, threads: options.threads ?? null, config: options.config, work, ...(settings.timeSoftwareAdapter && { software: true }), ...(settings.backends && { backends: settings.backends }) });
  // A cached choice is used only when it names a backend (a damaged or foreign cache once made an unknown name train on js).
  const cached = settings.cache?.get(key);
  const known = cached && (candidates as readonly string[]).includes(cached.backend) ? cached : undefined;
  // (A choice of threads where threads no longer run, a page without its isolation headers, is timed again.)
  if (known && (known.backend !== 'webgpu' || gpu) && !((known.threads ?? 1) > 1 && threadsUnavailable())) {
    if (known.backend !== 'webgpu' && ownsGpu) gpu!.destroy();
    const model = await make(known.backend, known.threads);
    return { model: ownsGpu && known.backend === 'webgpu' ? adoptDevice(model, gpu!) : model, choice: { ...known, cached: true } };
  }

  const timings: Timing[] = [];
  const models = new Map<string, BackendModel>();
  for (const backend of candidates) {
    if (backend === 'webgpu' && !gpu) {
      timings.push({ backend, ms: null, note: `not available (${gpuNote})` });
      continue;
    }
    if (backend === 'webgpu' && gpu!.adapter.software && !settings.timeSoftwareAdapter) {
      timings.push({ backend, ms: null, note: `not timed (${gpuNote}: a software adapter, slower than wasm; --backend webgpu uses it)` });
      continue;
    }
    if (backend === 'wasm' && !wasmSimdSupported()) {
      timings.push({ backend, ms: null, note: 'not available (no WebAssembly SIMD)' });
      continue;
    }
    // The plain TypeScript kernels are the oracle and the fallback: on a model small enough for
    // them to tie with wasm, the tie is noise, so they are timed only where nothing faster runs.
    if (backend === 'js' && timings.some((t) => t.ms !== null)) {
      timings.push({ backend, ms: null, note: 'not timed (the fallback where neither webgpu nor wasm runs)' });
      continue;
    }
    let fastest = Infinity;
    for (const threads of backend === 'wasm' ? threadCounts(options.threads, options, work, processors) : [undefined]) {
      const why = threads && threads > 1 ? threadsUnavailable() : undefined;
      if (why) {
        timings.push({ backend, threads, ms: null, note: `not available (${why})` });
        break;
      }
      const timing = { backend, ...(threads !== undefined && { threads }) };
      try {
        const simd = (relaxed: boolean) => `WebAssembly ${relaxed ? 'relaxed SIMD (fused multiply-add)' : 'SIMD'}, ${threads === 1 ? 'one thread' : `${threads} threads`}`;
        settings.onTiming?.(`timing ${label(timing)} (${backend === 'webgpu' ? gpuNote : backend === 'wasm' ? simd(wasmRelaxedSimdSupported()) : 'plain TypeScript'}): ${unit}, about ${(budgetMs / 1000).toFixed(1)} s`);
        const model = await make(backend, threads);
        const what = backend === 'webgpu' ? gpuNote : model instanceof WasmModel ? simd(model.relaxedSimd) : 'plain TypeScript';
        models.set(label(timing), model);
        const ms = await timeWorkload(model, work, budgetMs);
        timings.push({ ...timing, ms: +ms.toFixed(3), note: what });
        if (ms >= fastest) break; // more threads than this only add overhead
        fastest = ms;
      } catch (error) {
        const message = (error as Error).message.split('\n')[0];
        timings.push({ ...timing, ms: null, note: error instanceof BackendUnavailableError ? `not available (${message})` : `failed (${message})` });
        break;
      }
    }
  }
  const ran = timings.filter((t) => t.ms !== null).sort((a, b) => a.ms! - b.ms!);
  if (!ran.length) throw new BackendUnavailableError(`no backend ran this model: ${timings.map((t) => `${label(t)}: ${t.note}`).join('; ')}`);
  const best = ran[0];
  const others = ran.slice(1).map((t) => `${label(t)} ${(t.ms! / best.ms!).toFixed(1)}x slower`);
  const absent = timings.filter((t) => t.ms === null).map((t) => `${label(t)} ${t.note}`);
  const reason = `${label(best)}: ${best.ms} ms ${unit}${others.length ? `; ${others.join(', ')}` : ''}${absent.length ? `; ${absent.join('; ')}` : ''}`;
  const choice = { backend: best.backend, ...(best.threads !== undefined && { threads: best.threads }), reason, timings };
  settings.cache?.set(key, choice);
  for (const [name, model] of models) if (name !== label(best)) model.dispose();
  let model = models.get(label(best))!;
  if (ownsGpu) model = best.backend === 'webgpu' ? adoptDevice(model, gpu!) : (gpu!.destroy(), model);
  if (work.mode === 'train') await model.load(options.parameters); // the timing steps moved it
  return { model, choice: { ...choice, cached: false } };
}

/** The model, destroying `gpu` when it is disposed (a device the chooser made for it). */
function adoptDevice(model: BackendModel, gpu: WebGPUBackend): BackendModel {
  const dispose = model.dispose.bind(model);
  model.dispose = () => {
    dispose();
    gpu.destroy();
  };
  return model;
}
