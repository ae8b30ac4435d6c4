// Each layer kind on the WebAssembly SIMD backend: the kernels of assembly/model/layers.ts and
// assembly/wavelet.ts on byte offsets of the module's memory. Forward and backward for training;
// in generation the stateful layers take their decode step (embedding at the position, attention
// over its KV cache with decodeAttention, the wavelet op's ring on views of that memory).

import type { WasmBackend } from '../../runtime/wasm.js';
import type { WasmWaveletOp } from '../../kernels/wavelet/wasm.js';
import { WaveletState } from '../../kernels/wavelet/state.js';
import type { GPTConfig } from '../../model/config.js';
import type { LayerBuffers, LayerOperations } from '../program.js';

export type WasmOperation = () => void;

export interface WasmLayerContext {
  wasm: WasmBackend;
  config: GPTConfig;
  wavelet: WasmWaveletOp | undefined;
  /** Byte offsets of a parameter, of its gradient (training). */
  parameter(name: string): number;
  gradient(name: string): number;
  /** Memory for the layer's own state, given back with the program. */
  alloc(bytes: number): number;
  B: number;
  T: number;
  /** Byte offset of the tokens (B, T) being run, int32. */
  tokens: number;
  generation?: { position(): number; onReset(clear: () => void): void };
}

export function wasmLayer(io: LayerBuffers<number>, ctx: WasmLayerContext): LayerOperations<WasmOperation> {
  const { layer, inputs: [x, x2], output: y, outputWidth, inputGradients: [dx], outputGradient: dy } = io;
  const { wasm, config, B, T, generation } = ctx;
  const { kernels: k, arena } = wasm;
  const N = B * T;
  const C = config.width;
  const p = ctx.parameter;
  const g = ctx.gradient;
  switch (layer.kind) {
    case 'embedding': {
      const positions = layer.positions;
      if (!positions) throw noKernel(layer.kind + ' without positions');
      if (generation) {
        const V = config.vocabSize;
        return { forward: [() => {
          const t = generation.position();
          const [wte, wpe, tokens, out] = [arena.f32(p(layer.tokens), V * C), arena.f32(p(positions), config.context * C), arena.i32(ctx.tokens, B), arena.f32(y, B * C)];
          for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) out[b * C + c] = wte[tokens[b] * C + c] + wpe[t * C + c];
        }] };
      }
      return {
        forward: [() => k.encoderForward(y, ctx.tokens, p(layer.tokens), p(positions), B, T, C)],
        backward: () => [() => k.encoderBackward(g(layer.tokens), g(positions), dy!, ctx.tokens, B, T, C)],
      };
    }
    case 'layernorm': {
      const mean = ctx.alloc(4 * N), rstd = ctx.alloc(4 * N);
      return {
        forward: [() => k.layernormForward(y, mean, rstd, x, p(layer.weight), p(layer.bias), N, outputWidth)],
        backward: () => [() => k.layernormBackward(dx, g(layer.weight), g(layer.bias), dy!, x, p(layer.weight), mean, rstd, N, outputWidth)],
      };
    }
    case 'linear': {
      const { inFeatures: K, outFeatures: M, bias } = layer;
      return {
        forward: [() => k.matmulForward(y, x, p(layer.weight), bias ? p(bias) : 0, N, K, M)],
        backward: () => [() => k.matmulBackward(dx, g(layer.weight), bias ? g(bias) : 0, dy!, x, p(layer.weight), N, K, M)],
      };
    }
    case 'attention': {
      const NH = layer.heads;
      if (generation) {
        const context = config.context;
        const keys = ctx.alloc(4 * B * context * C), values = ctx.alloc(4 * B * context * C), scores = ctx.alloc(4 * context);
        return { forward: [() => {
          const t = generation.position();
          const [qkv, keyCache, valueCache] = [arena.f32(x, B * 3 * C), arena.f32(keys, B * context * C), arena.f32(values, B * context * C)];
          for (let s = 0; s < B; s++) {
            keyCache.set(qkv.subarray(s * 3 * C + C, s * 3 * C + 2 * C), (s * context + t) * C);
            valueCache.set(qkv.subarray(s * 3 * C + 2 * C, s * 3 * C + 3 * C), (s * context + t) * C);
          }
          k.decodeAttention(y, x, keys, values, B, context, t, C, NH, scores);
        }] };
      }
      const att = ctx.alloc(4 * B * NH * T * T), scratch = ctx.alloc(4 * T);
      return {
        forward: [() => k.attentionForward(y, att, x, B, T, C, NH)],
        backward: () => [() => k.attentionBackward(dx, dy!, x, att, B, T, C, NH, scratch)],
      };
    }
    case 'gelu': {
      const n = N * outputWidth;
      return { forward: [() => k.geluForward(y, x, n)], backward: () => [() => k.geluBackward(dx, x, dy!, n)] };
    }
    case 'residual':
      return { forward: [() => k.residualForward(y, x, x2, N * C)] };
    case 'wavelet': {
      const op = ctx.wavelet!;
      const taps = layer.taps;
      if (generation) {
        const state = new WaveletState(op.plan, undefined, B);
        generation.onReset(() => state.reset());
        return { forward: [() => {
          state.useTaps(taps ? arena.f32(p(taps), op.plan.tapCount) : undefined); // views of memory that may have grown
          state.step(arena.f32(x, B * C), arena.f32(y, B * C), generation.position());
        }] };
      }
      const shape = { batch: B, time: T, channels: C };
      const dTaps = taps ? ctx.alloc(4 * op.plan.tapCount) : 0;
      return {
        forward: [() => op.forwardAt(shape, x, y, taps ? p(taps) : 0)],
        backward: () => [() => {
          op.filterAt(true, shape, dy!, dx, taps ? p(taps) : 0);
          if (taps) {
            op.tapGradientAt(shape, x, dy!, dTaps);
            k.addScaled(g(taps), dTaps, 1, op.plan.tapCount);
          }
        }],
      };
    }
    default:
      throw noKernel(layer.kind);
  }
}

/** A layer kind this backend has no kernel for (the registry refuses such models before they get here). */
function noKernel(what: string): Error {
  return new Error(`wasm backend: no kernel for the '${what}' layer`);
}
