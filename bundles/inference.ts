// The entry of the portable inference bundles (scripts/build-bundles.mjs): WaveletModel with the
// wasm modules inlined as bytes (the kernels, plain and relaxed SIMD, and the tokenizers), so
// that it loads where there is no file system (a browser tab, a worker, Deno, Bun). A runtime that forbids compiling bytes (Cloudflare's workers) passes
// compiled modules instead: loadModel(checkpoint, { wasm: waveletModule, tokenizersWasm: tokenizersModule }).
import waveletWasm from '../build/wavelet.wasm';
import waveletRelaxedWasm from '../build/wavelet-relaxed.wasm';
import tokenizersWasm from '../build/tokenizers.wasm';
import threadsWasm from '../build/wavelet-threads.wasm';
import threadsRelaxedWasm from '../build/wavelet-threads-relaxed.wasm';
import { WaveletModel, WaveletGPT, type LoadOptions } from '../src/infer/model.js';
import { serveModelWith } from '../src/infer/worker_host.js';
import type { MessageEndpoint } from '../src/infer/worker_protocol.js';

/** WaveletModel.load with the inlined kernels (unless `options` names others). */
export function loadModel(source: Uint8Array | ArrayBuffer | URL | string, options: LoadOptions = {}): Promise<WaveletModel> {
  return WaveletModel.load(source, { wasm: { simd: waveletWasm, relaxedSimd: waveletRelaxedWasm }, tokenizersWasm, wasmThreads: { simd: threadsWasm, relaxedSimd: threadsRelaxedWasm }, ...options });
}

/** Serves a model in a worker (a Web Worker's scope by default) for createWorkerModel, loaded with the inlined kernels. */
export function serveModel(endpoint?: MessageEndpoint): void {
  serveModelWith(loadModel, endpoint);
}

export { WaveletModel, WaveletGPT, type LoadOptions };
export { createWorkerModel, WorkerModel, type WorkerModelOptions } from '../src/infer/worker_model.js';
export { clearModelCache } from '../src/io/model_cache.js';
export type { GenerateOptions, GeneratedToken } from '../src/infer/model.js';
export { wasmSimdSupported, wasmRelaxedSimdSupported } from '../src/runtime/wasm.js';
