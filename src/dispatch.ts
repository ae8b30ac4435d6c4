// Which backend trains this model fastest on this device: each candidate that runs here (a
// WebGPU adapter, WebAssembly SIMD, plain JS) is timed on training steps of the actual model for
// about a second, the fastest wins, and the decision is cached by device and model shape (in
// $XDG_CACHE_HOME/wavelet-gpt/dispatch.json), with the reason in words.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { wasmSimdSupported } from './runtime/wasm.js';
import { createWebGPUBackend, type WebGPUBackend } from './runtime/webgpu.js';
import { writeFileAtomic } from './io/atomic.js';
import type { GPTConfig } from './model/config.js';
import { parameterLayout } from './model/parameters.js';
import { SeededRandom } from './model/random.js';
import type { BackendName, EngineOptions, TrainingEngine } from './backends/model.js';
import { JsEngine } from './train/engines/js.js';
import { WasmEngine } from './train/engines/wasm.js';
import { WebGPUEngine } from './train/engines/webgpu.js';

export interface Timing {
  backend: BackendName;
  /** Median milliseconds a training step, or null when it could not run here. */
  msPerStep: number | null;
  note: string;
}

export interface Decision {
  backend: BackendName;
  reason: string;
  timings: Timing[];
  cached: boolean;
}

export function dispatchCachePath(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'wavelet-gpt', 'dispatch.json');
}

/** Creates the engine of one backend; webgpu reuses `gpu` when given. */
export async function createEngine(backend: BackendName, options: EngineOptions, gpu?: WebGPUBackend): Promise<TrainingEngine> {
  if (backend === 'webgpu') return WebGPUEngine.create(options, gpu);
  if (backend === 'wasm') return WasmEngine.create(options);
  return new JsEngine(options);
}

/** Steps on random tokens until `budgetMs` is spent (one warm-up, then at least two); the median. */
async function timeSteps(engine: TrainingEngine, batch: number, budgetMs: number): Promise<number> {
  const { context: T, vocabSize: V } = engine.config;
  const random = new SeededRandom(1);
  const step = async () => {
    const tokens = Int32Array.from({ length: batch * T }, () => random.below(V));
    const started = performance.now();
    await Promise.all([engine.forwardBackward(tokens, tokens, batch, T, 1), engine.update(0)]);
    return performance.now() - started;
  };
  const first = await step();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 2 || (performance.now() - start < budgetMs && times.length < 20)) {
    times.push(await step());
    if (first > budgetMs) break; // one slow step says enough
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

/**
 * Picks the fastest backend for `config` at `batch` and returns its engine, loaded with
 * `options.parameters` and a fresh optimizer. `log` receives the reason.
 */
export async function dispatch(options: EngineOptions, batch: number, budgetMs = 1000): Promise<{ engine: TrainingEngine; decision: Decision }> {
  let gpu: WebGPUBackend | undefined;
  let gpuNote = '';
  try {
    gpu = await createWebGPUBackend();
    gpuNote = `${gpu.adapter.description || gpu.adapter.device}${gpu.adapter.software ? ' (software)' : ''}`;
  } catch (error) {
    gpuNote = (error as Error).message.split('\n')[0];
  }
  const key = JSON.stringify({ gpu: gpu ? gpuNote : null, wasm: wasmSimdSupported(), cores: (await import('node:os')).cpus().length, config: options.config, batch });
  const cachePath = dispatchCachePath();
  const cache: Record<string, Omit<Decision, 'cached'>> = existsSync(cachePath) ? safeParse(readFileSync(cachePath, 'utf8')) : {};
  const fresh = () => ({ t: 0, m: new Float32Array(options.layout.count), v: new Float32Array(options.layout.count) });
  const known = cache[key];
  if (known && (known.backend !== 'webgpu' || gpu)) {
    const engine = await createEngine(known.backend, options, gpu);
    return { engine, decision: { ...known, cached: true } };
  }

  const timings: Timing[] = [];
  const engines = new Map<BackendName, TrainingEngine>();
  const candidates: BackendName[] = ['webgpu', 'wasm', 'js'];
  for (const backend of candidates) {
    if (backend === 'webgpu' && !gpu) {
      timings.push({ backend, msPerStep: null, note: gpuNote });
      continue;
    }
    if (backend === 'wasm' && !wasmSimdSupported()) {
      timings.push({ backend, msPerStep: null, note: 'no WebAssembly SIMD' });
      continue;
    }
    try {
      const engine = await createEngine(backend, options, gpu);
      const ms = await timeSteps(engine, batch, budgetMs);
      timings.push({ backend, msPerStep: +ms.toFixed(2), note: backend === 'webgpu' ? gpuNote : backend === 'wasm' ? 'WebAssembly SIMD, one thread' : 'plain TypeScript' });
      engines.set(backend, engine);
    } catch (error) {
      timings.push({ backend, msPerStep: null, note: `failed: ${(error as Error).message.split('\n')[0]}` });
    }
  }
  const ran = timings.filter((t) => t.msPerStep !== null).sort((a, b) => a.msPerStep! - b.msPerStep!);
  const best = ran[0];
  const others = ran.slice(1).map((t) => `${t.backend} ${(t.msPerStep! / best.msPerStep!).toFixed(1)}x slower`);
  const absent = timings.filter((t) => t.msPerStep === null).map((t) => `${t.backend} not available (${t.note})`);
  const reason = `${best.backend}: ${best.msPerStep} ms a step of this model at batch ${batch}${others.length ? `; ${others.join(', ')}` : ''}${absent.length ? `; ${absent.join('; ')}` : ''}`;
  const decision = { backend: best.backend, reason, timings };
  try {
    mkdirSync(join(cachePath, '..'), { recursive: true });
    writeFileAtomic(cachePath, JSON.stringify({ ...cache, [key]: decision }, null, 1));
  } catch {
    // an unwritable cache only costs the timing next time
  }
  const engine = engines.get(best.backend)!;
  await engine.load(options.parameters, fresh()); // the timing steps moved it
  return { engine, decision: { ...decision, cached: false } };
}

function safeParse(text: string): Record<string, Omit<Decision, 'cached'>> {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

/** The options of an engine for `config` from its initial parameters. */
export function engineOptions(config: GPTConfig, parameters: Float32Array, adamw: EngineOptions['adamw']): EngineOptions {
  return { config, layout: parameterLayout(config), parameters, adamw };
}
