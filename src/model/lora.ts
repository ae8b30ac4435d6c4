// LoRA (Hu et al., arXiv 2106.09685): a trained matrix W (out, in) stays as it is and learns a
// low-rank change beside it, y = x W^T + (alpha / r) (x A^T) B^T, A (r, in) and B (out, r), B
// starting at zero so that the adapted model starts as the base model. Written as a rewrite of
// the network description (two 'linear' layers and a 'sum' beside each adapted matrix), so every
// backend, the memory plan and the tfjs oracle run it with the kernels they already have.
// Tensors are named as the weight they adapt: h0.qkv.w gets h0.qkv.lora_a and h0.qkv.lora_b.

import { WaveletInputError } from '../errors.js';
import type { Layer, LinearLayer, Network } from './network.js';

export interface LoraSettings {
  /** r, the rank of the change. */
  rank: number;
  /** The change is scaled by alpha / rank (so that a change of rank leaves the learning rate's meaning). */
  alpha: number;
  /** Name patterns of the matrices adapted (`*` any characters, `?` one): linear layers' weights. */
  targets: string[];
}

/** The attention's and the MLP's matrices of every block (WaveletLM has no attention: its block's output projection and MLP). */
export const DEFAULT_LORA_TARGETS = ['*.qkv.w', '*.proj.w', '*.fc.w', '*.fcproj.w'];

/** A test of names against glob patterns: `*` any run of characters (dots too), `?` one. */
export function namePattern(patterns: readonly string[]): (name: string) => boolean {
  const expressions = patterns.map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`));
  return (name) => expressions.some((e) => e.test(name));
}

/** The two tensors that adapt `weight`. */
export function loraNames(weight: string): { down: string; up: string } {
  const base = weight.replace(/\.w$/, '');
  return { down: `${base}.lora_a`, up: `${base}.lora_b` };
}

export function isLoraTensor(name: string): boolean {
  return /\.lora_[ab]$/.test(name);
}

export function checkLora(lora: unknown): LoraSettings {
  const l = lora as LoraSettings;
  if (l === null || typeof l !== 'object' || Array.isArray(l)) throw new WaveletInputError(`model config 'lora': expected an object {rank, alpha, targets}, found ${JSON.stringify(lora)}`);
  if (!Number.isInteger(l.rank) || l.rank < 1 || l.rank > 4096) throw new WaveletInputError(`model config 'lora.rank': expected an integer from 1 to 4,096, found ${JSON.stringify(l.rank)}`);
  if (typeof l.alpha !== 'number' || !Number.isFinite(l.alpha) || l.alpha <= 0) throw new WaveletInputError(`model config 'lora.alpha': expected a number above 0, found ${JSON.stringify(l.alpha)}`);
  if (!Array.isArray(l.targets) || l.targets.length === 0 || !l.targets.every((t) => typeof t === 'string' && t.length > 0)) {
    throw new WaveletInputError(`model config 'lora.targets': expected a list of name patterns, found ${JSON.stringify(l.targets)}`);
  }
  return l;
}

/** The matrices (out, in) that `lora` adapts, of a layout's tensors; a pattern matching none is an error. */
export function loraTargets(tensors: readonly { name: string; shape: number[] }[], lora: LoraSettings): { name: string; shape: [number, number] }[] {
  const matrices = tensors.filter((t) => t.shape.length === 2 && !isLoraTensor(t.name));
  for (const pattern of lora.targets) {
    if (!matrices.some((t) => namePattern([pattern])(t.name))) throw new WaveletInputError(`LoRA target '${pattern}' matches no matrix of the model (its matrices: ${matrices.slice(0, 8).map((t) => t.name).join(', ')}${matrices.length > 8 ? ', ...' : ''})`);
  }
  const adapted = namePattern(lora.targets);
  return matrices.filter((t) => adapted(t.name)) as { name: string; shape: [number, number] }[];
}

/**
 * The tensors LoRA adds for each target: A (r, in) uniform in +-1/sqrt(in) (PyTorch's default for
 * a linear layer, as PEFT draws it), B (out, r) zero.
 */
export function loraTensors(targets: { name: string; shape: [number, number] }[], rank: number): { name: string; shape: number[]; init: { uniform: number } | 'zeros' }[] {
  return targets.flatMap(({ name, shape: [out, inFeatures] }) => {
    const { down, up } = loraNames(name);
    return [
      { name: down, shape: [rank, inFeatures], init: { uniform: 1 / Math.sqrt(inFeatures) } },
      { name: up, shape: [out, rank], init: 'zeros' as const },
    ];
  });
}

/** The network with each adapted linear layer's output replaced by base + (alpha / r) * up(down(input)). */
export function withLora(network: Network, lora: LoraSettings, targets: readonly string[]): Network {
  const adapted = new Set(targets);
  const layers: Layer[] = [];
  const widths = new Map(network.widths);
  const seen = new Set<string>();
  for (const layer of network.layers) {
    if (layer.kind !== 'linear' || !adapted.has(layer.weight)) {
      layers.push(layer);
      continue;
    }
    seen.add(layer.weight);
    const { down, up } = loraNames(layer.weight);
    const base: LinearLayer = { ...layer, out: `${layer.out}.base` };
    const lowered: LinearLayer = { kind: 'linear', in: layer.in, out: `${layer.out}.lora_a`, weight: down, bias: null, inFeatures: layer.inFeatures, outFeatures: lora.rank };
    const raised: LinearLayer = { kind: 'linear', in: lowered.out, out: `${layer.out}.lora_b`, weight: up, bias: null, inFeatures: lora.rank, outFeatures: layer.outFeatures };
    layers.push(base, lowered, raised, { kind: 'sum', a: base.out, b: raised.out, out: layer.out, scaleA: 1, scaleB: lora.alpha / lora.rank });
    widths.set(base.out, layer.outFeatures).set(lowered.out, lora.rank).set(raised.out, layer.outFeatures);
  }
  const unused = targets.find((t) => !seen.has(t));
  if (unused) throw new WaveletInputError(`LoRA target '${unused}' is not the weight of a linear layer (an embedding or a mixing matrix cannot be adapted)`);
  return { layers, widths, logits: network.logits };
}

/** W += (alpha / r) B A for each adapted matrix, in place on `matrix(name)` views. */
export function mergeLoraInto(lora: LoraSettings, targets: { name: string; shape: [number, number] }[], matrix: (name: string) => Float32Array): void {
  const scale = lora.alpha / lora.rank;
  const r = lora.rank;
  for (const { name, shape: [out, inFeatures] } of targets) {
    const { down, up } = loraNames(name);
    const [w, a, b] = [matrix(name), matrix(down), matrix(up)];
    for (let o = 0; o < out; o++) {
      for (let k = 0; k < r; k++) {
        const factor = scale * b[o * r + k];
        if (factor === 0) continue;
        for (let i = 0; i < inFeatures; i++) w[o * inFeatures + i] += factor * a[k * inFeatures + i];
      }
    }
  }
}
