// AdamW (decoupled weight decay, as PyTorch's) with clipping by the global gradient norm, over
// parameter-shaped buffers. The reference update: the engines' fused kernels are checked against it.

import type { ParameterLayout } from '../../model/parameters.js';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  clipNorm: number;
}

export const DEFAULT_ADAMW: AdamWSettings = { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1, clipNorm: 1 };

/** Which parameters decay: matrices (weights of linear layers and embeddings); not gains, biases or wavelet taps. */
export function decayMask(layout: ParameterLayout): Uint8Array {
  const mask = new Uint8Array(layout.count);
  for (const t of layout.tensors) if (t.shape.length === 2) mask.fill(1, t.offset, t.offset + t.size);
  return mask;
}

export function globalNorm(grads: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < grads.length; i++) sum += grads[i] * grads[i];
  return Math.sqrt(sum);
}

/**
 * One AdamW step (t counts from 1) on params in place, with moments m and v. Gradients are
 * scaled first so that their global norm is at most clipNorm. Returns the norm before clipping.
 */
export function adamwStep(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, mask: Uint8Array, t: number, lr: number, s: AdamWSettings): number {
  const norm = globalNorm(grads);
  const scale = s.clipNorm > 0 && norm > s.clipNorm ? s.clipNorm / norm : 1;
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
