// A model is plain data: a config. Two architectures: the GPT (the baseline, or WaveletGPT with
// its wavelet structure between blocks) and WaveletLM (attention-free: lifting wavelets over time,
// a Walsh-Hadamard transform over channels, per-scale gated mixing). Presets name the sizes people
// ask for; any other size is a config written out.

import { WaveletInputError } from '../errors.js';
import { planWavelet, type FilteredHalf, type KernelSharing, type WaveletForm, type WindowMapping } from './wavelet_plan.js';
import { checkLora, type LoraSettings } from './lora.js';

export interface WaveletStructure {
  form: WaveletForm;
  mapping?: WindowMapping;
  half?: FilteredHalf;
  /** Learnable form: one set of kernels per gap between blocks, or one set for all. */
  kernelSharing?: KernelSharing;
  /** The longest window; the context by default. */
  maxWindow?: number;
}

export interface GPTConfig {
  /** Absent in configs written before WaveletLM: a GPT. */
  architecture?: 'gpt';
  vocabSize: number;
  /** T, the context length. */
  context: number;
  layers: number;
  /** E, the residual width. */
  width: number;
  heads: number;
  /** The MLP's hidden width. */
  feedForward: number;
  /** The paper's dense layer between the last LayerNorm and the vocabulary (E -> D -> V); 0 for none. */
  headDense: number;
  /** null: the baseline GPT. */
  wavelet: WaveletStructure | null;
  /** LoRA adapters beside some of its matrices (model/lora.ts); absent: none. */
  lora?: LoraSettings;
}

/**
 * WaveletLM (after ramongougis/WaveletLM, itself after Kiruluta et al., arXiv 2504.08801). A block:
 * LayerNorm, channels zero-padded to the next power of two, an undecimated causal lifting
 * decomposition over time (level l looks 2^l steps back), coefficients plus a running mean of the
 * block's input (per-scale gains starting at 0), a Walsh-Hadamard transform over channels, a gated
 * mixer per scale (gates routed across scales), the inverse transform, a learned weight per scale,
 * the lifting reconstruction, an output projection, a learned-alpha residual, then a LayerNorm'd
 * MLP with learned alphas.
 */
export interface WaveletLMConfig {
  architecture: 'wavelet-lm';
  vocabSize: number;
  /** T, the context length. */
  context: number;
  layers: number;
  /** C, the residual width (the wavelet part pads it to a power of two). */
  width: number;
  /** L, lifting levels: S = L + 1 scales, the longest look back 2^(L-1) steps (2^L - 1 in all). */
  levels: number;
  /** The MLP's hidden width is mlpExpansion * width. */
  mlpExpansion: number;
  /** Rank of each mixer's low-rank path; 0 for none. */
  lowRank: number;
  /** One set of lifting networks for all blocks (their default) or one per block. */
  liftingSharing: 'shared' | 'per-block';
  /** LoRA adapters beside some of its matrices (model/lora.ts); absent: none. */
  lora?: LoraSettings;
}

export type ModelConfig = GPTConfig | WaveletLMConfig;
export type Architecture = 'gpt' | 'wavelet-lm';
export const ARCHITECTURES: readonly Architecture[] = ['gpt', 'wavelet-lm'];

export function isWaveletLM(config: ModelConfig): config is WaveletLMConfig {
  return config.architecture === 'wavelet-lm';
}

/** The architecture's name as people know it. */
export function modelName(config: ModelConfig): string {
  const adapters = config.lora ? ` with LoRA adapters of rank ${config.lora.rank}` : '';
  if (isWaveletLM(config)) return `WaveletLM${adapters}`;
  return (config.wavelet ? `WaveletGPT (${config.wavelet.form})` : 'GPT baseline') + adapters;
}

/** The sizes in a line: '2 layers x 32, 4 heads, context 64, vocabulary 27'. */
export function describeSizes(config: ModelConfig): string {
  const common = `${config.layers} layers x ${config.width}`;
  const tail = `context ${config.context}, vocabulary ${config.vocabSize}`;
  if (isWaveletLM(config)) return `${common}, ${config.levels} lifting levels (${config.levels + 1} scales), ${tail}`;
  return `${common}, ${config.heads} heads, ${tail}`;
}

/** The next power of two at or above n. */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export const WAVELET_LM_PRESETS = {
  /** A minute on a CPU. */
  tiny: { vocabSize: 27, context: 64, layers: 2, width: 32, levels: 3, mlpExpansion: 2, lowRank: 4, liftingSharing: 'shared' },
  /** About 27M parameters, for a GPU. */
  small: { vocabSize: 27, context: 256, layers: 4, width: 512, levels: 5, mlpExpansion: 4, lowRank: 4, liftingSharing: 'shared' },
} satisfies Record<string, Omit<WaveletLMConfig, 'architecture'>>;

export const PRESETS = {
  /** The WaveletGPT paper's text8 model. */
  'paper-text8': { vocabSize: 27, context: 512, layers: 10, width: 128, heads: 8, feedForward: 512, headDense: 2048 },
  /** For tests and a few minutes on a CPU. */
  tiny: { vocabSize: 27, context: 64, layers: 2, width: 32, heads: 4, feedForward: 64, headDense: 64 },
} satisfies Record<string, Omit<GPTConfig, 'wavelet'>>;

