// CachedDecoder on the wasm SIMD kernels: the weights, the KV cache and every buffer of a step in
// one module's memory, allocated once; each layer's projections are assembly/model/layers.ts
// matmuls and its attention decodeAttention over the cache. The wavelet state is the one of
// decoder.ts, on views of that memory (O(C) a token). Same interface and results as CachedDecoder.

import { createWasmBackend, type WasmBackend, type WasmSource } from '../runtime/wasm.js';
import type { GPTConfig } from '../model/config.js';
import { slice, type ParameterLayout } from '../model/parameters.js';
import { embedTokens, waveletStates, type WaveletState } from '../kernels/wavelet/state.js';

export class WasmDecoder {
  position = 0;
  private readonly offsets = new Map<string, number>();
  private readonly keys: number[];
  private readonly values: number[];
  private readonly wavelets: WaveletState[];
  private readonly buffers: Record<'x' | 'ln' | 'mean' | 'rstd' | 'qkv' | 'att' | 'proj' | 'res2' | 'res3' | 'fc' | 'fcGelu' | 'dense' | 'denseGelu' | 'logits' | 'scores', number>;

  private constructor(private readonly wasm: WasmBackend, readonly config: GPTConfig, layout: ParameterLayout, params: Float32Array, readonly batch: number) {
    const { arena } = wasm;
    const base = arena.put(params);
    for (const t of layout.tensors) this.offsets.set(t.name, base + 4 * t.offset);
    const { context: T, width: C, feedForward: F, headDense: D, vocabSize: V, layers } = config;
    const B = batch;
    const f = (floats: number) => arena.alloc(4 * Math.max(1, floats));
    this.keys = Array.from({ length: layers }, () => f(B * T * C));
    this.values = Array.from({ length: layers }, () => f(B * T * C));
    this.buffers = {
      x: f(B * C), ln: f(B * C), mean: f(B), rstd: f(B), qkv: f(B * 3 * C), att: f(B * C), proj: f(B * C), res2: f(B * C), res3: f(B * C),
      fc: f(B * F), fcGelu: f(B * F), dense: f(B * D), denseGelu: f(B * D), logits: f(B * V), scores: f(T),
    };
    // The learnable taps from a copy of the weights given: views of wasm memory are taken again each step.
    this.wavelets = waveletStates(config, B, (name) => slice(params, layout, name).slice());
  }

  static async create(config: GPTConfig, layout: ParameterLayout, params: Float32Array, batch = 1, source?: WasmSource): Promise<WasmDecoder> {
    return new WasmDecoder(await createWasmBackend(source), config, layout, params, batch);
  }

  private p(name: string): number {
    return this.offsets.get(name)!;
  }

  private view(name: string, length: number): Float32Array {
    return this.wasm.arena.f32(this.p(name), length);
  }

  reset(): void {
    this.position = 0;
    for (const w of this.wavelets) w.reset();
  }

  step(tokens: ArrayLike<number>): Float32Array {
    const { width: C, heads: NH, feedForward: F, headDense: D, vocabSize: V, context: T } = this.config;
    const B = this.batch;
    const t = this.position;
    const { arena, kernels: k } = this.wasm;
    const b = this.buffers;
    embedTokens(this.config, tokens, t, this.view('wte', V * C), this.view('wpe', T * C), arena.f32(b.x, B * C));
    let input = b.x;
    for (let l = 0; l < this.config.layers; l++) {
      k.layernormForward(b.ln, b.mean, b.rstd, input, this.p(`h${l}.ln1.w`), this.p(`h${l}.ln1.b`), B, C);
      k.matmulForward(b.qkv, b.ln, this.p(`h${l}.qkv.w`), 0, B, C, 3 * C);
      const qkv = arena.f32(b.qkv, B * 3 * C);
      const keys = arena.f32(this.keys[l], B * T * C), values = arena.f32(this.values[l], B * T * C);
      for (let s = 0; s < B; s++) {
        keys.set(qkv.subarray(s * 3 * C + C, s * 3 * C + 2 * C), (s * T + t) * C);
        values.set(qkv.subarray(s * 3 * C + 2 * C, s * 3 * C + 3 * C), (s * T + t) * C);
      }
      k.decodeAttention(b.att, b.qkv, this.keys[l], this.values[l], B, T, t, C, NH, b.scores);
      k.matmulForward(b.proj, b.att, this.p(`h${l}.proj.w`), 0, B, C, C);
      k.residualForward(b.res2, input, b.proj, B * C);
      k.layernormForward(b.ln, b.mean, b.rstd, b.res2, this.p(`h${l}.ln2.w`), this.p(`h${l}.ln2.b`), B, C);
      k.matmulForward(b.fc, b.ln, this.p(`h${l}.fc.w`), this.p(`h${l}.fc.b`), B, C, F);
      k.geluForward(b.fcGelu, b.fc, B * F);
      k.matmulForward(b.proj, b.fcGelu, this.p(`h${l}.fcproj.w`), this.p(`h${l}.fcproj.b`), B, F, C);
      k.residualForward(b.res3, b.res2, b.proj, B * C);
      if (l < this.wavelets.length) {
        this.wavelets[l].step(arena.f32(b.res3, B * C), arena.f32(b.x, B * C), t);
        input = b.x;
      } else {
        input = b.res3;
      }
    }
    k.layernormForward(b.ln, b.mean, b.rstd, input, this.p('lnf.w'), this.p('lnf.b'), B, C);
    let head = b.ln;
    if (D > 0) {
      k.matmulForward(b.dense, b.ln, this.p('dense.w'), this.p('dense.b'), B, C, D);
      k.geluForward(b.denseGelu, b.dense, B * D);
      head = b.denseGelu;
    }
    k.matmulForward(b.logits, head, this.p('out.w'), 0, B, D > 0 ? D : C, V);
    this.position++;
    return arena.f32(b.logits, B * V).slice();
  }
}
