// Per-symbol tokenizers: characters (a vocabulary of code points, looked up through a two-level
// table like the Unicode classes) and 8-bit mu-law audio.

/** Code point of the UTF-8 sequence at p, and its width through `width`. Input is valid UTF-8. */
let width: i32 = 1;
@inline
function codePointAt(text: usize, p: i32): u32 {
  const b0 = <u32>load<u8>(text + p);
  if (b0 < 0x80) {
    width = 1;
    return b0;
  }
  if (b0 < 0xe0) {
    width = 2;
    return ((b0 & 0x1f) << 6) | (<u32>load<u8>(text + p + 1) & 0x3f);
  }
  if (b0 < 0xf0) {
    width = 3;
    return ((b0 & 0x0f) << 12) | ((<u32>load<u8>(text + p + 1) & 0x3f) << 6) | (<u32>load<u8>(text + p + 2) & 0x3f);
  }
  width = 4;
  return ((b0 & 0x07) << 18) | ((<u32>load<u8>(text + p + 1) & 0x3f) << 12) | ((<u32>load<u8>(text + p + 2) & 0x3f) << 6) | (<u32>load<u8>(text + p + 3) & 0x3f);
}

/**
 * Maps each character of UTF-8 text[0 .. length) to its id: pages[firstLevel[cp >> 8] * 256 + (cp & 255)],
 * -1 meaning not in the vocabulary, which becomes `unknown` if that is >= 0. Returns the number
 * of ids written, or -1 - (byte offset) of the first character with no id when unknown < 0.
 */
export function encodeCharacters(text: usize, length: i32, firstLevel: usize, pages: usize, unknown: i32, out: usize): i32 {
  let written = 0;
  let p = 0;
  while (p < length) {
    const cp = codePointAt(text, p);
    let id = load<i32>(pages + ((<usize>load<u16>(firstLevel + ((<usize>cp >> 8) << 1)) << 8) + (cp & 255)) * 4);
    if (id < 0) {
      if (unknown < 0) return -1 - p;
      id = unknown;
    }
    store<i32>(out + (<usize>written << 2), id);
    written++;
    p += width;
  }
  return written;
}

// Companding in float64: a float32 log moves codes that lie near a step boundary.
const MU: f64 = 255;
const LOG1P_MU: f64 = 5.545177444479562; // ln(256)

/** 8-bit mu-law (mu = 255, WaveNet): x in [-1, 1] (clipped) to 0..255, with 128 at silence. */
export function mulawEncode(samples: usize, count: i32, out: usize): void {
  for (let i = 0; i < count; i++) {
    const x = max<f64>(-1, min<f64>(1, <f64>load<f32>(samples + (<usize>i << 2))));
    const y = copysign<f64>(Math.log1p(MU * Math.abs(x)) / LOG1P_MU, x);
    store<u8>(out + i, <u8>Math.floor(((y + 1) / 2) * MU + 0.5));
  }
}

/** The inverse of mulawEncode, to the centre of each quantisation step. */
export function mulawDecode(codes: usize, count: i32, out: usize): void {
  for (let i = 0; i < count; i++) {
    const y = (2 * <f64>load<u8>(codes + i)) / MU - 1;
    store<f32>(out + (<usize>i << 2), <f32>copysign<f64>(Math.expm1(LOG1P_MU * Math.abs(y)) / MU, y));
  }
}
