// Each layer kind on the WebAssembly SIMD backend: the kernels of assembly/model/layers.ts and
// assembly/wavelet.ts on byte offsets of the module's memory. Forward and backward for training;
// in generation the stateful layers take their decode step (embedding at the position, attention
// over its KV cache with decodeAttention, the wavelet op's ring on views of that memory).

import type { WasmBackend } from '../../runtime/wasm.js';
import type { WasmWaveletOp } from '../../kernels/wavelet/wasm.js';
import { WaveletState } from '../../kernels/wavelet/state.js';
import type { ModelConfig } from '../../model/config.js';
import type { Factor } from '../../model/network.js';
import { LiftingPredictState, RunningMeanState } from '../../kernels/wavelet_lm/ref.js';
import type { LayerBuffers, LayerOperations } from '../program.js';
import type { ParallelKernels } from './parallel.js';

export type WasmOperation = () => void;

export interface WasmLayerContext {
  wasm: WasmBackend;
  /** The heavy kernels, shared out across the backend's threads (this one alone without a pool). */
  parallel: ParallelKernels;
  config: ModelConfig;
  wavelet: WasmWaveletOp | undefined;
  /** Byte offsets of a parameter, of its gradient (training). */
  parameter(name: string): number;
  gradient(name: string): number;
  /** Memory for the layer's own state, given back with the program. */
  alloc(bytes: number): number;
  /** The matmul gradients' scratch, matmulScratchFloats a thread, one for every layer of the program (they run one after another). */
  matmulScratch(): number;
  B: number;
  T: number;
  /** Byte offset of the tokens (B, T) being run, int32. */
  tokens: number;
  generation?: { position(): number; onReset(clear: () => void): void };
}

