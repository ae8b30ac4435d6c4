// Each layer kind on WebGPU: launches of the WGSL kernels (kernels/gpt/*.wgsl, the wavelet op's
// shaders), bind groups made once, recorded into one command encoder a step. Forward and
// backward for training; in generation the stateful layers take decode.wgsl's step (embedding at
// the position, the KV cache and attention over it, the wavelet op's running state) and the
// others their forward launches on B rows.

import { matmulLaunches, type MatmulProduct } from '../../kernels/gpt/matmul.js';
import { attentionBackward, attentionForward, columnSumLaunches, f32Bits, grid, pointwiseLaunch, type GptKernels, type GpuCommand } from '../../kernels/gpt/webgpu.js';
import type { WebGPUWaveletOp } from '../../kernels/wavelet/webgpu.js';
import { workgroupGrid } from '../../runtime/webgpu.js';
import { isWaveletLM, type ModelConfig } from '../../model/config.js';
import type { Factor } from '../../model/network.js';
import type { Layer } from '../../model/network.js';
import type { LayerBuffers, LayerOperations } from '../program.js';

const WAVELET_FORMS = { haar: 0, learnable: 1, ema: 2 } as const;

export interface WebGPULayerContext {
  kernels: GptKernels;
  config: ModelConfig;
  wavelet: WebGPUWaveletOp | undefined;
  /** The parameters and their gradients (training), one buffer each; offsets in floats. */
  params: GPUBuffer;
  grads: GPUBuffer | undefined;
  offset(name: string): number;
  /** A buffer of `floats`, freed with the program. */
  buffer(floats: number): GPUBuffer;
  B: number;
  T: number;
  /** Training: the tokens (B, T); generation: [t, token_0 .. token_{B-1}] (decode.wgsl's `step`). */
  tokens: GPUBuffer;
  /** Training: the positions sorted by token (kernels/gpt/embedding.ts), for the token table's gradient. */
  positionsByToken: GPUBuffer;
  /**
   * Shared by the program's layers: split products' partial sums, attention's delta, the wavelet
   * op's summaries and taps, the partial sums of WaveletLM's reductions (reductionFloats) and of
   * LayerNorm's parameter gradients (layernormPartialFloats) and of biases' (columnSumScratchFloats).
   */
  scratch: { matmul: GPUBuffer; attentionDelta: GPUBuffer; waveletSummaries: GPUBuffer; taps: GPUBuffer; tapGradient: GPUBuffer; reductions: GPUBuffer; layernormPartials: GPUBuffer; columnSums: GPUBuffer };
  generation?: { plan: GPUBuffer; spare: GPUBuffer[]; onReset(state: GPUBuffer): void };
}

/** wavelet-lm.wgsl's partial sums: PARTS for a scalar's gradient, GAIN_PARTS a channel for a gain's. */
const REDUCTION_PARTS = 1024;
const GAIN_PARTS = 256;

/** Floats of the reductions' scratch for a network `width` channels wide at most (training). */
export function reductionFloats(width: number): number {
  return Math.max(REDUCTION_PARTS, GAIN_PARTS * width);
}

/** layernorm.wgsl's PARTS: the parts of the rows whose sums backward_params_partials writes. */
export const LAYERNORM_PARTS = 256;

/** Floats of LayerNorm's partial sums (the weight's and the bias's) for a layer `width` wide. */
export function layernormPartialFloats(width: number): number {
  return 2 * LAYERNORM_PARTS * width;
}

/** The products of a linear layer (kernels/gpt/matmul.ts), for sizing the scratch of split ones. */
export function linearProducts(layer: Layer & { kind: 'linear' }, rows: number, training: boolean): Pick<MatmulProduct, 'M' | 'N' | 'K'>[] {
  const { inFeatures: K, outFeatures: M } = layer;
  const forward = [{ M: rows, N: M, K }];
  if (!training) return forward;
  return [...forward, { M: rows, N: K, K: M }, { M, N: K, K: rows }];
}

