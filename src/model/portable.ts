// A model's network as a document that another runtime runs without this package's code: the
// layer list of model/network.ts, each activation's width, every parameter's shape, and the
// wavelet plan resolved per channel. Checkpoints carry it in their metadata (`network`), so the
// PyTorch package (python/) and the ONNX exporter interpret the one description every backend
// runs, instead of writing each architecture again.

import type { ModelConfig } from './config.js';
import { LAYERNORM_EPSILON, type Layer } from './network.js';
import { networkOf } from './networks.js';
import { parameterLayout, waveletPlanOf } from './parameters.js';
import type { WaveletForm } from './wavelet_plan.js';

export const PORTABLE_NETWORK_FORMAT = 'wavelet-gpt network 1';

/** The wavelet layers' plan, per channel (model/wavelet_plan.ts). */
export interface PortableWaveletPlan {
  form: WaveletForm;
  /** f(c): the window of channel c; 0 where the channel passes through. */
  windows: number[];
  /** Learnable: channel c's taps are taps[tapOffsets[c] .. tapOffsets[c + 1]), tap k acting on x[t - k]. */
  tapOffsets: number[];
  /** EMA: s[t] = alpha x[t] + (1 - alpha) s[t - 1]. */
  alphas: number[];
}

export interface PortableNetwork {
  format: typeof PORTABLE_NETWORK_FORMAT;
  vocabSize: number;
  /** The longest sequence the model was built for (its position table where it has one). */
  context: number;
  layernormEpsilon: number;
  /** In the order they run; tokens enter through the 'embedding' layer. */
  layers: Layer[];
  /** Floats a position of each activation. */
  widths: Record<string, number>;
  /** The activation that holds the logits (positions, vocabSize). */
  logits: string;
  /** Every parameter tensor in checkpoint order, with its shape (linear weights (out, in)). */
  parameters: { name: string; shape: number[] }[];
  /** Present where a layer is of kind 'wavelet'. */
  wavelet: PortableWaveletPlan | null;
}

export function portableNetwork(config: ModelConfig): PortableNetwork {
  const network = networkOf(config);
  const plan = waveletPlanOf(config);
  // JSON's numbers hold the float32 alphas exactly.
  return {
    format: PORTABLE_NETWORK_FORMAT,
    vocabSize: config.vocabSize,
    context: config.context,
    layernormEpsilon: LAYERNORM_EPSILON,
    layers: network.layers,
    widths: Object.fromEntries(network.widths),
    logits: network.logits,
    parameters: parameterLayout(config).tensors.map(({ name, shape }) => ({ name, shape })),
    wavelet: plan && { form: plan.form, windows: [...plan.windows], tapOffsets: [...plan.tapOffsets], alphas: [...plan.alphas] },
  };
}
