// A network as data: its layers in order, each naming the activations it reads and writes and
// the parameters it uses. An architecture is one function that writes this list (model/gpt.ts);
// every backend implements each layer kind once (forward, backward, and a one-position decode
// step where the layer keeps state) and runs the list (backends/program.ts), in training or in
// generation. Activations are (positions, width) float32, width per activation in `widths`.
// Positions are (sequence, time) rows; only the layers that look along time (attention, the
// wavelet op, lifting_predict, running_mean) care which row is which.

/** The residual stream of a token at its position: wte[token] (+ wpe[position] where the network has positions). */
export interface EmbeddingLayer { kind: 'embedding'; out: string; tokens: string; positions: string | null }
/** LayerNorm's epsilon: a property of the layer, which every backend and exporter reads from here. */
export const LAYERNORM_EPSILON = 1e-5;

/** LayerNorm over the width, with weight and bias (epsilon LAYERNORM_EPSILON). */
export interface LayerNormLayer { kind: 'layernorm'; in: string; out: string; weight: string; bias: string }
/** out = in . weight^T + bias, weight (outFeatures, inFeatures). */
export interface LinearLayer { kind: 'linear'; in: string; out: string; weight: string; bias: string | null; inFeatures: number; outFeatures: number }
/** Causal multi-head attention over qkv (width 3C) to out (width C); decoding keeps a KV cache. */
export interface AttentionLayer { kind: 'attention'; in: string; out: string; heads: number }
/** GELU, tanh approximation (GPT-2's). */
export interface GeluLayer { kind: 'gelu'; in: string; out: string }
/** out = stream + branch: the residual connection. Its gradient passes to both unchanged. */
export interface ResidualLayer { kind: 'residual'; stream: string; branch: string; out: string }
/** The wavelet structure over time (the network's wavelet plan); decoding keeps a ring of inputs. */
export interface WaveletLayer { kind: 'wavelet'; in: string; out: string; taps: string | null }


// WaveletLM's layers (model/wavelet_lm.ts). Each is small and elementwise or nearly so; the
// network's matmuls stay in 'linear', so every backend's fastest kernel serves both architectures.

/** Zero-padding of the width: out (N, to) = [in (N, from), 0]. */
export interface PadLayer { kind: 'pad'; in: string; out: string; from: number; to: number }
/** A lifting scheme's predict step along time: out[t] = (in[t - delay] - predicted[t]) / sqrt 2, in[t < 0] = 0. Decoding keeps a ring of the last `delay` inputs. */
export interface LiftingPredictLayer { kind: 'lifting_predict'; in: string; predicted: string; out: string; delay: number }
/** A factor: a constant, or the name of a scalar parameter (learned). */
export type Factor = number | { parameter: string };
/** out = scaleA * a + scaleB * b. */
export interface SumLayer { kind: 'sum'; a: string; b: string; out: string; scaleA: Factor; scaleB: Factor }
/** out = in * factor, factor a scalar parameter. */
export interface ScaleLayer { kind: 'scale'; in: string; out: string; factor: string }
/** out = in * gain, gain a per-channel parameter (width). */
export interface ChannelScaleLayer { kind: 'channel_scale'; in: string; out: string; gain: string }
/** The orthonormal Walsh-Hadamard transform over the width (a power of two); its own inverse. */
export interface HadamardLayer { kind: 'hadamard'; in: string; out: string }
/** out = in * silu(gate). */
export interface SiluGateLayer { kind: 'silu_gate'; in: string; gate: string; out: string }
/** out = sum_s matrix[row, s] * ins[s]: one row of a learned (S, S) mixing of S activations. */
export interface ScaleRouteLayer { kind: 'scale_route'; ins: string[]; out: string; matrix: string; row: number }
/** The causal running mean along time: out[t] = mean(in[0..t]). Decoding keeps the running sum. */
export interface RunningMeanLayer { kind: 'running_mean'; in: string; out: string }

