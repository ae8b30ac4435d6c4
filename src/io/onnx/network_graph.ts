// A model's network (model/network.ts) as ONNX graphs, one node group a layer kind, in two modes:
// 'forward' takes tokens (batch, time) to logits (batch, time, V) in one pass; 'decode' takes one
// token a sequence (batch, 1) at `position` with each stateful layer's state, and returns the
// logits and the next states: attention's keys and values grow along `past`; the wavelet op and
// the lifting steps keep the last inputs their windows reach, so their state is of fixed size;
// the running mean keeps its sum. States start as zeros (attention's with past 0). Weights keep
// the checkpoint's names and layouts (linear weights (out, in), transposed in the graph).

import type { ModelConfig } from '../../model/config.js';
import { LAYERNORM_EPSILON, type Factor, type Layer } from '../../model/network.js';
import { networkOf } from '../../model/networks.js';
import { parameterLayout, slice, waveletPlanOf } from '../../model/parameters.js';
import type { WaveletPlan } from '../../model/wavelet_plan.js';
import { ONNX_FLOAT, ONNX_INT64, type Attribute, type OnnxGraph, type OnnxNode, type OnnxValue } from './onnx.js';

export type GraphMode = 'forward' | 'decode';

class GraphBuilder {
  readonly graph: OnnxGraph;
  private count = 0;
  private readonly made = new Map<string, string>();

  constructor(name: string, private readonly parameter: (name: string) => Float32Array, private readonly shapeOf: (name: string) => number[]) {
    this.graph = { name, nodes: [], initializers: [], inputs: [], outputs: [] };
  }

  op(op: string, inputs: string[], attributes?: Record<string, Attribute>, output?: string): string {
    return this.ops(op, inputs, 1, attributes, output ? [output] : undefined)[0];
  }

  ops(op: string, inputs: string[], outputs: number, attributes?: Record<string, Attribute>, names?: string[]): string[] {
    const out = names ?? Array.from({ length: outputs }, () => `${op}_${this.count++}`);
    const node: OnnxNode = { op, inputs, outputs: out, attributes };
    this.graph.nodes.push(node);
    return out;
  }

  /** A constant tensor, added once for each distinct key. */
  constant(key: string, dims: number[], data: () => Float32Array | BigInt64Array): string {
    const known = this.made.get(key);
    if (known) return known;
    const name = `const_${this.made.size}`;
    this.graph.initializers.push({ name, dims, data: data() });
    this.made.set(key, name);
    return name;
  }

  float(value: number): string {
    return this.constant(`f${value}`, [], () => Float32Array.of(value));
  }

  int64s(values: number[]): string {
    return this.constant(`i${values.join(',')}`, [values.length], () => BigInt64Array.from(values, BigInt));
  }

  int64(value: number): string {
    return this.constant(`i scalar ${value}`, [], () => BigInt64Array.of(BigInt(value)));
  }

  /** A model parameter under its checkpoint name, added once. */
  weight(name: string): string {
    if (!this.made.has(name)) {
      this.graph.initializers.push({ name, dims: this.shapeOf(name), data: this.parameter(name).slice() });
      this.made.set(name, name);
    }
    return name;
  }

  /** A linear layer's weight as (in, out), transposed once in the graph (ONNX Runtime folds it). */
  transposed(name: string): string {
    const key = `${name}^T`;
    if (!this.made.has(key)) this.made.set(key, this.op('Transpose', [this.weight(name)], { perm: [1, 0] }, key));
    return key;
  }

  input(value: OnnxValue): string {
    this.graph.inputs.push(value);
    return value.name;
  }

  output(value: OnnxValue): void {
    this.graph.outputs.push(value);
  }
}

