// A network as data: its layers in order, each naming the activations it reads and writes and
// the parameters it uses. An architecture is one function that writes this list (model/gpt.ts);
// every backend implements each layer kind once (forward, backward, and a one-position decode
// step where the layer keeps state) and runs the list (backends/program.ts), in training or in
// generation. Activations are (positions, width) float32, width per activation in `widths`.

/** The residual stream of a token at its position: wte[token] + wpe[position]. */
export interface EmbeddingLayer { kind: 'embedding'; out: string; tokens: string; positions: string }
/** LayerNorm over the width, with weight and bias. */
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

export type Layer = EmbeddingLayer | LayerNormLayer | LinearLayer | AttentionLayer | GeluLayer | ResidualLayer | WaveletLayer;
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
  if (layer.kind === 'embedding') return [];
  if (layer.kind === 'residual') return [layer.stream, layer.branch];
  return [layer.in];
}

/** The activations a layer's backward pass reads besides its output's gradient (what training keeps). */
export function savedForBackward(layer: Layer): string[] {
  switch (layer.kind) {
    case 'embedding':
    case 'residual':
      return [];
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
  return layer.kind === 'embedding' || layer.kind === 'attention' || layer.kind === 'wavelet';
}

/** The parameters a layer reads, by name. */
export function layerParameters(layer: Layer): string[] {
  switch (layer.kind) {
    case 'embedding':
      return [layer.tokens, layer.positions];
    case 'layernorm':
      return [layer.weight, layer.bias];
    case 'linear':
      return layer.bias ? [layer.weight, layer.bias] : [layer.weight];
    case 'wavelet':
      return layer.taps ? [layer.taps] : [];
    default:
      return [];
  }
}
