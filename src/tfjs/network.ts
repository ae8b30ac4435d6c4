// The same models in TensorFlow.js: the same network description and parameter buffer,
// differentiated by tfjs's autodiff. It checks the gradients of our backends (tests) and is the
// speed baseline to beat.

import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../model/config.js';
import { networkOf } from '../model/networks.js';
import type { Factor, Network } from '../model/network.js';
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
export function tfjsLoss(config: ModelConfig, vars: TfjsParameters, tokens: Int32Array, targets: Int32Array, B: number, T: number, network?: Network): tf.Scalar {
  const logProbs = tf.logSoftmax(tfjsLogits(config, vars, tokens, B, T, network));
  // A target of -1 (ignored) has an all-zero one-hot row: it adds nothing; the mean is over the rest.
  const counted = Math.max(1, targets.reduce((c, t) => c + (t >= 0 ? 1 : 0), 0));
  return tf.div(tf.neg(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(targets, 'int32'), config.vocabSize), logProbs))), counted) as tf.Scalar;
}

/** The orthonormal Walsh-Hadamard matrix of order n (a power of two), Sylvester's construction. */
function hadamardMatrix(n: number): tf.Tensor2D {
  const values = new Float32Array(n * n);
  const popcount = (v: number) => {
    let c = 0;
    for (; v; v &= v - 1) c++;
    return c;
  };
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) values[i * n + j] = (popcount(i & j) % 2 ? -1 : 1) / Math.sqrt(n);
  return tf.tensor2d(values, [n, n]);
}

/** The logits (B * T, V) of the token after each position: the network description (model/networks.ts) run layer by layer. */
export function tfjsLogits(config: ModelConfig, vars: TfjsParameters, tokens: Int32Array, B: number, T: number, network = networkOf(config)): tf.Tensor2D {
  const { width: C } = config;
  const p = (name: string) => vars.get(name)!;
  const N = B * T;
  const plan = waveletPlanOf(config);
  const factor = (f: Factor) => (typeof f === 'number' ? tf.scalar(f) : p(f.parameter));
  const width = (name: string) => network.widths.get(name)!;
  const alongTime = (x: tf.Tensor) => tf.reshape(x, [B, T, x.shape[1]!]) as tf.Tensor3D;
  const values = new Map<string, tf.Tensor>(); // activations, (N, width)
  const at = (name: string) => values.get(name)!;
  for (const layer of network.layers) {
    let y: tf.Tensor;
    switch (layer.kind) {
      case 'embedding': {
        // The embedding as one-hot @ wte rather than a gather: gather's gradient needs
        // UnsortedSegmentSum, which tfjs-backend-wasm does not have.
        const oneHot = tf.oneHot(tf.tensor1d(tokens, 'int32'), config.vocabSize).toFloat() as tf.Tensor2D;
        const rows = tf.matMul(oneHot, p(layer.tokens) as tf.Tensor2D);
        y = layer.positions ? tf.reshape(tf.add(tf.reshape(rows, [B, T, C]), tf.slice(p(layer.positions), [0, 0], [T, C])), [N, C]) : rows;
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
      case 'pad':
        y = tf.pad(at(layer.in), [[0, 0], [0, layer.to - layer.from]]);
        break;
      case 'lifting_predict': {
        const W = width(layer.out);
        const past = layer.delay >= T ? tf.zeros([B, T, W]) : tf.slice(tf.pad(alongTime(at(layer.in)), [[0, 0], [layer.delay, 0], [0, 0]]), [0, 0, 0], [B, T, W]);
        y = tf.mul(tf.sub(tf.reshape(past, [N, W]), at(layer.predicted)), Math.SQRT1_2);
        break;
      }
      case 'sum':
        y = tf.add(tf.mul(factor(layer.scaleA), at(layer.a)), tf.mul(factor(layer.scaleB), at(layer.b)));
        break;
      case 'scale':
        y = tf.mul(p(layer.factor), at(layer.in));
        break;
      case 'channel_scale':
        y = tf.mul(at(layer.in), p(layer.gain));
        break;
      case 'hadamard':
        y = tf.matMul(at(layer.in) as tf.Tensor2D, hadamardMatrix(width(layer.out)));
        break;
      case 'silu_gate': {
        const gate = at(layer.gate);
        y = tf.mul(at(layer.in), tf.mul(gate, tf.sigmoid(gate)));
        break;
      }
      case 'scale_route': {
        const S = layer.ins.length;
        const row = tf.reshape(tf.slice(p(layer.matrix), [layer.row, 0], [1, S]), [S]);
        y = layer.ins.map((name, s) => tf.mul(tf.slice(row, [s], [1]), at(name))).reduce((a, b) => tf.add(a, b));
        break;
      }
      case 'running_mean': {
        const W = width(layer.out);
        const counts = tf.reshape(tf.range(1, T + 1), [1, T, 1]);
        // The running sum along the last axis: tfjs's Cumsum gradient is wrong along another.
        const sums = tf.transpose(tf.cumsum(tf.transpose(alongTime(at(layer.in)), [0, 2, 1]), 2), [0, 2, 1]);
        y = tf.reshape(tf.div(sums, counts), [N, W]);
        break;
      }
    }
    values.set(layer.out, y);
  }
  return at(network.logits) as tf.Tensor2D;
}