/** Tap weights by lag of each channel's causal filter: kernel (E, 1, K), column K - 1 - k for lag k. */
function waveletKernel(plan: WaveletPlan, taps: Float32Array | null, K: number): Float32Array {
  const E = plan.channels;
  const kernel = new Float32Array(E * K);
  for (let c = 0; c < E; c++) {
    const f = plan.windows[c];
    const at = (k: number, w: number) => (kernel[c * K + K - 1 - k] = w);
    if (f === 0) at(0, 1);
    else if (plan.form === 'haar') for (let k = 0; k < f; k++) at(k, 1 / f);
    else if (plan.form === 'learnable') for (let k = 0; k < f; k++) at(k, taps![plan.tapOffsets[c] + k]);
    else for (let k = 0; k < K; k++) at(k, plan.alphas[c] * (1 - plan.alphas[c]) ** k); // EMA's impulse response, exact within the context
  }
  return kernel;
}

/** How many past inputs (K - 1) the wavelet op's causal filter reaches: the longest window, or the whole context for EMA. */
function waveletReach(plan: WaveletPlan, context: number): number {
  return plan.form === 'ema' ? context : Math.max(...plan.windows);
}

/** The orthonormal Walsh-Hadamard matrix, natural order. */
function hadamardMatrix(width: number): Float32Array {
  const m = new Float32Array(width * width);
  const scale = 1 / Math.sqrt(width);
  for (let i = 0; i < width; i++) {
    for (let j = 0; j < width; j++) {
      let bits = i & j, parity = 0;
      while (bits) {
        parity ^= bits & 1;
        bits >>= 1;
      }
      m[i * width + j] = parity ? -scale : scale;
    }
  }
  return m;
}

export interface NetworkGraphOptions {
  config: ModelConfig;
  parameters: Float32Array;
  mode: GraphMode;
}

