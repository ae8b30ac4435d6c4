// float32 <-> IEEE float16 and bfloat16, for checkpoints stored at half precision (as PyTorch
// saves them with .half() or .bfloat16()). Rounding is to nearest, ties to even, as the hardware
// and PyTorch do; values beyond float16's range become infinity, NaN stays NaN.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bits of `value`, rounded to nearest even. */
export function float16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // infinity or NaN
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: infinity
  if (e <= 0) {
    // a subnormal float16 (or zero): the mantissa with its implicit 1, shifted into place
    if (e < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - e;
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // a carry into the exponent is right, up to infinity
  return sign | half;
}

/** The value of float16 bits (exact: every float16 is a float32). */
export function float16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** The bfloat16 bits of `value` (the top half of its float32, rounded to nearest even). */
export function bfloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff; // NaN stays NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The value of bfloat16 bits (exact). */
export function bfloat16Value(bits: number): number {
  u32[0] = bits << 16;
  return f32[0];
}

export type HalfType = 'F16' | 'BF16';

/** Float32 values as half-precision bits. */
export function toHalf(values: Float32Array, type: HalfType): Uint16Array {
  const encode = type === 'F16' ? float16Bits : bfloat16Bits;
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = encode(values[i]);
  return out;
}

/** Half-precision bits as float32 values. */
export function fromHalf(bits: Uint16Array, type: HalfType): Float32Array {
  const decode = type === 'F16' ? float16Value : bfloat16Value;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = decode(bits[i]);
  return out;
}
