// Generation one token at a time with state kept between tokens, so a token costs O(context)
// attention and O(1) wavelet work rather than a forward pass over the whole prefix:
//   - attention: each layer's keys and values of the tokens so far (a KV cache);
//   - the wavelet structure after each block: per channel, a ring of its last f inputs; the Haar
//     form keeps their running sum (O(1) a token), the learnable form takes the dot product with
//     its taps (O(f)), EMA keeps its one running value (O(1)).
// Batched: B sequences advance together, each its own row of every state.
// Built from the reference layers (plain TypeScript): the oracle for the faster decoders, and the
// decoder where no other is available.

import { waveletGaps, type GPTConfig } from '../../model/config.js';
import { slice, tapsName, waveletPlanOf, type ParameterLayout } from '../../model/parameters.js';
import * as L from '../gpt/ref.js';
import type { WaveletPlan } from './plan.js';

/** The state of the wavelet structure after one block, for B sequences. */
export class WaveletState {
  private readonly depth: number; // ring length: the longest window
  private readonly ring: Float64Array; // (B, depth, C)
  private readonly sums: Float64Array; // (B, C): Haar's running sum, EMA's running value
  constructor(private readonly plan: WaveletPlan, private readonly taps: Float32Array | undefined, private readonly B: number) {
    this.depth = Math.max(1, ...plan.windows);
    this.ring = new Float64Array(B * this.depth * plan.channels);
    this.sums = new Float64Array(B * plan.channels);
  }

  reset(): void {
    this.ring.fill(0);
    this.sums.fill(0);
  }

  /** y = the filter's output at position t given x at t, for each sequence; x, y (B, C). */
  step(x: Float32Array, y: Float32Array, t: number): void {
    const { windows, alphas, tapOffsets, form, channels: C } = this.plan;
    const D = this.depth;
    for (let b = 0; b < this.B; b++) {
      for (let c = 0; c < C; c++) {
        const value = x[b * C + c];
        const f = windows[c];
        const s = b * C + c;
        if (f === 0) {
          y[s] = value;
          continue;
        }
        if (form === 'ema') {
          y[s] = this.sums[s] = alphas[c] * value + (1 - alphas[c]) * this.sums[s];
          continue;
        }
        const ring = (k: number) => (b * D + ((t - k) % D + D) % D) * C + c; // x[t - k]
        if (form === 'haar') {
          // The mean of the last f inputs (fewer at the start, still over f, as the op defines).
          // x[t - f] is read before x[t] is stored: with f = D they share a slot.
          this.sums[s] += value - (t >= f ? this.ring[ring(f)] : 0);
          this.ring[ring(0)] = value;
          y[s] = this.sums[s] / f;
        } else {
          this.ring[ring(0)] = value;
          let sum = 0;
          const h0 = tapOffsets[c];
          for (let k = 0; k < f && k <= t; k++) sum += this.taps![h0 + k] * this.ring[ring(k)];
          y[s] = sum;
        }
      }
    }
  }
}

/**
 * x (B, C) = the token embeddings of `tokens` (one a sequence) plus position t's; checks that the
 * context has room and the tokens are in the vocabulary.
 */
export function embedTokens(config: GPTConfig, tokens: ArrayLike<number>, t: number, wte: Float32Array, wpe: Float32Array, x: Float32Array): void {
  const { width: C, vocabSize: V, context: T } = config;
  const B = x.length / C;
  if (tokens.length !== B) throw new Error(`decoder: ${tokens.length} tokens for a batch of ${B}`);
  if (t >= T) throw new Error(`decoder: the context of ${T} tokens is full; reset and feed the last tokens again`);
  for (let b = 0; b < B; b++) {
    const token = tokens[b];
    if (!Number.isInteger(token) || token < 0 || token >= V) throw new Error(`decoder: token ${token} outside the vocabulary of ${V}`);
    for (let c = 0; c < C; c++) x[b * C + c] = wte[token * C + c] + wpe[t * C + c];
  }
}

/** The wavelet state after each block but the last, for B sequences; `tensor` gives a parameter by name (the learnable taps). */
export function waveletStates(config: GPTConfig, batch: number, tensor: (name: string) => Float32Array): WaveletState[] {
  const plan = waveletPlanOf(config);
  if (!plan) return [];
  return Array.from({ length: waveletGaps(config) }, (_, l) => new WaveletState(plan, plan.form === 'learnable' ? tensor(tapsName(config, l)) : undefined, batch));
}

