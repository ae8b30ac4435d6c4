// The CPU engine of wavelet-gpt, compiled with SIMD to build/wavelet.wasm: the wavelet filter
// bank and the layers of the GPT around it, sharing one memory.
export { planRuns, streamingFilter, packTaps, learnableFilter, learnableTapGradient } from './wavelet';
export {
  encoderForward, encoderBackward, layernormForward, layernormBackward, layernormBackwardShare, matmulForward, matmulScratchFloats, matmulBackward, matmulBackwardInput, matmulBackwardWeights, matmulBackwardShare,
  attentionScratchFloats, attentionForward, attentionForwardHeads, attentionBackward, attentionBackwardHeads, attentionBackwardKeys, attentionBackwardQueries, decodeAttention, geluForward, geluBackward, residualForward, zeroFloats, addScaled,
  crossEntropyForward, crossEntropyBackward,
} from './model/layers';
export { squaresBlock, sumSquaresBlocks, adamw, adagrad } from './model/optimizer';
export { relaxedSimd } from './model/simd';
export {
  padForward, padBackward, liftingPredictForward, liftingPredictBackward, scaledSum, dotProduct, channelScaleForward, channelScaleBackward,
  hadamard, siluGateForward, siluGateBackward, runningMeanForward, runningMeanBackward,
} from './model/wavelet_lm';
