// Each layer kind on the plain TypeScript backend: the reference kernels (kernels/*/ref.ts) on
// Float32Arrays. Forward and backward for training; in generation the stateful layers take
// their decode step (embedding at the position, attention over its KV cache, the wavelet op
// from its ring) and the others their forward pass on B rows.

import * as L from '../../kernels/gpt/ref.js';
import * as W from '../../kernels/wavelet_lm/ref.js';
import { WaveletState } from '../../kernels/wavelet/state.js';
import { waveletBackwardRef, waveletForwardRef } from '../../kernels/wavelet/ref.js';
import type { WaveletPlan } from '../../model/wavelet_plan.js';
import type { ModelConfig } from '../../model/config.js';
import type { Factor } from '../../model/network.js';
import type { LayerBuffers, LayerOperations } from '../program.js';

export type JsOperation = () => void;

export interface JsLayerContext {
  config: ModelConfig;
  plan: WaveletPlan | null;
  /** A parameter's values, its gradient's (training). */
  parameter(name: string): Float32Array;
  gradient(name: string): Float32Array;
  /** Sequences and positions of each (training); in generation T is 1. */
  B: number;
  T: number;
  /** The tokens (B, T) being run. */
  tokens: Int32Array;
  /** Generation: the position being decoded, and a hook for state to clear on reset. */
  generation?: { position(): number; onReset(clear: () => void): void };
}

