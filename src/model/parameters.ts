// All parameters of a model in one Float32Array (as llm.c): a table of named tensors with their
// shapes and offsets, so that gradients and optimizer state use the same layout, a checkpoint is
// one buffer, and a GPU holds them in one allocation. Linear weights are (out, in), as PyTorch.

import { haarInitialTaps, planWavelet, type WaveletPlan } from './wavelet_plan.js';
import { waveletGaps, type GPTConfig } from './config.js';
import { SeededRandom } from './random.js';

type Init = 'normal' | 'residual' | 'ones' | 'zeros' | 'haar';

export interface ParameterTensor {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  init: Init;
}

export interface ParameterLayout {
  tensors: ParameterTensor[];
  byName: Map<string, ParameterTensor>;
  count: number;
}

/** The wavelet plan of a config (null for the baseline). */
export function waveletPlanOf(config: GPTConfig): WaveletPlan | null {
  if (!config.wavelet) return null;
  return planWavelet(config.width, { ...config.wavelet, maxWindow: config.wavelet.maxWindow ?? config.context });
}

export function parameterLayout(config: GPTConfig): ParameterLayout {
  const { vocabSize: V, context: T, layers: L, width: E, feedForward: F, headDense: D } = config;
  const tensors: ParameterTensor[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], init: Init) => {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, shape, offset, size, init });
    offset += size;
  };
  add('wte', [V, E], 'normal');
  add('wpe', [T, E], 'normal');
  for (let l = 0; l < L; l++) {
    add(`h${l}.ln1.w`, [E], 'ones');
    add(`h${l}.ln1.b`, [E], 'zeros');
    add(`h${l}.qkv.w`, [3 * E, E], 'normal');
    add(`h${l}.proj.w`, [E, E], 'residual');
    add(`h${l}.ln2.w`, [E], 'ones');
    add(`h${l}.ln2.b`, [E], 'zeros');
    add(`h${l}.fc.w`, [F, E], 'normal');
    add(`h${l}.fc.b`, [F], 'zeros');
    add(`h${l}.fcproj.w`, [E, F], 'residual');
    add(`h${l}.fcproj.b`, [E], 'zeros');
  }
  add('lnf.w', [E], 'ones');
  add('lnf.b', [E], 'zeros');
  if (D > 0) {
    add('dense.w', [D, E], 'normal');
    add('dense.b', [D], 'zeros');
  }
  add('out.w', [V, D > 0 ? D : E], 'normal');
  const plan = waveletPlanOf(config);
  if (plan?.form === 'learnable') {
    const sets = config.wavelet!.kernelSharing === 'shared' ? 1 : waveletGaps(config);
    for (let g = 0; g < sets; g++) add(`wavelet${g}.taps`, [plan.tapCount], 'haar');
  }
  return { tensors, byName: new Map(tensors.map((t) => [t.name, t])), count: offset };
}

/** GPT-2's initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2L); taps at Haar. */
export function initialParameters(config: GPTConfig, layout: ParameterLayout, seed: number): Float32Array {
  const params = new Float32Array(layout.count);
  const random = new SeededRandom(seed);
  const plan = waveletPlanOf(config);
  for (const t of layout.tensors) {
    const view = params.subarray(t.offset, t.offset + t.size);
    if (t.init === 'ones') view.fill(1);
    else if (t.init === 'haar') view.set(haarInitialTaps(plan!));
    else if (t.init !== 'zeros') {
      const std = t.init === 'residual' ? 0.02 / Math.sqrt(2 * config.layers) : 0.02;
      for (let i = 0; i < view.length; i++) view[i] = std * random.normal();
    }
  }
  return params;
}

/** The named tensor's slice of a parameter-shaped buffer (parameters, gradients, moments). */
export function slice(buffer: Float32Array, layout: ParameterLayout, name: string): Float32Array {
  const t = layout.byName.get(name);
  if (!t) throw new Error(`no parameter '${name}'`);
  return buffer.subarray(t.offset, t.offset + t.size);
}

/** The taps tensor used in the gap after block l (learnable form). */
export function tapsName(config: GPTConfig, l: number): string {
  return `wavelet${config.wavelet?.kernelSharing === 'shared' ? 0 : l}.taps`;
}
