/// <reference types="@webgpu/types" preserve="true" />
// wavelet-gpt: wavelet-structured language models on WebGPU and WebAssembly SIMD.
// The public surface: the causal multi-scale filter bank on three backends, the model, the
// backends' models (training and generation). Everything here runs in browsers and workers too. Node-only parts (the
// training loop, checkpoints on disk, the dispatcher's cache): 'wavelet-gpt/node'. Tokenizers:
// 'wavelet-gpt/tokenizers'; the tfjs op and model: 'wavelet-gpt/tfjs'.

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
} from './model/wavelet_plan.js';
export { waveletForwardRef, waveletBackwardRef, type WaveletGradients } from './kernels/wavelet/ref.js';
export { WasmWaveletOp } from './kernels/wavelet/wasm.js';
export { WebGPUWaveletOp, streamingChunk } from './kernels/wavelet/webgpu.js';
export { haarFilterBank, haarLevelPlan, type HaarFilterBank } from './kernels/wavelet/filterbank.js';
export { createWasmBackend, wasmSimdSupported, wasmRelaxedSimdSupported, WasmArena, type WasmBackend, type WasmBuilds, type WasmSource } from './runtime/wasm.js';
export { createWebGPUBackend, ensureNavigatorGpu, createBuffer, readBuffer, withErrorScopes, type WebGPUBackend, type AdapterReport } from './runtime/webgpu.js';
export { probeBackends, type BackendProbe } from './backends/probe.js';
export {
  PRESETS, WAVELET_LM_PRESETS, ARCHITECTURES, presetConfig, waveletLmPresetConfig, checkConfig, isWaveletLM, modelName,
  type GPTConfig, type WaveletLMConfig, type ModelConfig, type Architecture, type WaveletStructure, type PresetName,
} from './model/config.js';
export { parameterLayout, initialParameters, type ParameterLayout } from './model/parameters.js';
export { BACKEND_NAMES, type BackendName, type BackendModel, type Decoder, type ModelOptions, type OptimizerState } from './backends/model.js';
export { createModel, chooseBackend, type BackendChoice, type ChoiceCache, type Timing, type Workload } from './backends/registry.js';
export { JsModel } from './backends/js/model.js';
export { WasmModel } from './backends/wasm/model.js';
export { WebGPUModel } from './backends/webgpu/model.js';
export { gptNetwork } from './model/gpt.js';
export { waveletLmNetwork } from './model/wavelet_lm.js';
export { networkOf } from './model/networks.js';
export { type Network, type Layer } from './model/network.js';
export { DEFAULT_ADAMW, DEFAULT_ADAGRAD, defaultOptimizer, type AdamWSettings, type AdagradSettings, type OptimizerSettings, type OptimizerKind } from './kernels/optimizer/ref.js';
export { TokenizerInputError } from './errors.js';
export { WaveletModel, WaveletGPT, type GenerateOptions, type GeneratedToken, type LoadOptions } from './infer/model.js';
export { createWorkerModel, WorkerModel, type WorkerModelOptions, type WorkerLike } from './infer/worker_model.js';
export { serveModel, serveModelWith, type ModelLoader } from './infer/worker_host.js';
export { clearModelCache, MODEL_CACHE } from './io/model_cache.js';
export { applyAdapter, writeAdapter, ADAPTER_FILE } from './io/adapter.js';
export { mergeAdapters } from './model/adapters.js';
export { DEFAULT_LORA_TARGETS, type LoraSettings } from './model/lora.js';
export { sampleToken, checkSampling, type SamplingOptions } from './infer/sampling.js';
export { parseCheckpoint, type ModelCheckpoint } from './io/checkpoint.js';
export { quantizeInt8, dequantizeInt8 } from './io/int8.js';
