// Small models that exercise every path of the GPT and of WaveletLM. The GPT's: the baseline with and without the dense
// head, each wavelet form (learnable per gap and shared; a lower half; linear-size windows), and
// LoRA adapters.
// Shared by the tests that hold one implementation of the model to another.
import { checkConfig, type GPTConfig, type WaveletLMConfig } from '../../src/model/config.js';
import { DEFAULT_LORA_TARGETS } from '../../src/model/lora.js';

const base = { vocabSize: 13, context: 16, layers: 3, width: 12, heads: 3, feedForward: 20, headDense: 10 };

export const TEST_CONFIGS: [string, GPTConfig][] = [
  ['baseline', checkConfig({ ...base, wavelet: null })],
  ['baseline without the dense head', checkConfig({ ...base, headDense: 0, wavelet: null })],
  ['haar', checkConfig({ ...base, wavelet: { form: 'haar' } })],
  ['learnable, kernels per gap', checkConfig({ ...base, wavelet: { form: 'learnable' } })],
  ['learnable, shared kernels, lower half, linear-size', checkConfig({ ...base, wavelet: { form: 'learnable', kernelSharing: 'shared', half: 'lower', mapping: 'linear-size' } })],
  ['ema', checkConfig({ ...base, wavelet: { form: 'ema' } })],
  // Every block matrix and the vocabulary's adapted: each backend runs the rewritten network.
  ['haar with LoRA adapters of rank 2', checkConfig({ ...base, wavelet: { form: 'haar' }, lora: { rank: 2, alpha: 3, targets: [...DEFAULT_LORA_TARGETS, 'out.w'] } })],
];

export const TEST_BASE = base;

/** WaveletLM at odd sizes: a width that is not a power of two (padded to 8), and per-block lifting without the low-rank path. */
export const WAVELET_LM_TEST_BASE: WaveletLMConfig = { architecture: 'wavelet-lm', vocabSize: 11, context: 24, layers: 2, width: 6, levels: 3, mlpExpansion: 2, lowRank: 2, liftingSharing: 'shared' };
export const WAVELET_LM_TEST_CONFIGS: [string, WaveletLMConfig][] = [
  ['width 6 padded to 8', WAVELET_LM_TEST_BASE],
  ['per-block lifting, no low-rank path', checkConfig<WaveletLMConfig>({ ...WAVELET_LM_TEST_BASE, liftingSharing: 'per-block', lowRank: 0, width: 8 })],
];