export type PresetName = keyof typeof PRESETS;

export function presetConfig(name: string, wavelet: WaveletStructure | null, overrides: Partial<GPTConfig> = {}): GPTConfig {
  const preset = PRESETS[name as PresetName];
  if (!preset) throw new WaveletInputError(`unknown preset '${name}': expected one of ${Object.keys(PRESETS).join(', ')}`);
  return checkConfig({ ...preset, wavelet, ...overrides });
}

export function waveletLmPresetConfig(name: string, overrides: Partial<WaveletLMConfig> = {}): WaveletLMConfig {
  const preset = WAVELET_LM_PRESETS[name as keyof typeof WAVELET_LM_PRESETS];
  if (!preset) throw new WaveletInputError(`unknown WaveletLM preset '${name}': expected one of ${Object.keys(WAVELET_LM_PRESETS).join(', ')}`);
  return checkConfig({ architecture: 'wavelet-lm', ...preset, ...overrides } as WaveletLMConfig);
}

/** Checks every field; names the first one that is wrong. */
/**
 * Bounds far above any model these engines train, below sizes that only a damaged or hostile file
 * declares: a context of 1e9 once asked for 32 GB before any tensor was read.
 */
const SIZE_BOUNDS: Record<string, number> = {
  vocabSize: 2 ** 24, context: 2 ** 20, layers: 1024, width: 2 ** 16, heads: 2 ** 12, feedForward: 2 ** 18, headDense: 2 ** 18, levels: 16, mlpExpansion: 64, lowRank: 2 ** 12,
};

function checkSize(config: object, field: string, least: number): void {
  const value = (config as Record<string, unknown>)[field];
  if (!Number.isInteger(value) || (value as number) < least || (value as number) > SIZE_BOUNDS[field]) {
    throw new WaveletInputError(`model config '${field}': expected an integer from ${least} to ${SIZE_BOUNDS[field].toLocaleString('en')}, found ${JSON.stringify(value)}`);
  }
}

export function checkConfig<Config extends ModelConfig>(config: Config): Config {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new WaveletInputError(`model config: expected an object, found ${JSON.stringify(config)}`);
  const architecture = config.architecture ?? 'gpt';
  if (!ARCHITECTURES.includes(architecture)) throw new WaveletInputError(`model config 'architecture': expected ${ARCHITECTURES.join(' or ')}, found ${JSON.stringify(architecture)}`);
  if (config.lora !== undefined) checkLora(config.lora);
  if (isWaveletLM(config)) return checkWaveletLM(config) as Config;
  return checkGPT(config as GPTConfig) as Config;
}

function checkWaveletLM(config: WaveletLMConfig): WaveletLMConfig {
  for (const field of ['vocabSize', 'context', 'layers', 'width', 'levels', 'mlpExpansion'] as const) checkSize(config, field, 1);
  checkSize(config, 'lowRank', 0);
  if (config.liftingSharing !== 'shared' && config.liftingSharing !== 'per-block') throw new WaveletInputError(`model config 'liftingSharing': expected shared or per-block, found ${JSON.stringify(config.liftingSharing)}`);
  return config;
}

function checkGPT(config: GPTConfig): GPTConfig {
  for (const field of ['vocabSize', 'context', 'layers', 'width', 'heads', 'feedForward'] as const) checkSize(config, field, 1);
  checkSize(config, 'headDense', 0);
  if (config.width % config.heads !== 0) throw new WaveletInputError(`model config: width ${config.width} is not a multiple of heads ${config.heads}`);
  const wavelet = config.wavelet;
  if (wavelet === undefined) throw new WaveletInputError(`model config 'wavelet': expected a wavelet structure or null (the baseline), found nothing`);
  if (wavelet !== null) {
    if (typeof wavelet !== 'object' || Array.isArray(wavelet)) throw new WaveletInputError(`model config 'wavelet': expected an object or null, found ${JSON.stringify(wavelet)}`);
    if (config.width % 2 !== 0) throw new WaveletInputError(`model config: the wavelet structure filters half the channels, so width must be even, found ${config.width}`);
    const { maxWindow } = wavelet;
    // Longer than the context is allowed (the window never fills: the layer tests use it), not without bound (learnable taps grow with it).
    if (maxWindow !== undefined && (!Number.isInteger(maxWindow) || maxWindow < 2 || maxWindow > SIZE_BOUNDS.context)) {
      throw new WaveletInputError(`model config 'wavelet.maxWindow': expected an integer from 2 to ${SIZE_BOUNDS.context.toLocaleString('en')}, found ${JSON.stringify(maxWindow)}`);
    }
    planWavelet(config.width, { ...wavelet, maxWindow: maxWindow ?? config.context }); // checks the form, mapping, half and sharing
  }
  return config;
}

/** The wavelet structure sits between decoder blocks: after each block but the last. */
export function waveletGaps(config: ModelConfig): number {
  return !isWaveletLM(config) && config.wavelet ? config.layers - 1 : 0;
}
