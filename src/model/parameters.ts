// All parameters of a model in one Float32Array (as llm.c): a table of named tensors with their
// shapes and offsets, so that gradients and optimizer state use the same layout, a checkpoint is
// one buffer, and a GPU holds them in one allocation. Linear weights are (out, in), as PyTorch.

import { haarInitialTaps, planWavelet, type WaveletPlan } from './wavelet_plan.js';
import { isWaveletLM, waveletGaps, type GPTConfig, type ModelConfig } from './config.js';
import { SeededRandom } from './random.js';
import { waveletLmTensors } from './wavelet_lm.js';
import { loraTargets, loraTensors } from './lora.js';

/**
 * How a tensor starts: GPT-2's N(0, 0.02) ('normal'; 'residual' scaled by 1/sqrt(2L)), constants,
 * Haar taps; WaveletLM's PyTorch-default uniform(+-bound), N(0, std), and scale * identity plus
 * N(0, noise) (its lifting and mixer matrices start as identities).
 */
export type Init =
  | 'normal' | 'residual' | 'ones' | 'zeros' | 'haar'
  | { normal: number }
  | { uniform: number }
  | { identity: number; noise?: number };

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

/** The wavelet plan of a config (null for the baseline and for WaveletLM). */
export function waveletPlanOf(config: ModelConfig): WaveletPlan | null {
  if (isWaveletLM(config) || !config.wavelet) return null;
  return planWavelet(config.width, { ...config.wavelet, maxWindow: config.wavelet.maxWindow ?? config.context });
}

/** Adds a named tensor to a layout being written. */
export type AddTensor = (name: string, shape: number[], init: Init) => void;

export function parameterLayout(config: ModelConfig): ParameterLayout {
  const tensors: ParameterTensor[] = [];
  let offset = 0;
  const add: AddTensor = (name, shape, init) => {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, shape, offset, size, init });
    offset += size;
  };
  if (isWaveletLM(config)) waveletLmTensors(config, add);
  else gptTensors(config, add);
  // After the model's own: its tensors keep their offsets, and an adapter's are one range.
  if (config.lora) for (const t of loraTensors(loraTargets(tensors, config.lora), config.lora.rank)) add(t.name, t.shape, t.init);
  return { tensors, byName: new Map(tensors.map((t) => [t.name, t])), count: offset };
}

function gptTensors(config: GPTConfig, add: AddTensor): void {
  const { vocabSize: V, context: T, layers: L, width: E, feedForward: F, headDense: D } = config;
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
}

/** Each tensor as its init says, drawn in layout order from one seeded generator. */
export function initialParameters(config: ModelConfig, layout: ParameterLayout, seed: number): Float32Array {
  const params = new Float32Array(layout.count);
  const random = new SeededRandom(seed);
  const plan = waveletPlanOf(config);
  for (const t of layout.tensors) {
    const view = params.subarray(t.offset, t.offset + t.size);
    const init = t.init;
    if (init === 'ones') view.fill(1);
    else if (init === 'haar') view.set(haarInitialTaps(plan!));
    else if (init === 'normal' || init === 'residual') {
      const std = init === 'residual' ? 0.02 / Math.sqrt(2 * config.layers) : 0.02;
      for (let i = 0; i < view.length; i++) view[i] = std * random.normal();
    } else if (init === 'zeros') {
      // already zero
    } else if ('normal' in init) {
      for (let i = 0; i < view.length; i++) view[i] = init.normal * random.normal();
    } else if ('uniform' in init) {
      for (let i = 0; i < view.length; i++) view[i] = init.uniform * (2 * random.next() - 1);
    } else {
      const [rows, cols] = t.shape;
      for (let i = 0; i < view.length; i++) view[i] = (init.noise ?? 0) * random.normal();
      for (let d = 0; d < Math.min(rows, cols); d++) view[d * cols + d] += init.identity;
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

/** The [start, end) ranges of a layout that the named tensors cover, adjacent ones joined; an unknown name is an error. */
export function tensorRanges(layout: ParameterLayout, names: readonly string[]): [number, number][] {
  const ranges = names
    .map((name) => {
      const t = layout.byName.get(name);
      if (!t) throw new Error(`no parameter '${name}'`);
      return [t.offset, t.offset + t.size] as [number, number];
    })
    .sort((a, b) => a[0] - b[0]);
  const joined: [number, number][] = [];
  for (const range of ranges) {
    const last = joined[joined.length - 1];
    if (last && last[1] >= range[0]) last[1] = Math.max(last[1], range[1]);
    else joined.push([...range]);
  }
  return joined;
}

/** The taps tensor used in the gap after block l (learnable form). */
export function tapsName(config: GPTConfig, l: number): string {
  return `wavelet${config.wavelet?.kernelSharing === 'shared' ? 0 : l}.taps`;
}
