// Small models that exercise every path of the GPT: the baseline with and without the dense
// head, each wavelet form (learnable per gap and shared; a lower half; linear-size windows), and
// LoRA adapters.
// Shared by the tests that hold one implementation of the model to another.
import { checkConfig, type GPTConfig } from '../../src/model/config.js';
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