export class CachedDecoder {
  /** Tokens each sequence holds so far (all advance together). */
  position = 0;
  private readonly keys: Float32Array[]; // per layer (B, context, C)
  private readonly values: Float32Array[];
  private readonly wavelets: WaveletState[];
  private readonly p: (name: string) => Float32Array;

  constructor(readonly config: GPTConfig, layout: ParameterLayout, params: Float32Array, readonly batch = 1) {
    const { context: T, width: C, layers } = config;
    this.p = (name) => slice(params, layout, name);
    this.keys = Array.from({ length: layers }, () => new Float32Array(batch * T * C));
    this.values = Array.from({ length: layers }, () => new Float32Array(batch * T * C));
    this.wavelets = waveletStates(config, batch, this.p);
  }

  reset(): void {
    this.position = 0;
    for (const w of this.wavelets) w.reset();
  }

  /** Feeds one token to each sequence; returns the logits (B, V) of the token after it. */
  step(tokens: ArrayLike<number>): Float32Array {
    const { width: C, heads: NH, feedForward: F, headDense: D, vocabSize: V, context: T } = this.config;
    const B = this.batch;
    const t = this.position;
    const p = this.p;
    let x = new Float32Array(B * C);
    embedTokens(this.config, tokens, t, p('wte'), p('wpe'), x);
    const mean = new Float32Array(B), rstd = new Float32Array(B);
    const ln = new Float32Array(B * C), qkv = new Float32Array(B * 3 * C), att = new Float32Array(B * C), proj = new Float32Array(B * C);
    const fc = new Float32Array(B * F), fcGelu = new Float32Array(B * F);
    const hs = C / NH;
    const scale = 1 / Math.sqrt(hs);
    const scores = new Float64Array(t + 1);
    for (let l = 0; l < this.config.layers; l++) {
      L.layernormForward(ln, mean, rstd, x, p(`h${l}.ln1.w`), p(`h${l}.ln1.b`), B, C);
      L.matmulForward(qkv, ln, p(`h${l}.qkv.w`), null, B, C, 3 * C);
      const keys = this.keys[l], values = this.values[l];
      for (let b = 0; b < B; b++) {
        keys.set(qkv.subarray(b * 3 * C + C, b * 3 * C + 2 * C), (b * T + t) * C);
        values.set(qkv.subarray(b * 3 * C + 2 * C, b * 3 * C + 3 * C), (b * T + t) * C);
        for (let h = 0; h < NH; h++) {
          const q = b * 3 * C + h * hs;
          let max = -Infinity;
          for (let u = 0; u <= t; u++) {
            const k = (b * T + u) * C + h * hs;
            let dot = 0;
            for (let i = 0; i < hs; i++) dot += qkv[q + i] * keys[k + i];
            scores[u] = dot * scale;
            if (scores[u] > max) max = scores[u];
          }
          let sum = 0;
          for (let u = 0; u <= t; u++) sum += scores[u] = Math.exp(scores[u] - max);
          for (let i = 0; i < hs; i++) {
            let acc = 0;
            for (let u = 0; u <= t; u++) acc += scores[u] * values[(b * T + u) * C + h * hs + i];
            att[b * C + h * hs + i] = acc / sum;
          }
        }
      }
      L.matmulForward(proj, att, p(`h${l}.proj.w`), null, B, C, C);
      const res2 = new Float32Array(B * C);
      L.residualForward(res2, x, proj);
      L.layernormForward(ln, mean, rstd, res2, p(`h${l}.ln2.w`), p(`h${l}.ln2.b`), B, C);
      L.matmulForward(fc, ln, p(`h${l}.fc.w`), p(`h${l}.fc.b`), B, C, F);
      L.geluForward(fcGelu, fc);
      L.matmulForward(proj, fcGelu, p(`h${l}.fcproj.w`), p(`h${l}.fcproj.b`), B, F, C);
      const res3 = new Float32Array(B * C);
      L.residualForward(res3, res2, proj);
      if (l < this.wavelets.length) {
        x = new Float32Array(B * C);
        this.wavelets[l].step(res3, x, t);
      } else {
        x = res3;
      }
    }
    L.layernormForward(ln, mean, rstd, x, p('lnf.w'), p('lnf.b'), B, C);
    let head = ln;
    if (D > 0) {
      const dense = new Float32Array(B * D);
      L.matmulForward(dense, ln, p('dense.w'), p('dense.b'), B, C, D);
      head = new Float32Array(B * D);
      L.geluForward(head, dense);
    }
    const logits = new Float32Array(B * V);
    L.matmulForward(logits, head, p('out.w'), null, B, D > 0 ? D : C, V);
    this.position++;
    return logits;
  }
}
