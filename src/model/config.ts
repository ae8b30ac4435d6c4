// A model is plain data: a config. Presets name the sizes people ask for; any other size is a
// config written out. The wavelet structure (or none, the baseline) is part of the config.

import { WaveletInputError } from '../errors.js';
import type { FilteredHalf, KernelSharing, WaveletForm, WindowMapping } from './wavelet_plan.js';

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
}

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

/** Checks every field; names the first one that is wrong. */
export function checkConfig(config: GPTConfig): GPTConfig {
  const positive = ['vocabSize', 'context', 'layers', 'width', 'heads', 'feedForward'] as const;
  for (const field of positive) {
    const value = config[field];
    if (!Number.isInteger(value) || value < 1) throw new WaveletInputError(`model config '${field}': expected a positive integer, found ${value}`);
  }
  if (!Number.isInteger(config.headDense) || config.headDense < 0) throw new WaveletInputError(`model config 'headDense': expected an integer >= 0, found ${config.headDense}`);
  if (config.width % config.heads !== 0) throw new WaveletInputError(`model config: width ${config.width} is not a multiple of heads ${config.heads}`);
  if (config.wavelet && config.width % 2 !== 0) throw new WaveletInputError(`model config: the wavelet structure filters half the channels, so width must be even, found ${config.width}`);
  return config;
}

/** The wavelet structure sits between decoder blocks: after each block but the last. */
export function waveletGaps(config: GPTConfig): number {
  return config.wavelet ? config.layers - 1 : 0;
}
