// wavelet-gpt: wavelet-structured language models on WebGPU and WebAssembly SIMD.
// The public surface so far: the causal multi-scale filter bank of WaveletGPT on three backends.

export { WaveletInputError, BackendUnavailableError } from './errors.js';
export {
  planWavelet,
  planFromWindows,
  haarInitialTaps,
  windowOf,
  checkActivation,
  type WaveletForm,
  type WindowMapping,
  type FilteredHalf,
  type KernelSharing,
  type WaveletOptions,
  type WaveletPlan,
  type ActivationShape,
} from './kernels/wavelet/plan.js';
export { waveletForwardRef, waveletBackwardRef, type WaveletGradients } from './kernels/wavelet/ref.js';
export { WasmWaveletOp } from './kernels/wavelet/wasm.js';
export { WebGPUWaveletOp, streamingChunk } from './kernels/wavelet/webgpu.js';
export { haarFilterBank, haarLevelPlan, type HaarFilterBank } from './kernels/wavelet/filterbank.js';
export { createWasmBackend, wasmSimdSupported, WasmArena, type WasmBackend, type WasmSource } from './backends/wasm.js';
export { createWebGPUBackend, ensureNavigatorGpu, createBuffer, readBuffer, withErrorScopes, type WebGPUBackend, type AdapterReport } from './backends/webgpu.js';
export { probeBackends, type BackendProbe } from './backends/probe.js';
