// The same GPT in TensorFlow.js: the same network description and parameter buffer, differentiated
// by tfjs's autodiff. It checks the gradients of our engines (tests) and is the speed baseline to beat.

import * as tf from '@tensorflow/tfjs-core';
import type { GPTConfig } from '../model/config.js';
import { gptNetwork } from '../model/gpt.js';
import { slice, waveletPlanOf, type ParameterLayout } from '../model/parameters.js';
import { LAYERNORM_EPSILON } from '../kernels/gpt/ref.js';
import { waveletFilter } from './wavelet_op.js';

export type TfjsParameters = Map<string, tf.Variable>;

/** One trainable variable a parameter tensor, named as in the layout. */
export function tfjsParameters(layout: ParameterLayout, params: Float32Array, prefix = ''): TfjsParameters {
  return new Map(layout.tensors.map((t) => [t.name, tf.variable(tf.tensor(slice(params, layout, t.name), t.shape), true, `${prefix}${t.name}`)]));
}

function layernorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LAYERNORM_EPSILON))), w), b);
}

/** x (N, C) @ w^T, w (OC, C), plus bias. */
function linear(x: tf.Tensor, w: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const y = tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D, false, true);
  return bias ? tf.add(y, bias) : y;
}

function gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

function attention(qkv: tf.Tensor, B: number, T: number, C: number, NH: number): tf.Tensor {
  const hs = C / NH;
  // (B, T, 3, NH, hs) -> (3, B, NH, T, hs) -> three (B * NH, T, hs)
  const [q, k, v] = tf.unstack(tf.transpose(tf.reshape(qkv, [B, T, 3, NH, hs]), [2, 0, 3, 1, 4])).map((m) => tf.reshape(m, [B * NH, T, hs]) as tf.Tensor3D);
  const mask = tf.tensor2d(Array.from({ length: T * T }, (_, i) => (i % T <= Math.floor(i / T) ? 0 : -1e9)), [T, T]);
  const att = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)), mask));
  const y = tf.matMul(att as tf.Tensor3D, v); // (B * NH, T, hs)
  return tf.reshape(tf.transpose(tf.reshape(y, [B, NH, T, hs]), [0, 2, 1, 3]), [B * T, C]);
}

/** The mean cross-entropy of predicting targets (B, T) from tokens (B, T). */
export function tfjsGptLoss(config: GPTConfig, vars: TfjsParameters, tokens: Int32Array, targets: Int32Array, B: number, T: number): tf.Scalar {
  const logProbs = tf.logSoftmax(tfjsGptLogits(config, vars, tokens, B, T));
  // A target of -1 (ignored) has an all-zero one-hot row: it adds nothing; the mean is over the rest.
  const counted = Math.max(1, targets.reduce((c, t) => c + (t >= 0 ? 1 : 0), 0));
  return tf.div(tf.neg(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(targets, 'int32'), config.vocabSize), logProbs))), counted) as tf.Scalar;
}

/** The logits (B * T, V) of the token after each position: the network description (model/gpt.ts) run layer by layer. */
export function tfjsGptLogits(config: GPTConfig, vars: TfjsParameters, tokens: Int32Array, B: number, T: number): tf.Tensor2D {
  const { width: C } = config;
  const p = (name: string) => vars.get(name)!;
  const N = B * T;
  const plan = waveletPlanOf(config);
  const network = gptNetwork(config);
  const values = new Map<string, tf.Tensor>(); // activations, (N, width)
  const at = (name: string) => values.get(name)!;
  for (const layer of network.layers) {
    let y: tf.Tensor;
    switch (layer.kind) {
      case 'embedding': {
        const positions = tf.slice(p(layer.positions), [0, 0], [T, C]);
        // The embedding as one-hot @ wte rather than a gather: gather's gradient needs
        // UnsortedSegmentSum, which tfjs-backend-wasm does not have.
        const oneHot = tf.oneHot(tf.tensor1d(tokens, 'int32'), config.vocabSize).toFloat() as tf.Tensor2D;
        y = tf.reshape(tf.add(tf.reshape(tf.matMul(oneHot, p(layer.tokens) as tf.Tensor2D), [B, T, C]), positions), [N, C]);
        break;
      }
      case 'layernorm':
        y = layernorm(at(layer.in), p(layer.weight), p(layer.bias));
        break;
      case 'linear':
        y = linear(at(layer.in), p(layer.weight), layer.bias ? p(layer.bias) : undefined);
        break;
      case 'attention':
        y = attention(at(layer.in), B, T, C, layer.heads);
        break;
      case 'gelu':
        y = gelu(at(layer.in));
        break;
      case 'residual':
        y = tf.add(at(layer.stream), at(layer.branch));
        break;
      case 'wavelet':
        y = tf.reshape(waveletFilter(tf.reshape(at(layer.in), [B, T, C]) as tf.Tensor3D, plan!, layer.taps ? p(layer.taps) : undefined), [N, C]);
        break;
    }
    values.set(layer.out, y);
  }
  return at(network.logits) as tf.Tensor2D;
}
