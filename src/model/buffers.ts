// Which buffer holds each activation and each gradient of a network, decided once for all
// backends (llm.c sizes its activations by hand; here the description does it):
//   - training keeps every activation a backward pass reads; the others share buffers whose
//     contents are dead (an output never shares with an input of its own layer: WebGPU forbids
//     a launch to read and write one buffer);
//   - a residual's gradient passes to both its inputs unchanged, so the three share one buffer
//     and the residual costs nothing backwards (no copies, as llm.c's residual stream);
//   - a gradient buffer is zeroed before the first backward pass adds into it, unless that pass
//     writes it (the wavelet op's transpose);
//   - gradients reuse the buffers of activations no backward pass reads.
// Generation keeps nothing: every buffer is reused as soon as its last reader has run.

import { layerInputs, overwritesInputGradient, savedForBackward, type Network } from './network.js';

export type RunMode = 'train' | 'generate';

export interface BufferAssignment {
  /** Floats a position of each buffer. */
  widths: number[];
  /** The buffer of each activation. */
  activation: Map<string, number>;
  /** The buffer of each activation's gradient (train mode; the logits' gradient is the loss's). */
  gradient: Map<string, number>;
  /** By layer index: buffers to zero just before that layer's backward pass. */
  clearBeforeBackward: number[][];
}

export function assignBuffers(network: Network, mode: RunMode): BufferAssignment {
  const { layers, widths: widthOf, logits } = network;
  const width = (name: string) => {
    const w = widthOf.get(name);
    if (w === undefined) throw new Error(`network: activation '${name}' is read but never written`);
    return w;
  };
  const producer = new Map<string, number>();
  const consumers = new Map<string, number[]>();
  layers.forEach((layer, i) => {
    if (producer.has(layer.out)) throw new Error(`network: activation '${layer.out}' is written twice`);
    producer.set(layer.out, i);
    for (const input of new Set(layerInputs(layer))) {
      if (!producer.has(input)) throw new Error(`network: layer ${i} (${layer.kind}) reads '${input}' before it is written`);
      consumers.set(input, [...(consumers.get(input) ?? []), i]);
    }
  });

  const widths: number[] = [];
  const free: number[] = [];
  const take = (floats: number) => {
    const at = free.findIndex((b) => widths[b] === floats);
    if (at >= 0) return free.splice(at, 1)[0];
    widths.push(floats);
    return widths.length - 1;
  };

  // Forward: an activation nobody reads backwards is dead after its last reader.
  const kept = new Set<string>([logits]);
  if (mode === 'train') for (const layer of layers) for (const name of savedForBackward(layer)) kept.add(name);
  const activation = new Map<string, number>();
  layers.forEach((layer, i) => {
    activation.set(layer.out, take(width(layer.out)));
    for (const input of new Set(layerInputs(layer))) {
      const readers = consumers.get(input)!;
      if (readers[readers.length - 1] === i && !kept.has(input)) free.push(activation.get(input)!);
    }
  });
  const gradient = new Map<string, number>();
  const clearBeforeBackward: number[][] = layers.map(() => []);
  if (mode === 'generate') return { widths, activation, gradient, clearBeforeBackward };

  // Residual gradients: out, stream and branch share one buffer when that is exact. The branch
  // must have no other reader; every other reader of the stream must come before the branch's
  // producer, so that their additions land after the branch's gradient has been read.
  const parent = new Map<string, string>();
  const root = (name: string): string => {
    const up = parent.get(name);
    return up === undefined ? name : root(up);
  };
  layers.forEach((layer, i) => {
    if (layer.kind !== 'residual') return;
    const { stream, branch, out } = layer;
    const branchProducer = producer.get(branch)!;
    const exact =
      consumers.get(branch)!.length === 1 &&
      consumers.get(stream)!.every((c) => c === i || c < branchProducer) &&
      width(stream) === width(out) && width(branch) === width(out);
    if (!exact) throw new Error(`network: residual '${out}' cannot pass its gradient by sharing (the branch '${branch}' or the stream '${stream}' has other readers in between)`);
    parent.set(root(stream), root(out));
    parent.set(root(branch), root(out));
  });
  // Backward runs the layers in reverse: a gradient is written by its activation's readers and
  // read by its producer. A shared buffer lives from its first write to its last read.
  const lastRead = new Map<string, number>(); // smallest layer index reading the group's gradient
  for (const layer of layers) {
    if (layer.kind === 'residual' || layer.out === logits) continue;
    const group = root(layer.out);
    lastRead.set(group, Math.min(lastRead.get(group) ?? Infinity, producer.get(layer.out)!));
  }
  const groupBuffer = new Map<string, number>();
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (layer.kind === 'residual') continue;
    for (const input of new Set(layerInputs(layer))) {
      const group = root(input);
      if (!groupBuffer.has(group)) {
        groupBuffer.set(group, take(width(input)));
        if (!overwritesInputGradient(layer)) clearBeforeBackward[i].push(groupBuffer.get(group)!);
      } else if (overwritesInputGradient(layer)) {
        throw new Error(`network: layer ${i} (${layer.kind}) writes the gradient of '${input}', which another layer has already added to`);
      }
      gradient.set(input, groupBuffer.get(group)!);
    }
    const outGroup = root(layer.out);
    if (layer.out !== logits && !groupBuffer.has(outGroup)) throw new Error(`network: nothing reads '${layer.out}', so it has no gradient`);
    if (lastRead.get(outGroup) === i) free.push(groupBuffer.get(outGroup)!);
  }
  for (const layer of layers) if (layer.out !== logits && groupBuffer.has(root(layer.out))) gradient.set(layer.out, groupBuffer.get(root(layer.out))!);
  return { widths, activation, gradient, clearBeforeBackward };
}
