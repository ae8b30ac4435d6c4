// The safetensors format: an 8-byte little-endian header length, a JSON header (each tensor's
// dtype, shape and byte range; string metadata under "__metadata__"), then the raw data.
// Tensors are float32 (F32), half precision (F16, BF16: read as float32) or, in int8-quantized
// checkpoints, int8 (I8); reading checks every offset before trusting it.

import { WaveletInputError } from '../errors.js';
import { fromHalf, toHalf, type HalfType } from './half.js';

export interface NamedTensor<Data extends Float32Array | Int8Array = Float32Array | Int8Array> {
  name: string;
  shape: number[];
  data: Data;
}

const DTYPES = { F32: Float32Array, I8: Int8Array, F16: Uint16Array, BF16: Uint16Array } as const;

/**
 * Writes tensors and string metadata. `floatType` stores the float32 tensors at half precision
 * (F16 or BF16, rounded to nearest even); they read back as float32.
 */
export function writeSafetensors(tensors: NamedTensor[], metadata: Record<string, string>, floatType: 'F32' | HalfType = 'F32'): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const stored = tensors.map((t) => ({ ...t, bytes: t.data instanceof Float32Array && floatType !== 'F32' ? toHalf(t.data, floatType) : t.data }));
  let offset = 0;
  for (const t of stored) {
    const dtype = t.data instanceof Int8Array ? 'I8' : floatType;
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.byteLength] };
    offset += t.bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // data starts 8-byte aligned
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of stored) {
    out.set(new Uint8Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength), at);
    at += t.bytes.byteLength;
  }
  return out;
}

export interface Safetensors {
  metadata: Record<string, string>;
  tensors: Map<string, NamedTensor>;
}

export function readSafetensors(bytes: Uint8Array, what = 'safetensors file'): Safetensors {
  if (bytes.length < 8) throw new WaveletInputError(`${what}: not a safetensors file (${bytes.length} bytes, shorter than its 8-byte header length)`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > 100_000_000 || 8 + headerLength > bytes.length) {
    throw new WaveletInputError(`${what}: not a safetensors file or truncated (header of ${headerLength} bytes declared, ${bytes.length - 8} bytes follow)`);
  }
  let header: Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw new WaveletInputError(`${what}: not a safetensors file (its header is not JSON: ${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new WaveletInputError(`${what}: not a safetensors file (its header is ${JSON.stringify(header)?.slice(0, 40)}, not an object of tensors)`);
  const metadata = header.__metadata__ ?? {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata) || Object.values(metadata).some((v) => typeof v !== 'string')) {
    throw new WaveletInputError(`${what}: its __metadata__ must be an object of strings`);
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, NamedTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (entry === null || typeof entry !== 'object') throw new WaveletInputError(`${what}: tensor '${name}' is ${JSON.stringify(entry)}, expected {dtype, shape, data_offsets}`);
    const { dtype, shape, data_offsets } = entry as { dtype?: string; shape?: unknown; data_offsets?: unknown };
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new WaveletInputError(`${what}: tensor '${name}' has shape ${JSON.stringify(shape)}, expected a list of integers >= 0`);
    if (!Array.isArray(data_offsets) || data_offsets.length !== 2 || !data_offsets.every(Number.isInteger)) throw new WaveletInputError(`${what}: tensor '${name}' has data_offsets ${JSON.stringify(data_offsets)}, expected [begin, end]`);
    if (dtype !== 'F32' && dtype !== 'I8' && dtype !== 'F16' && dtype !== 'BF16') throw new WaveletInputError(`${what}: tensor '${name}' has dtype ${dtype}, expected F32, F16, BF16 or I8`);
    const TypedArray = DTYPES[dtype];
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    const [begin, end] = data_offsets as [number, number];
    if (!(end - begin === TypedArray.BYTES_PER_ELEMENT * count) || begin < 0) throw new WaveletInputError(`${what}: tensor '${name}' of shape [${shape}] does not fit its byte range [${begin}, ${end})`);
    if (dataStart + end > bytes.length) throw new WaveletInputError(`${what}: truncated: tensor '${name}' ends at byte ${dataStart + end}, the file has ${bytes.length}`);
    const raw = new TypedArray(count);
    new Uint8Array(raw.buffer).set(bytes.subarray(dataStart + begin, dataStart + end));
    // half precision is widened to float32 on reading: every backend computes in float32
    const data = dtype === 'F16' || dtype === 'BF16' ? fromHalf(raw as Uint16Array, dtype) : (raw as Float32Array | Int8Array);
    tensors.set(name, { name, shape, data });
  }
  return { metadata: metadata as Record<string, string>, tensors };
}