export function jsLayer(io: LayerBuffers<Float32Array>, ctx: JsLayerContext): LayerOperations<JsOperation> {
  const { layer, inputs: [x, x2], output: y, inputGradients: [dx, dx2], outputGradient: dy } = io;
  const { config, B, T, generation } = ctx;
  const N = B * T;
  const p = ctx.parameter;
  const g = ctx.gradient;
  const C = config.width;
  switch (layer.kind) {
    case 'embedding': {
      const wte = p(layer.tokens);
      const positions = layer.positions; // none in WaveletLM
      const wpe = positions ? p(positions) : null;
      if (generation) {
        return { forward: [() => {
          const t = generation.position();
          for (let b = 0; b < B; b++) y.set(wte.subarray(ctx.tokens[b] * C, ctx.tokens[b] * C + C), b * C);
          if (wpe) for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) y[b * C + c] += wpe[t * C + c];
        }] };
      }
      return {
        forward: [() => L.encoderForward(y, ctx.tokens, wte, wpe, B, T, C)],
        backward: () => [() => L.encoderBackward(g(layer.tokens), positions ? g(positions) : null, dy!, ctx.tokens, B, T, C)],
      };
    }
    case 'layernorm': {
      const mean = new Float32Array(N), rstd = new Float32Array(N);
      const width = x.length / N;
      return {
        forward: [() => L.layernormForward(y, mean, rstd, x, p(layer.weight), p(layer.bias), N, width)],
        backward: () => [() => L.layernormBackward(dx, g(layer.weight), g(layer.bias), dy!, x, p(layer.weight), mean, rstd, N, width)],
      };
    }
    case 'linear': {
      const { inFeatures: K, outFeatures: M } = layer;
      const bias = layer.bias;
      return {
        forward: [() => L.matmulForward(y, x, p(layer.weight), bias ? p(bias) : null, N, K, M)],
        backward: () => [() => L.matmulBackward(dx, g(layer.weight), bias ? g(bias) : null, dy!, x, p(layer.weight), N, K, M)],
      };
    }
    case 'attention': {
      const NH = layer.heads;
      if (generation) {
        const context = config.context;
        const keys = new Float32Array(B * context * C), values = new Float32Array(B * context * C);
        return { forward: [() => L.decodeAttention(y, x, keys, values, B, context, generation.position(), C, NH)] };
      }
      const att = new Float32Array(B * NH * T * T);
      return {
        forward: [() => L.attentionForward(y, att, x, B, T, C, NH)],
        backward: () => [() => L.attentionBackward(dx, dy!, x, att, B, T, C, NH)],
      };
    }
    case 'gelu':
      return { forward: [() => L.geluForward(y, x)], backward: () => [() => L.geluBackward(dx, x, dy!)] };
    case 'residual':
      return { forward: [() => L.residualForward(y, x, x2)] };
    case 'pad': {
      const { from, to } = layer;
      return { forward: [() => W.padForward(y, x, N, from, to)], backward: () => [() => W.padBackward(dx, dy!, N, from, to)] };
    }
    case 'lifting_predict': {
      const width = y.length / N;
      if (generation) {
        const state = new W.LiftingPredictState(B, width, layer.delay);
        generation.onReset(() => state.reset());
        return { forward: [() => state.step(y, x, x2, generation.position())] };
      }
      return {
        forward: [() => W.liftingPredictForward(y, x, x2, B, T, width, layer.delay)],
        backward: () => [() => W.liftingPredictBackward(dx, dx2, dy!, B, T, width, layer.delay)],
      };
    }
    case 'sum': {
      const value = (factor: Factor) => (typeof factor === 'number' ? factor : p(factor.parameter)[0]);
      const learn = (factor: Factor, input: Float32Array) => {
        if (typeof factor !== 'number') g(factor.parameter)[0] += W.dot(input, dy!);
      };
      return {
        forward: [() => W.sumForward(y, x, x2, value(layer.scaleA), value(layer.scaleB))],
        backward: () => [() => {
          W.addScaled(dx, dy!, value(layer.scaleA));
          W.addScaled(dx2, dy!, value(layer.scaleB));
          learn(layer.scaleA, x);
          learn(layer.scaleB, x2);
        }],
      };
    }
    case 'scale':
      return {
        forward: [() => W.sumForward(y, x, x, p(layer.factor)[0], 0)],
        backward: () => [() => {
          W.addScaled(dx, dy!, p(layer.factor)[0]);
          g(layer.factor)[0] += W.dot(x, dy!);
        }],
      };
    case 'channel_scale': {
      const width = y.length / N;
      return {
        forward: [() => W.channelScaleForward(y, x, p(layer.gain), N, width)],
        backward: () => [() => W.channelScaleBackward(dx, g(layer.gain), dy!, x, p(layer.gain), N, width)],
      };
    }
    case 'hadamard': {
      const width = y.length / N;
      return { forward: [() => W.hadamardForward(y, x, N, width)], backward: () => [() => W.hadamardBackward(dx, dy!, N, width)] };
    }
    case 'silu_gate':
      return { forward: [() => W.siluGateForward(y, x, x2)], backward: () => [() => W.siluGateBackward(dx, dx2, dy!, x, x2)] };
    case 'scale_route':
      return {
        forward: [() => W.scaleRouteForward(y, io.inputs, p(layer.matrix), layer.row)],
        backward: () => [() => W.scaleRouteBackward(io.inputGradients, g(layer.matrix), dy!, io.inputs, p(layer.matrix), layer.row)],
      };
    case 'running_mean': {
      const width = y.length / N;
      if (generation) {
        const state = new W.RunningMeanState(B, width);
        generation.onReset(() => state.reset());
        return { forward: [() => state.step(y, x, generation.position())] };
      }
      return { forward: [() => W.runningMeanForward(y, x, B, T, width)], backward: () => [() => W.runningMeanBackward(dx, dy!, B, T, width)] };
    }
    case 'wavelet': {
      const plan = ctx.plan!;
      const taps = () => (layer.taps ? p(layer.taps) : undefined);
      if (generation) {
        const state = new WaveletState(plan, taps(), B);
        generation.onReset(() => state.reset());
        return { forward: [() => state.step(x, y, generation.position())] };
      }
      const shape = { batch: B, time: T, channels: C };
      return {
        forward: [() => y.set(waveletForwardRef(plan, shape, x, taps()))],
        backward: () => [() => {
          const { dx: through, dTaps } = waveletBackwardRef(plan, shape, x, dy!, taps());
          dx.set(through);
          if (layer.taps) {
            const into = g(layer.taps);
            for (let i = 0; i < into.length; i++) into[i] += dTaps[i];
          }
        }],
      };
    }
  }
}
