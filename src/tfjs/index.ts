// wavelet-gpt/tfjs: the wavelet structure as a TensorFlow.js op, and backend selection.
export { waveletFilter, registerWaveletOp, WAVELET_FILTER, WAVELET_TAP_GRADIENT } from './wavelet_op.js';
export { useTfjsBackend, type TfjsBackendName } from './backends.js';
export { tfjsLoss, tfjsParameters, type TfjsParameters } from './network.js';