export type Layer =
  | EmbeddingLayer | LayerNormLayer | LinearLayer | AttentionLayer | GeluLayer | ResidualLayer | WaveletLayer
  | PadLayer | LiftingPredictLayer | SumLayer | ScaleLayer | ChannelScaleLayer | HadamardLayer | SiluGateLayer | ScaleRouteLayer | RunningMeanLayer;
export type LayerKind = Layer['kind'];

export interface Network {
  /** The layers in the order they run forward. */
  layers: Layer[];
  /** Floats a position of each activation. */
  widths: Map<string, number>;
  /** The activation the loss reads (positions, vocabSize). */
  logits: string;
}

/** The activations a layer reads. */
export function layerInputs(layer: Layer): string[] {
  switch (layer.kind) {
    case 'embedding':
      return [];
    case 'residual':
      return [layer.stream, layer.branch];
    case 'lifting_predict':
      return [layer.in, layer.predicted];
    case 'sum':
      return [layer.a, layer.b];
    case 'silu_gate':
      return [layer.in, layer.gate];
    case 'scale_route':
      return layer.ins;
    default:
      return [layer.in];
  }
}

/** The parameter a factor reads, if any. */
export function factorParameter(factor: Factor): string | null {
  return typeof factor === 'number' ? null : factor.parameter;
}

/** The activations a layer's backward pass reads besides its output's gradient (what training keeps). */
export function savedForBackward(layer: Layer): string[] {
  switch (layer.kind) {
    case 'embedding':
    case 'residual':
    case 'pad':
    case 'lifting_predict':
    case 'hadamard':
    case 'running_mean':
      return []; // linear in their inputs, no parameters
    case 'sum': // a learned factor's gradient reads what it multiplies
      return [factorParameter(layer.scaleA) ? layer.a : null, factorParameter(layer.scaleB) ? layer.b : null].filter((n): n is string => n !== null);
    case 'silu_gate':
      return [layer.in, layer.gate];
    case 'scale_route':
      return layer.ins;
    case 'attention':
      return [layer.in, layer.out]; // the flash form recomputes the softmax from q, k and the output
    case 'wavelet':
      return layer.taps ? [layer.in] : []; // the taps' gradient correlates the input; x's is the transpose alone
    default:
      return [layer.in];
  }
}

/** Layers whose backward writes (rather than adds to) its input's gradient: it must be the first to write it. */
export function overwritesInputGradient(layer: Layer): boolean {
  return layer.kind === 'wavelet';
}

/** Layers that keep state between positions while decoding. */
export function isStateful(layer: Layer): boolean {
  return ['embedding', 'attention', 'wavelet', 'lifting_predict', 'running_mean'].includes(layer.kind);
}

/** The parameters a layer reads, by name. */
export function layerParameters(layer: Layer): string[] {
  switch (layer.kind) {
    case 'embedding':
      return layer.positions ? [layer.tokens, layer.positions] : [layer.tokens];
    case 'layernorm':
      return [layer.weight, layer.bias];
    case 'linear':
      return layer.bias ? [layer.weight, layer.bias] : [layer.weight];
    case 'wavelet':
      return layer.taps ? [layer.taps] : [];
    case 'sum':
      return [factorParameter(layer.scaleA), factorParameter(layer.scaleB)].filter((n): n is string => n !== null);
    case 'channel_scale':
      return [layer.gain];
    case 'scale':
      return [layer.factor];
    case 'scale_route':
      return [layer.matrix];
    default:
      return [];
  }
}

/** Writes a network: each layer added with its output's width; done() names the logits. */
export function networkBuilder(): { add(layer: Layer, width: number): string; done(logits: string): Network } {
  const layers: Layer[] = [];
  const widths = new Map<string, number>();
  return {
    add(layer, width) {
      layers.push(layer);
      widths.set(layer.out, width);
      return layer.out;
    },
    done: (logits) => ({ layers, widths, logits }),
  };
}
