// The entry of the portable inference bundles (scripts/build-bundles.mjs): WaveletModel with both
// wasm modules inlined as bytes, so that it loads where there is no file system (a browser tab, a
// worker, Deno, Bun). A runtime that forbids compiling bytes (Cloudflare's workers) passes
// compiled modules instead: loadModel(checkpoint, { wasm: waveletModule, tokenizersWasm: tokenizersModule }).
import waveletWasm from '../build/wavelet.wasm';
import tokenizersWasm from '../build/tokenizers.wasm';
import { WaveletModel, WaveletGPT, type LoadOptions } from '../src/infer/model.js';

/** WaveletModel.load with the inlined kernels (unless `options` names others). */
export function loadModel(source: Uint8Array | ArrayBuffer | URL | string, options: LoadOptions = {}): Promise<WaveletModel> {
  return WaveletModel.load(source, { wasm: waveletWasm, tokenizersWasm, ...options });
}

export { WaveletModel, WaveletGPT, type LoadOptions };
export type { GenerateOptions, GeneratedToken } from '../src/infer/model.js';
export { wasmSimdSupported } from '../src/runtime/wasm.js';
