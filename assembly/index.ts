// The CPU kernels of wavelet-gpt, compiled with SIMD to build/wavelet.wasm.
export { planRuns, streamingFilter, packTaps, learnableFilter, learnableTapGradient } from './wavelet';
