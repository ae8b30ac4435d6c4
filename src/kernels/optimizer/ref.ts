// The optimizers, as plain references over parameter-shaped buffers: AdamW (decoupled weight
// decay, as PyTorch's) and Adagrad (as PyTorch's, the optimizer WaveletLM's authors train with),
// both after clipping by the global gradient norm. The engines' fused kernels are checked
// against these.

import type { ParameterLayout } from '../../model/parameters.js';

export interface AdamWSettings {
  kind: 'adamw';
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Decoupled: params -= lr * weightDecay * params, on the masked parameters. */
  weightDecay: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  clipNorm: number;
}

export interface AdagradSettings {
  kind: 'adagrad';
  epsilon: number;
  /** As L2 in the gradient (PyTorch's Adagrad): g += weightDecay * params, on the masked parameters. */
  weightDecay: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  clipNorm: number;
}

export type OptimizerSettings = AdamWSettings | AdagradSettings;
export type OptimizerKind = OptimizerSettings['kind'];
export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ['adamw', 'adagrad'];

export const DEFAULT_ADAMW: AdamWSettings = { kind: 'adamw', beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1, clipNorm: 1 };
/** PyTorch's epsilon; no decay (WaveletLM's authors use 1e-6, which changes nothing in a short run). */
export const DEFAULT_ADAGRAD: AdagradSettings = { kind: 'adagrad', epsilon: 1e-10, weightDecay: 0, clipNorm: 1 };

export function defaultOptimizer(kind: OptimizerKind, weightDecay?: number): OptimizerSettings {
  const base = kind === 'adagrad' ? DEFAULT_ADAGRAD : DEFAULT_ADAMW;
  return weightDecay === undefined ? base : { ...base, weightDecay };
}

/**
 * The per-parameter state each optimizer keeps, by name (the checkpoint stores them as
 * `${kind}.${slot}`): AdamW's first and second moments, Adagrad's running sum of squared gradients.
 */
export const OPTIMIZER_SLOTS = { adamw: ['m', 'v'], adagrad: ['sum'] } as const satisfies Record<OptimizerKind, readonly string[]>;

export interface OptimizerState {
  kind: OptimizerKind;
  /** Updates taken so far. */
  t: number;
  /** OPTIMIZER_SLOTS[kind], each laid out as the parameters. */
  slots: Record<string, Float32Array>;
}

export function emptyOptimizerState(kind: OptimizerKind, count: number): OptimizerState {
  return { kind, t: 0, slots: Object.fromEntries(OPTIMIZER_SLOTS[kind].map((name) => [name, new Float32Array(count)])) };
}

/** Which parameters decay: matrices (weights of linear layers and embeddings); not gains, biases or wavelet taps, nor frozen ranges. */
export function decayMask(layout: ParameterLayout, frozen: readonly [number, number][] = []): Uint8Array {
  const mask = new Uint8Array(layout.count);
  for (const t of layout.tensors) if (t.shape.length === 2) mask.fill(1, t.offset, t.offset + t.size);
  for (const [start, end] of frozen) mask.fill(0, start, end);
  return mask;
}

/**
 * A state with the frozen ranges' slots at zero. With their gradients held at zero too, both
 * optimizers leave those parameters exactly as they are (AdamW's update is 0 / (0 + epsilon)).
 */
export function withoutFrozenState(state: OptimizerState, frozen: readonly [number, number][]): OptimizerState {
  if (frozen.length === 0) return state;
  const slots = Object.fromEntries(Object.entries(state.slots).map(([name, slot]) => {
    const copy = slot.slice();
    for (const [start, end] of frozen) copy.fill(0, start, end);
    return [name, copy];
  }));
  return { ...state, slots };
}

export function globalNorm(grads: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < grads.length; i++) sum += grads[i] * grads[i];
  return Math.sqrt(sum);
}

/** The factor that brings gradients of global norm `norm` down to `clipNorm` (1 when below it, or no clipping). */
export function clipScale(norm: number, clipNorm: number): number {
  return clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1;
}

/**
 * One AdamW step (t counts from 1) on params in place, with moments m and v. Gradients are
 * scaled first so that their global norm is at most clipNorm. Returns the norm before clipping.
 */
export function adamwStep(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, mask: Uint8Array, t: number, lr: number, s: AdamWSettings): number {
  const norm = globalNorm(grads);
  const scale = clipScale(norm, s.clipNorm);
  const correction1 = 1 - s.beta1 ** t;
  const correction2 = 1 - s.beta2 ** t;
  for (let i = 0; i < params.length; i++) {
    const g = grads[i] * scale;
    m[i] = s.beta1 * m[i] + (1 - s.beta1) * g;
    v[i] = s.beta2 * v[i] + (1 - s.beta2) * g * g;
    const update = m[i] / correction1 / (Math.sqrt(v[i] / correction2) + s.epsilon);
    params[i] -= lr * (update + (mask[i] ? s.weightDecay * params[i] : 0));
  }
  return norm;
}

/** One Adagrad step on params in place with the running sum of squares; clipped as adamwStep. Returns the norm before clipping. */
export function adagradStep(params: Float32Array, grads: Float32Array, sum: Float32Array, mask: Uint8Array, lr: number, s: AdagradSettings): number {
  const norm = globalNorm(grads);
  const scale = clipScale(norm, s.clipNorm);
  for (let i = 0; i < params.length; i++) {
    const g = grads[i] * scale + (mask[i] ? s.weightDecay * params[i] : 0);
    sum[i] += g * g;
    params[i] -= (lr * g) / (Math.sqrt(sum[i]) + s.epsilon);
  }
  return norm;
}

/** One step of whichever optimizer `settings` names, on `state`'s slots (t advanced here). */
export function optimizerStep(params: Float32Array, grads: Float32Array, state: OptimizerState, mask: Uint8Array, lr: number, settings: OptimizerSettings): number {
  state.t++;
  if (settings.kind === 'adagrad') return adagradStep(params, grads, state.slots.sum, mask, lr, settings);
  return adamwStep(params, grads, state.slots.m, state.slots.v, mask, state.t, lr, settings);
}
