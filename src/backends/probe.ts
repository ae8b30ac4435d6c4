// What this machine offers: each backend, whether it runs here, and what it reports. Used by
// `wavelet-gpt info` now and by the dispatcher, which times the ones that run.

import { createWasmBackend, wasmSimdSupported } from '../runtime/wasm.js';
import { createWebGPUBackend, type AdapterReport } from '../runtime/webgpu.js';

export interface BackendProbe {
  name: 'webgpu' | 'wasm' | 'js';
  available: boolean;
  /** Why not, when unavailable; otherwise a one-line summary. */
  summary: string;
  adapter?: AdapterReport;
}

async function cores(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  try {
    return (await import('node:os')).availableParallelism();
  } catch {
    return 1;
  }
}

export async function probeBackends(): Promise<BackendProbe[]> {
  const probes: BackendProbe[] = [];
  try {
    const gpu = await createWebGPUBackend();
    const a = gpu.adapter;
    const kind = a.software ? 'software rasteriser: correct, slow' : 'hardware';
    probes.push({ name: 'webgpu', available: true, summary: `${a.vendor || 'unknown vendor'} ${a.device || a.architecture} (${a.description}; ${kind})`, adapter: a });
    gpu.destroy();
  } catch (error) {
    probes.push({ name: 'webgpu', available: false, summary: (error as Error).message });
  }
  if (!wasmSimdSupported()) {
    probes.push({ name: 'wasm', available: false, summary: 'WebAssembly SIMD is not supported by this engine' });
  } else {
    try {
      const wasm = await createWasmBackend();
      const mib = wasm.kernels.memory.buffer.byteLength / 2 ** 20;
      probes.push({ name: 'wasm', available: true, summary: `WebAssembly SIMD128, ${await cores()} core(s), kernels loaded (${mib.toFixed(2)} MiB memory)` });
    } catch (error) {
      probes.push({ name: 'wasm', available: false, summary: (error as Error).message });
    }
  }
  probes.push({ name: 'js', available: true, summary: 'plain TypeScript reference kernels (the oracle; slow)' });
  return probes;
}
