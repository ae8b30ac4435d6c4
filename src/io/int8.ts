// Int8 weights for inference: each matrix (out x in) stored as int8 with one float32 scale per
// output row (per channel), w ~ q * scale, q = round(w / scale) in [-127, 127], scale = max|row| / 127.
// Vectors (biases, LayerNorm, the learnable taps) stay float32. A checkpoint of int8 weights is
// about a quarter of the float32 one; its weights are dequantized when loaded.

import type { ParameterLayout } from '../model/parameters.js';
import type { NamedTensor } from './safetensors.js';

export const SCALES_SUFFIX = '.scales';

/** The tensors of a model with its matrices int8 (each with `${name}.scales`). */
export function quantizeInt8(layout: ParameterLayout, params: Float32Array): NamedTensor[] {
  const out: NamedTensor[] = [];
  for (const t of layout.tensors) {
    const values = params.subarray(t.offset, t.offset + t.size);
    if (t.shape.length !== 2) {
      out.push({ name: t.name, shape: t.shape, data: values.slice() });
      continue;
    }
    const [rows, cols] = t.shape;
    const q = new Int8Array(t.size);
    const scales = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      let max = 0;
      for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(values[r * cols + c]));
      const scale = max / 127 || 1;
      scales[r] = scale;
      for (let c = 0; c < cols; c++) q[r * cols + c] = Math.round(values[r * cols + c] / scale);
    }
    out.push({ name: t.name, shape: t.shape, data: q }, { name: t.name + SCALES_SUFFIX, shape: [rows], data: scales });
  }
  return out;
}

/** float32 weights from an int8 tensor and its per-row scales. */
export function dequantizeInt8(q: Int8Array, scales: Float32Array, shape: number[]): Float32Array {
  const cols = q.length / shape[0];
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = q[i] * scales[Math.floor(i / cols)];
  return out;
}

/** The float32 weights that tensors from quantizeInt8 stand for. */
export function dequantizeTensors(layout: ParameterLayout, quantized: NamedTensor[]): Float32Array {
  const out = new Float32Array(layout.count);
  const tensors = new Map(quantized.map((t) => [t.name, t]));
  for (const t of layout.tensors) {
    const stored = tensors.get(t.name)!;
    out.set(stored.data instanceof Int8Array ? dequantizeInt8(stored.data, tensors.get(t.name + SCALES_SUFFIX)!.data as Float32Array, t.shape) : stored.data, t.offset);
  }
  return out;
}

/** The weights as an int8 checkpoint would give them back: the error quantization makes. */
export function roundTripInt8(layout: ParameterLayout, params: Float32Array): Float32Array {
  return dequantizeTensors(layout, quantizeInt8(layout, params));
}
