// ONNX's messages (onnx/onnx.proto; field numbers from there), written with protobuf.ts: a model
// of one graph, its nodes with attributes, float32 and int64 initializers, and typed inputs and
// outputs whose dimensions are numbers or names (batch, time).

import { ProtoMessage } from './protobuf.js';

export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;
/** ONNX's IR version and the default domain's operator set these graphs use. */
export const IR_VERSION = 8;
export const OPSET = 17;

export type Attribute = number | number[] | string | { floats: number[] };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, Attribute>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface OnnxValue {
  name: string;
  type: typeof ONNX_FLOAT | typeof ONNX_INT64;
  dims: (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  doc?: string;
}

function attribute(name: string, value: Attribute): ProtoMessage {
  const a = new ProtoMessage().string(1, name);
  if (typeof value === 'string') return a.string(4, value).int(20, 3);
  if (Array.isArray(value)) return a.ints(8, value).int(20, 7);
  if (typeof value === 'object') {
    for (const f of value.floats) a.float(7, f);
    return a.int(20, 6);
  }
  return Number.isInteger(value) ? a.int(3, value).int(20, 2) : a.float(2, value).int(20, 1);
}

function tensor(t: OnnxInitializer): ProtoMessage {
  const m = new ProtoMessage().ints(1, t.dims).int(2, t.data instanceof Float32Array ? ONNX_FLOAT : ONNX_INT64).string(8, t.name);
  // raw_data is little-endian, as typed arrays are on every platform this runs on.
  return m.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function valueInfo(v: OnnxValue): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new ProtoMessage().int(1, d) : new ProtoMessage().string(2, d));
  const tensorType = new ProtoMessage().int(1, v.type).message(2, shape);
  return new ProtoMessage().string(1, v.name).message(2, new ProtoMessage().message(1, tensorType));
}

function node(n: OnnxNode, index: number): ProtoMessage {
  const m = new ProtoMessage();
  for (const input of n.inputs) m.string(1, input);
  for (const output of n.outputs) m.string(2, output);
  m.string(3, `${n.op}_${index}`).string(4, n.op);
  for (const [name, value] of Object.entries(n.attributes ?? {})) m.message(5, attribute(name, value));
  return m;
}

/** The bytes of a .onnx file holding `graph`. */
export function onnxModel(graph: OnnxGraph, producerVersion: string): Uint8Array {
  const g = new ProtoMessage();
  graph.nodes.forEach((n, i) => g.message(1, node(n, i)));
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, tensor(t));
  if (graph.doc) g.string(10, graph.doc);
  for (const v of graph.inputs) g.message(11, valueInfo(v));
  for (const v of graph.outputs) g.message(12, valueInfo(v));
  return new ProtoMessage()
    .int(1, IR_VERSION)
    .string(2, 'wavelet-gpt')
    .string(3, producerVersion)
    .message(7, g)
    .message(8, new ProtoMessage().string(1, '').int(2, OPSET))
    .finish();
}