export function webgpuLayer(io: LayerBuffers<GPUBuffer>, ctx: WebGPULayerContext): LayerOperations<GpuCommand> {
  const { layer, inputs: [x, x2], output: y, outputWidth, inputGradients: [dx, dx2], outputGradient: dy } = io;
  // The layers whose backward pass declares writesFreshInputGradients write a gradient they are the
  // first to reach (no clear before it, no read of its zeros): the linear, attention and GELU.
  const accumulate = !io.inputGradientsFresh[0];
  const { kernels: k, config, B, T, generation, params: P, scratch } = ctx;
  const N = B * T;
  const C = config.width;
  const NH = isWaveletLM(config) ? 1 : config.heads; // WaveletLM has no attention
  const G = () => ctx.grads!;
  const o = ctx.offset;
  // A decode.wgsl launch: the parameters and the step buffer first.
  const decode = (entry: string, uniforms: number[], buffers: GPUBuffer[], workgroups: [number, number, number]) =>
    k.dispatch('decode', entry, uniforms, [P, ctx.tokens, ...buffers, generation!.plan], workgroups);
  const decodeBase = [B, config.context, C, NH];
  const rows = grid(B * C, 64);
  // A wavelet-lm.wgsl launch: n elements, [width, time, aux], up to three read buffers, the output.
  const lm = (entry: string, n: number, [width, time, aux]: number[], reads: GPUBuffer[], out: GPUBuffer, extra: LmLaunch = {}) => {
    const uniforms = [n, width, time, aux, f32Bits(extra.a ?? 1), f32Bits(extra.b ?? 1), extra.aOffset ?? NONE, extra.bOffset ?? NONE];
    const buffers = [...reads, ...[k.unused, k.unused, k.unused].slice(reads.length), out, extra.grads ?? k.unusedWritable];
    return k.dispatch('waveletLm', entry, uniforms, buffers, extra.workgroups ?? grid(n, 256));
  };
  // A parameter's gradient += sum of a * b over n elements; two passes through the scratch.
  const dotInto = (a: GPUBuffer, b: GPUBuffer, n: number, offset: number) => [
    lm('dot_partials', n, [0, 0, 0], [a, b], scratch.reductions, { workgroups: [REDUCTION_PARTS, 1, 1] }),
    lm('dot_total', n, [0, 0, 0], [], scratch.reductions, { grads: G(), bOffset: offset, workgroups: [1, 1, 1] }),
  ];
  switch (layer.kind) {
    case 'embedding': {
      const positions = layer.positions;
      const has = positions ? 1 : 0;
      if (generation) {
        const [spare1, spare2] = generation.spare;
        return { forward: [decode('embed', [...decodeBase, o(layer.tokens), positions ? o(positions) : 0, has, 0], [k.unused, y, spare1, spare2], rows)] };
      }
      const uniforms = [B, T, C, config.vocabSize, o(layer.tokens), positions ? o(positions) : 0, has, 0];
      const [positionRows, positionPages] = workgroupGrid(N, 1); // encoder.wgsl: bt = id.y + id.z * 65535
      return {
        forward: [k.dispatch('encoder', 'forward', uniforms, [ctx.tokens, P, y, k.unused, k.unusedWritable, k.unused], [Math.ceil(C / 64), positionRows, positionPages])],
        backward: () => [
          k.dispatch('encoder', 'backward_tokens', uniforms, [ctx.tokens, P, k.unusedWritable, dy!, G(), ctx.positionsByToken], [Math.ceil(C / 64), positionRows, positionPages]),
          ...(positions ? [k.dispatch('encoder', 'backward_positions', uniforms, [ctx.tokens, P, k.unusedWritable, dy!, G(), k.unused], [Math.ceil(C / 64), T, 1])] : []),
        ],
      };
    }
    case 'layernorm': {
      const stats = ctx.buffer(2 * N);
      const uniforms = [N, outputWidth, o(layer.weight), o(layer.bias)];
      const rowGrid = workgroupGrid(N, 1); // a workgroup a row
      return {
        forward: [k.dispatch('layernorm', 'forward', uniforms, [x, P, y, stats, k.unused, k.unusedWritable], rowGrid)],
        backward: () => [
          k.dispatch('layernorm', 'backward_input', uniforms, [x, P, dx, stats, dy!, k.unusedWritable], rowGrid),
          k.dispatch('layernorm', 'backward_params_partials', uniforms, [x, P, scratch.layernormPartials, stats, dy!, k.unusedWritable], [Math.ceil(outputWidth / 64), LAYERNORM_PARTS, 1]),
          k.dispatch('layernorm', 'backward_params_total', uniforms, [k.unused, P, scratch.layernormPartials, stats, k.unused, G()], [outputWidth, 1, 1]),
        ],
      };
    }
    case 'linear': {
      const { inFeatures: inC, outFeatures: outC, weight, bias } = layer;
      const product = (m: MatmulProduct) => matmulLaunches(k, m, scratch.matmul);
      const forward = product({ M: N, N: outC, K: inC, accumulate: false, a: [x, 0, inC, 1], b: [P, o(weight), 1, inC], bias: bias ? [P, o(bias)] : null, c: [y, 0, outC] });
      if (generation) return { forward };
      // dx (rows, inC) (+)= dy (rows, outC) . W (outC, inC); dW += dy^T . x; dbias += dy's column sums
      return {
        forward,
        backward: () => [
          ...product({ M: N, N: inC, K: outC, accumulate, a: [dy!, 0, outC, 1], b: [P, o(weight), inC, 1], bias: null, c: [dx, 0, inC] }),
          ...product({ M: outC, N: inC, K: N, accumulate: true, a: [dy!, 0, 1, outC], b: [x, 0, inC, 1], bias: null, c: [G(), o(weight), inC] }),
          ...(bias ? columnSumLaunches(k, N, outC, dy!, scratch.columnSums, G(), o(bias)) : []),
        ],
        writesFreshInputGradients: true,
      };
    }
    case 'attention': {
      if (generation) {
        const cache = ctx.buffer(2 * B * config.context * C);
        const scores = ctx.buffer(B * NH * config.context);
        const [spare1, spare2] = generation.spare;
        return {
          forward: [
            decode('store_kv', [...decodeBase, 0, 0, 0, 0], [x, spare1, cache, spare2], rows),
            decode('attend', [...decodeBase, 0, 0, 0, 0], [x, y, cache, scores], [NH, B, 1]),
          ],
        };
      }
      const buffers = { qkv: x, y, lse: ctx.buffer(B * NH * T) };
      const shape = { B, T, C, NH: layer.heads };
      return {
        forward: [attentionForward(k, buffers, shape)],
        backward: () => attentionBackward(k, buffers, dy!, dx, scratch.attentionDelta, shape, accumulate),
        writesFreshInputGradients: true,
      };
    }
    case 'gelu': {
      const n = N * outputWidth;
      return {
        forward: [pointwiseLaunch(k, 'gelu', n, x, k.unused, y)],
        backward: () => [pointwiseLaunch(k, 'gelu_backward', n, x, dy!, dx, accumulate)],
        writesFreshInputGradients: true,
      };
    }
    case 'residual':
      return { forward: [pointwiseLaunch(k, 'add', N * outputWidth, x, x2, y)] };
    case 'wavelet': {
      const op = ctx.wavelet!;
      const tapsOffset = layer.taps ? o(layer.taps) : 0;
      if (generation) {
        const depth = Math.max(1, ...op.plan.windows);
        const state = ctx.buffer(B * depth * C + B * C);
        generation.onReset(state);
        return { forward: [decode('wavelet_step', [...decodeBase, tapsOffset, 0, depth, WAVELET_FORMS[op.plan.form]], [x, y, generation.spare[2], state], rows)] };
      }
      const shape = { batch: B, time: T, channels: C };
      const tapCount = op.plan.tapCount;
      // The filter reads its taps from a buffer of their own (the op's bindings), copied from the parameters.
      const taps: GpuCommand[] = layer.taps ? [{ copy: [P, 4 * tapsOffset, scratch.taps, 0, 4 * tapCount] }] : [];
      const tapsBuffer = layer.taps ? scratch.taps : undefined;
      return {
        forward: [...taps, ...op.filterLaunches(false, shape, x, y, tapsBuffer, scratch.waveletSummaries)],
        backward: () => [
          ...taps,
          ...op.filterLaunches(true, shape, dy!, dx, tapsBuffer, scratch.waveletSummaries),
          ...(layer.taps
            ? [...op.tapGradientLaunches(shape, x, dy!, scratch.taps, scratch.tapGradient, scratch.waveletSummaries), k.dispatch('pointwise', 'add_into', [tapCount, 0, tapsOffset, 0], [scratch.tapGradient, k.unused, G()], grid(tapCount, 256))]
            : []),
        ],
      };
    }
    case 'pad': {
      const { from, to } = layer;
      return {
        forward: [lm('pad_forward', N * to, [to, T, from], [x], y)],
        backward: () => [lm('pad_backward', N * from, [to, T, from], [dy!], dx)],
      };
    }
    case 'lifting_predict': {
      const W = outputWidth, d = layer.delay;
      if (generation) {
        const ring = ctx.buffer(B * d * W);
        generation.onReset(ring);
        return { forward: [lm('lifting_step', B * W, [W, 1, d], [x, x2, ctx.tokens], y, { grads: ring })] };
      }
      return {
        forward: [lm('lifting_forward', N * W, [W, T, d], [x, x2], y)],
        backward: () => [
          lm('lifting_backward_input', N * W, [W, T, d], [dy!], dx),
          lm('add_scaled', N * W, [W, T, 0], [dy!], dx2, { a: -Math.SQRT1_2 }),
        ],
      };
    }
    case 'sum': {
      const n = N * outputWidth;
      const factor = (f: Factor) => (typeof f === 'number' ? { value: f, offset: NONE } : { value: 0, offset: o(f.parameter) });
      const [fa, fb] = [factor(layer.scaleA), factor(layer.scaleB)];
      const learn = (f: Factor, input: GPUBuffer) => (typeof f === 'number' ? [] : dotInto(input, dy!, n, o(f.parameter)));
      return {
        forward: [lm('sum_forward', n, [outputWidth, T, 0], [x, x2, P], y, { a: fa.value, aOffset: fa.offset, b: fb.value, bOffset: fb.offset })],
        backward: () => [
          lm('add_scaled', n, [outputWidth, T, 0], [dy!, k.unused, P], dx, { a: fa.value, aOffset: fa.offset }),
          lm('add_scaled', n, [outputWidth, T, 0], [dy!, k.unused, P], dx2, { a: fb.value, aOffset: fb.offset }),
          ...learn(layer.scaleA, x),
          ...learn(layer.scaleB, x2),
        ],
      };
    }
    case 'scale': {
      const n = N * outputWidth;
      return {
        forward: [lm('sum_forward', n, [outputWidth, T, 0], [x, x, P], y, { aOffset: o(layer.factor), b: 0 })],
        backward: () => [
          lm('add_scaled', n, [outputWidth, T, 0], [dy!, k.unused, P], dx, { aOffset: o(layer.factor) }),
          ...dotInto(x, dy!, n, o(layer.factor)),
        ],
      };
    }
    case 'channel_scale': {
      const W = outputWidth;
      return {
        forward: [lm('channel_scale_forward', N * W, [W, T, 0], [x, k.unused, P], y, { aOffset: o(layer.gain) })],
        backward: () => [
          lm('channel_scale_backward_input', N * W, [W, T, 0], [k.unused, dy!, P], dx, { aOffset: o(layer.gain) }),
          lm('gain_partials', N, [W, T, 0], [x, dy!], scratch.reductions, { workgroups: [Math.ceil(W / 256), GAIN_PARTS, 1] }),
          lm('gain_total', N, [W, T, 0], [], scratch.reductions, { grads: G(), bOffset: o(layer.gain), workgroups: [Math.ceil(W / 256), 1, 1] }),
        ],
      };
    }
    case 'hadamard': {
      const W = outputWidth;
      if (W > 4096) throw new Error(`webgpu backend: the Hadamard transform of width ${W}; at most 4096 (one workgroup a row)`);
      const rowsGrid = grid(N * 256, 256); // a workgroup a row
      return {
        forward: [lm('hadamard', N, [W, T, 0], [x], y, { workgroups: rowsGrid })],
        backward: () => [lm('hadamard', N, [W, T, 1], [dy!], dx, { workgroups: rowsGrid })], // its own gradient
      };
    }
    case 'silu_gate': {
      const n = N * outputWidth;
      return {
        forward: [lm('silu_gate_forward', n, [outputWidth, T, 0], [x, x2], y)],
        backward: () => [
          lm('silu_gate_backward_input', n, [outputWidth, T, 0], [dy!, x2], dx),
          lm('silu_gate_backward_gate', n, [outputWidth, T, 0], [dy!, x2, x], dx2),
        ],
      };
    }
    case 'scale_route': {
      const n = N * outputWidth;
      const S = io.inputs.length;
      const weight = (s: number) => o(layer.matrix) + layer.row * S + s;
      return {
        forward: [
          lm('sum_forward', n, [outputWidth, T, 0], [io.inputs[0], io.inputs[0], P], y, { aOffset: weight(0), b: 0 }),
          ...io.inputs.slice(1).map((input, s) => lm('add_scaled', n, [outputWidth, T, 0], [input, k.unused, P], y, { aOffset: weight(s + 1) })),
        ],
        backward: () =>
          io.inputs.flatMap((input, s) => [
            lm('add_scaled', n, [outputWidth, T, 0], [dy!, k.unused, P], io.inputGradients[s], { aOffset: weight(s) }),
            ...dotInto(input, dy!, n, weight(s)),
          ]),
      };
    }
    case 'running_mean': {
      const W = outputWidth;
      if (generation) {
        const sums = ctx.buffer(B * W);
        generation.onReset(sums);
        return { forward: [lm('running_mean_step', B * W, [W, 1, 0], [x, k.unused, ctx.tokens], y, { grads: sums })] };
      }
      const lanes: [number, number, number] = [Math.ceil((B * W) / 256), 1, 1];
      return {
        forward: [lm('running_mean_forward', B * W, [W, T, 0], [x], y, { workgroups: lanes })],
        backward: () => [lm('running_mean_backward', B * W, [W, T, 0], [dy!], dx, { workgroups: lanes })],
      };
    }
  }
}

/** wavelet-lm.wgsl NONE: a factor that is a constant, not a parameter. */
const NONE = 0xffffffff;

interface LmLaunch {
  a?: number;
  b?: number;
  aOffset?: number;
  bOffset?: number;
  /** The second writable binding: a gradient buffer, or a decoding state. */
  grads?: GPUBuffer;
  workgroups?: [number, number, number];
}

/** A layer kind this backend has no kernel for (the registry refuses such models before they get here). */
function noKernel(what: string): Error {
  return new Error(`webgpu backend: no kernel for the '${what}' layer`);
}
