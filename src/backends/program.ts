// Runs a network description on a backend: the one traversal every backend shares. A backend
// gives buffers and, for each layer, the operations of its forward and backward passes (a
// closure on the CPU, a recorded launch on the GPU); this lays them out in order, with the
// buffers of model/buffers.ts and the zeroing it asks for, less what a layer can do without (it
// writes a gradient it is the first to reach instead of adding into zeros). The residual's
// backward pass is nothing: its gradient buffer is shared with its inputs'.

import { assignBuffers, type RunMode } from '../model/buffers.js';
import { layerInputs, type Layer, type Network } from '../model/network.js';

/** What a backend's layer sees: its buffers, resolved. */
export interface LayerBuffers<Buffer> {
  layer: Layer;
  /** The layer's position in the network. */
  index: number;
  inputs: Buffer[];
  output: Buffer;
  /** Floats a position of the output. */
  outputWidth: number;
  /** Training: the gradients of the inputs (added into) and of the output (read). */
  inputGradients: Buffer[];
  outputGradient: Buffer | undefined;
  /**
   * Training, by input: whether the program zeroes that input's gradient just before this layer's
   * backward pass (the layer is the first of the step to reach it, and its buffer holds whatever
   * it held before), unless the layer writes it (LayerOperations.writesFreshInputGradients). Never
   * set for a buffer the layer reaches through two of its inputs.
   */
  inputGradientsFresh: boolean[];
}

export interface LayerOperations<Operation> {
  forward: Operation[];
  /** Made only in training (it binds the gradients). */
  backward?: () => Operation[];
  /**
   * Its backward pass writes (rather than adds into) every input gradient marked fresh, exactly as
   * adding into zeros would (sums started from zero): the program need not zero them first.
   */
  writesFreshInputGradients?: boolean;
}

export interface BackendProgramParts<Buffer, Operation> {
  /** A buffer of `floats` floats. */
  allocate(floats: number): Buffer;
  /** An operation that zeroes a buffer of `floats` floats. */
  clear(buffer: Buffer, floats: number): Operation;
  /** The operations of one layer (in generation, its forward is the decode step). */
  layer(buffers: LayerBuffers<Buffer>): LayerOperations<Operation>;
  /** Training: the logits' gradient, which the loss writes. */
  logitsGradient?: Buffer;
}

export interface Program<Buffer, Operation> {
  forward: Operation[];
  backward: Operation[];
  /** Every buffer allocated, to free with the program. */
  buffers: Buffer[];
  activation(name: string): Buffer;
}

/** Lays out `network` for `positions` rows (B * T in training, B in generation). */
export function buildProgram<Buffer, Operation>(network: Network, mode: RunMode, positions: number, parts: BackendProgramParts<Buffer, Operation>): Program<Buffer, Operation> {
  const assignment = assignBuffers(network, mode);
  const buffers = assignment.widths.map((width) => parts.allocate(width * positions));
  const activation = (name: string) => buffers[assignment.activation.get(name)!];
  const gradient = (name: string) => (name === network.logits ? parts.logitsGradient! : buffers[assignment.gradient.get(name)!]);
  const forward: Operation[] = [];
  const backwardOf: Operation[][] = [];
  network.layers.forEach((layer, index) => {
    const train = mode === 'train';
    const clears = assignment.clearBeforeBackward[index];
    const gradientBuffers = train ? layerInputs(layer).map((name) => assignment.gradient.get(name)!) : [];
    const fresh = freshGradients(gradientBuffers, clears);
    const ops = parts.layer({
      layer,
      index,
      inputs: layerInputs(layer).map(activation),
      output: activation(layer.out),
      outputWidth: network.widths.get(layer.out)!,
      inputGradients: train ? layerInputs(layer).map(gradient) : [],
      outputGradient: train ? gradient(layer.out) : undefined,
      inputGradientsFresh: fresh,
    });
    forward.push(...ops.forward);
    const written = ops.writesFreshInputGradients ? gradientBuffers.filter((_, i) => fresh[i]) : [];
    const zeroed = clears.filter((b) => !written.includes(b));
    if (train && layer.kind !== 'residual') backwardOf.push([...zeroed.map((b) => parts.clear(buffers[b], assignment.widths[b] * positions)), ...(ops.backward?.() ?? [])]);
    else backwardOf.push([]);
  });
  return { forward, backward: backwardOf.reverse().flat(), buffers, activation };
}

/** By input: its gradient buffer is zeroed for the layer (in `clears`) and no other input of the layer shares it. */
function freshGradients(buffers: number[], clears: number[]): boolean[] {
  return buffers.map((b) => clears.includes(b) && buffers.indexOf(b) === buffers.lastIndexOf(b));
}