/** The network of a config with these parameters as one ONNX graph. */
export function networkGraph({ config, parameters, mode }: NetworkGraphOptions): OnnxGraph {
  const layout = parameterLayout(config);
  const network = networkOf(config);
  const plan = waveletPlanOf(config);
  const V = config.vocabSize;
  const g = new GraphBuilder(`wavelet-gpt ${mode}`, (name) => slice(parameters, layout, name), (name) => layout.byName.get(name)!.shape);
  const decode = mode === 'decode';
  const tokens = g.input({ name: 'tokens', type: ONNX_INT64, dims: ['batch', decode ? 1 : 'time'] });
  const position = decode ? g.input({ name: 'position', type: ONNX_INT64, dims: [1] }) : '';
  // The time dimension as a 1-element tensor (Slice's bounds) and as a scalar (Range's).
  const time = decode ? '' : g.op('Slice', [g.op('Shape', [tokens]), g.int64s([1]), g.int64s([2])]);
  const timeScalar = decode ? '' : g.op('Squeeze', [time, g.int64s([0])]);
  const state = (name: string, dims: (number | string)[]) => {
    const input = g.input({ name, type: ONNX_FLOAT, dims });
    return [input, `${name}.next`] as const;
  };
  const nextState = (name: string, dims: (number | string)[]) => g.output({ name, type: ONNX_FLOAT, dims });
  const factor = (f: Factor) => (typeof f === 'number' ? g.float(f) : g.weight(f.parameter));
  const widthOf = (name: string) => network.widths.get(name)!;

  const layers: Record<Layer['kind'], (layer: never) => void> = {
    embedding: (l: Extract<Layer, { kind: 'embedding' }>) => {
      const embedded = g.op('Gather', [g.weight(l.tokens), tokens]);
      if (!l.positions) return void g.op('Identity', [embedded], undefined, l.out);
      const rows = decode ? g.op('Gather', [g.weight(l.positions), position]) : g.op('Slice', [g.weight(l.positions), g.int64s([0]), time, g.int64s([0])]);
      g.op('Add', [embedded, rows], undefined, l.out);
    },
    layernorm: (l: Extract<Layer, { kind: 'layernorm' }>) => {
      g.op('LayerNormalization', [l.in, g.weight(l.weight), g.weight(l.bias)], { axis: -1, epsilon: LAYERNORM_EPSILON }, l.out);
    },
    linear: (l: Extract<Layer, { kind: 'linear' }>) => {
      const product = g.op('MatMul', [l.in, g.transposed(l.weight)], undefined, l.bias ? undefined : l.out);
      if (l.bias) g.op('Add', [product, g.weight(l.bias)], undefined, l.out);
    },
    attention: (l: Extract<Layer, { kind: 'attention' }>) => {
      const C = widthOf(l.out);
      const hs = C / l.heads;
      const heads = (x: string) => g.op('Transpose', [g.op('Reshape', [x, g.int64s([0, 0, l.heads, hs])])], { perm: [0, 2, 1, 3] }); // (B, H, T, hs)
      let [q, k, v] = g.ops('Split', [l.in, g.int64s([C, C, C])], 3, { axis: 2 }).map(heads);
      if (decode) {
        const dims = ['batch', l.heads, 'past', hs];
        const [pastK, presentK] = state(`${l.out}.key`, dims);
        const [pastV, presentV] = state(`${l.out}.value`, dims);
        k = g.op('Concat', [pastK, k], { axis: 2 }, presentK);
        v = g.op('Concat', [pastV, v], { axis: 2 }, presentV);
        nextState(presentK, ['batch', l.heads, 'past + 1', hs]);
        nextState(presentV, ['batch', l.heads, 'past + 1', hs]);
      }
      let scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), g.float(1 / Math.sqrt(hs))]);
      if (!decode) {
        // One new token sees every key it is given; a sequence sees its past alone.
        const T = config.context;
        const mask = g.constant('causal mask', [T, T], () => Float32Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? -Infinity : 0)));
        const square = g.op('Concat', [time, time], { axis: 0 });
        scores = g.op('Add', [scores, g.op('Slice', [mask, g.int64s([0, 0]), square, g.int64s([0, 1])])]);
      }
      const mixed = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
      g.op('Reshape', [g.op('Transpose', [mixed], { perm: [0, 2, 1, 3] }), g.int64s([0, 0, C])], undefined, l.out);
    },
    gelu: (l: Extract<Layer, { kind: 'gelu' }>) => {
      // GPT-2's tanh form: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
      const cube = g.op('Mul', [g.op('Mul', [l.in, l.in]), l.in]);
      const inner = g.op('Mul', [g.op('Add', [l.in, g.op('Mul', [cube, g.float(0.044715)])]), g.float(Math.sqrt(2 / Math.PI))]);
      g.op('Mul', [g.op('Mul', [l.in, g.float(0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.float(1)])], undefined, l.out);
    },
    residual: (l: Extract<Layer, { kind: 'residual' }>) => void g.op('Add', [l.stream, l.branch], undefined, l.out),
    wavelet: (l: Extract<Layer, { kind: 'wavelet' }>) => {
      const E = widthOf(l.out);
      const K = waveletReach(plan!, config.context);
      const kernel = g.constant(`wavelet kernel ${l.taps ?? ''}`, [E, 1, K], () => waveletKernel(plan!, l.taps ? slice(parameters, layout, l.taps) : null, K));
      let window = l.in;
      if (decode) {
        const [past, next] = state(`${l.out}.inputs`, ['batch', K - 1, E]);
        window = g.op('Concat', [past, l.in], { axis: 1 });
        g.op('Slice', [window, g.int64s([1]), g.int64s([K]), g.int64s([1])], undefined, next);
        nextState(next, ['batch', K - 1, E]);
      }
      let channelsFirst = g.op('Transpose', [window], { perm: [0, 2, 1] }); // (B, E, time)
      if (!decode) channelsFirst = g.op('Pad', [channelsFirst, g.int64s([0, 0, K - 1, 0, 0, 0])]); // zeros before t = 0
      const filtered = g.op('Conv', [channelsFirst, kernel], { group: E, kernel_shape: [K] });
      g.op('Transpose', [filtered], { perm: [0, 2, 1] }, l.out);
    },
    pad: (l: Extract<Layer, { kind: 'pad' }>) => void g.op('Pad', [l.in, g.int64s([0, 0, 0, 0, 0, l.to - l.from])], undefined, l.out),
    lifting_predict: (l: Extract<Layer, { kind: 'lifting_predict' }>) => {
      const W = widthOf(l.out);
      let delayed: string;
      if (decode) {
        const [past, next] = state(`${l.out}.inputs`, ['batch', l.delay, W]);
        delayed = g.op('Slice', [past, g.int64s([0]), g.int64s([1]), g.int64s([1])]);
        g.op('Slice', [g.op('Concat', [past, l.in], { axis: 1 }), g.int64s([1]), g.int64s([l.delay + 1]), g.int64s([1])], undefined, next);
        nextState(next, ['batch', l.delay, W]);
      } else {
        delayed = g.op('Slice', [g.op('Pad', [l.in, g.int64s([0, l.delay, 0, 0, 0, 0])]), g.int64s([0]), time, g.int64s([1])]);
      }
      g.op('Mul', [g.op('Sub', [delayed, l.predicted]), g.float(Math.SQRT1_2)], undefined, l.out);
    },
    sum: (l: Extract<Layer, { kind: 'sum' }>) => {
      g.op('Add', [g.op('Mul', [l.a, factor(l.scaleA)]), g.op('Mul', [l.b, factor(l.scaleB)])], undefined, l.out);
    },
    scale: (l: Extract<Layer, { kind: 'scale' }>) => void g.op('Mul', [l.in, g.weight(l.factor)], undefined, l.out),
    channel_scale: (l: Extract<Layer, { kind: 'channel_scale' }>) => void g.op('Mul', [l.in, g.weight(l.gain)], undefined, l.out),
    hadamard: (l: Extract<Layer, { kind: 'hadamard' }>) => {
      const W = widthOf(l.out);
      g.op('MatMul', [l.in, g.constant(`hadamard ${W}`, [W, W], () => hadamardMatrix(W))], undefined, l.out);
    },
    silu_gate: (l: Extract<Layer, { kind: 'silu_gate' }>) => {
      g.op('Mul', [l.in, g.op('Mul', [l.gate, g.op('Sigmoid', [l.gate])])], undefined, l.out);
    },
    scale_route: (l: Extract<Layer, { kind: 'scale_route' }>) => {
      const matrix = slice(parameters, layout, l.matrix);
      const S = l.ins.length;
      const terms = l.ins.map((input, s) => g.op('Mul', [input, g.float(matrix[l.row * S + s])]));
      g.op('Sum', terms, undefined, l.out);
    },
    running_mean: (l: Extract<Layer, { kind: 'running_mean' }>) => {
      const W = widthOf(l.out);
      if (decode) {
        const [past, next] = state(`${l.out}.sum`, ['batch', 1, W]);
        g.op('Add', [past, l.in], undefined, next);
        nextState(next, ['batch', 1, W]);
        const count = g.op('Cast', [g.op('Add', [position, g.int64(1)])], { to: ONNX_FLOAT });
        return void g.op('Div', [next, count], undefined, l.out);
      }
      const counts = g.op('Cast', [g.op('Range', [g.int64(1), g.op('Add', [timeScalar, g.int64(1)]), g.int64(1)])], { to: ONNX_FLOAT });
      g.op('Div', [g.op('CumSum', [l.in, g.int64(1)]), g.op('Unsqueeze', [counts, g.int64s([1])])], undefined, l.out);
    },
  };
  for (const layer of network.layers) layers[layer.kind](layer as never);
  if (network.logits !== 'logits') g.op('Identity', [network.logits], undefined, 'logits');
  g.output({ name: 'logits', type: ONNX_FLOAT, dims: ['batch', decode ? 1 : 'time', V] });
  // Outputs in the order of the inputs they follow: the states after the logits.
  const states = g.graph.outputs.splice(0, g.graph.outputs.length - 1);
  g.graph.outputs.push(...states);
  g.graph.doc = decode
    ? `One token a sequence at 'position' (from 0, below the context ${config.context}); every input after 'position' is a layer's state, zeros at position 0 ('past' 0), and each output '<state>.next' is that state for the next call.`
    : `Logits of every position of 'tokens' (batch, time), time at most the context ${config.context}.`;
  return g.graph;
}