export function wasmLayer(io: LayerBuffers<number>, ctx: WasmLayerContext): LayerOperations<WasmOperation> {
  const { layer, inputs: [x, x2], output: y, outputWidth, inputGradients: [dx, dx2], outputGradient: dy } = io;
  const freshInput = io.inputGradientsFresh[0] ? 1 : 0; // the kernels taking it write that gradient rather than add into zeros
  const { wasm, config, B, T, generation } = ctx;
  const { kernels: k, arena } = wasm;
  const par = ctx.parallel;
  const N = B * T;
  const C = config.width;
  const p = ctx.parameter;
  const g = ctx.gradient;
  switch (layer.kind) {
    case 'embedding': {
      const positions = layer.positions; // none in WaveletLM: the kernels take offset 0 for no table
      if (generation) {
        const V = config.vocabSize;
        return { forward: [() => {
          const t = generation.position();
          const [wte, tokens, out] = [arena.f32(p(layer.tokens), V * C), arena.i32(ctx.tokens, B), arena.f32(y, B * C)];
          const wpe = positions ? arena.f32(p(positions), config.context * C) : null;
          for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) out[b * C + c] = wte[tokens[b] * C + c] + (wpe ? wpe[t * C + c] : 0);
        }] };
      }
      return {
        forward: [() => k.encoderForward(y, ctx.tokens, p(layer.tokens), positions ? p(positions) : 0, B, T, C)],
        backward: () => [() => k.encoderBackward(g(layer.tokens), positions ? g(positions) : 0, dy!, ctx.tokens, B, T, C)],
      };
    }
    case 'layernorm': {
      const mean = ctx.alloc(4 * N), rstd = ctx.alloc(4 * N);
      return {
        forward: [() => par.layernormForward(y, mean, rstd, x, p(layer.weight), p(layer.bias), N, outputWidth)],
        backward: () => [() => par.layernormBackward(dx, g(layer.weight), g(layer.bias), dy!, x, p(layer.weight), mean, rstd, N, outputWidth)],
      };
    }
    case 'linear': {
      const { inFeatures: K, outFeatures: M, bias } = layer;
      return {
        forward: [() => par.matmulForward(y, x, p(layer.weight), bias ? p(bias) : 0, N, K, M)],
        backward: () => {
          const scratch = ctx.matmulScratch();
          return [() => par.matmulBackward(dx, g(layer.weight), bias ? g(bias) : 0, dy!, x, p(layer.weight), N, K, M, scratch, freshInput)];
        },
        writesFreshInputGradients: true,
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
      const att = ctx.alloc(4 * B * NH * T * T), scratch = ctx.alloc(4 * k.attentionScratchFloats(T, C, NH) * par.threads); // a block a thread
      return {
        forward: [() => par.attentionForward(y, att, x, B, T, C, NH, scratch)],
        backward: () => [() => par.attentionBackward(dx, dy!, x, att, B, T, C, NH, scratch, freshInput)],
        writesFreshInputGradients: true,
      };
    }
    case 'gelu': {
      const n = N * outputWidth;
      return { forward: [() => par.geluForward(y, x, n)], backward: () => [() => par.geluBackward(dx, x, dy!, n, freshInput)], writesFreshInputGradients: true };
    }
    case 'residual':
      return { forward: [() => par.residualForward(y, x, x2, N * C)] };
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
    case 'pad': {
      const { from, to } = layer;
      return { forward: [() => k.padForward(y, x, N, from, to)], backward: () => [() => k.padBackward(dx, dy!, N, from, to)] };
    }
    case 'lifting_predict': {
      const W = outputWidth;
      if (generation) {
        // One position a step: the ring of the last `delay` inputs, on views of the module's memory.
        const state = new LiftingPredictState(B, W, layer.delay);
        generation.onReset(() => state.reset());
        return { forward: [() => state.step(arena.f32(y, B * W), arena.f32(x, B * W), arena.f32(x2, B * W), generation.position())] };
      }
      return {
        forward: [() => k.liftingPredictForward(y, x, x2, B, T, W, layer.delay)],
        backward: () => [() => k.liftingPredictBackward(dx, dx2, dy!, B, T, W, layer.delay)],
      };
    }
    case 'sum': {
      const n = N * outputWidth;
      const { scaleA, scaleB } = layer;
      // A learned factor is read from memory at run time: the optimizer moves it between steps.
      const value = (factor: Factor) => (typeof factor === 'number' ? factor : arena.f32(p(factor.parameter), 1)[0]);
      const learn = (factor: Factor, input: number) => {
        if (typeof factor !== 'number') arena.f32(g(factor.parameter), 1)[0] += k.dotProduct(input, dy!, n);
      };
      return {
        forward: [() => k.scaledSum(y, x, x2, value(scaleA), value(scaleB), n)],
        backward: () => [() => {
          k.addScaled(dx, dy!, value(scaleA), n);
          k.addScaled(dx2, dy!, value(scaleB), n);
          learn(scaleA, x);
          learn(scaleB, x2);
        }],
      };
    }
    case 'scale': {
      const n = N * outputWidth;
      const factor = () => arena.f32(p(layer.factor), 1)[0];
      return {
        forward: [() => k.scaledSum(y, x, x, factor(), 0, n)],
        backward: () => [() => {
          k.addScaled(dx, dy!, factor(), n);
          arena.f32(g(layer.factor), 1)[0] += k.dotProduct(x, dy!, n);
        }],
      };
    }
    case 'channel_scale':
      return {
        forward: [() => k.channelScaleForward(y, x, p(layer.gain), N, outputWidth)],
        backward: () => [() => k.channelScaleBackward(dx, g(layer.gain), dy!, x, p(layer.gain), N, outputWidth)],
      };
    case 'hadamard': {
      const scratch = ctx.alloc(4 * outputWidth);
      return {
        forward: [() => k.hadamard(y, x, N, outputWidth, 0, scratch)],
        backward: () => [() => k.hadamard(dx, dy!, N, outputWidth, 1, scratch)], // symmetric and orthonormal: its own gradient
      };
    }
    case 'silu_gate': {
      const n = N * outputWidth;
      return { forward: [() => k.siluGateForward(y, x, x2, n)], backward: () => [() => k.siluGateBackward(dx, dx2, dy!, x, x2, n)] };
    }
    case 'scale_route': {
      const n = N * outputWidth;
      const S = io.inputs.length;
      const row = () => arena.f32(p(layer.matrix) + 4 * layer.row * S, S);
      return {
        forward: [() => {
          const weights = row().slice();
          k.scaledSum(y, io.inputs[0], io.inputs[0], weights[0], 0, n);
          for (let s = 1; s < S; s++) k.addScaled(y, io.inputs[s], weights[s], n);
        }],
        backward: () => [() => {
          const weights = row().slice();
          for (let s = 0; s < S; s++) {
            k.addScaled(io.inputGradients[s], dy!, weights[s], n);
            arena.f32(g(layer.matrix) + 4 * (layer.row * S + s), 1)[0] += k.dotProduct(io.inputs[s], dy!, n);
          }
        }],
      };
    }
    case 'running_mean': {
      const W = outputWidth;
      if (generation) {
        const state = new RunningMeanState(B, W);
        generation.onReset(() => state.reset());
        return { forward: [() => state.step(arena.f32(y, B * W), arena.f32(x, B * W), generation.position())] };
      }
      const sums = ctx.alloc(8 * W);
      return { forward: [() => k.runningMeanForward(y, x, B, T, W, sums)], backward: () => [() => k.runningMeanBackward(dx, dy!, B, T, W, sums)] };
    }
  }
}

/** A layer kind this backend has no kernel for (the registry refuses such models before they get here). */
function noKernel(what: string): Error {
  return new Error(`wasm backend: no kernel for the '${what}' layer`);
}
