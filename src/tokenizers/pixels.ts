// 8-bit images as sequences of 256 symbols, row-major: channels interleaved (r g b r g b ...,
// pixel after pixel) or planar (all of r, then all of g, then all of b).

import { TokenizerInputError } from '../errors.js';

export type PixelLayout = 'interleaved' | 'planar';

export interface Image {
  width: number;
  height: number;
  channels: number;
  /** Row-major, channels interleaved, one byte a value. */
  data: Uint8Array;
}

export class PixelTokenizer {
  readonly kind = 'pixels';
  readonly vocabSize = 256;
  constructor(readonly layout: PixelLayout = 'interleaved') {
    if (layout !== 'interleaved' && layout !== 'planar') throw new TokenizerInputError(`pixels: layout must be 'interleaved' or 'planar', found '${layout}'`);
  }

  encode(image: Image): Uint32Array {
    const { width, height, channels, data } = image;
    for (const [name, value] of Object.entries({ width, height, channels })) {
      if (!Number.isInteger(value) || value < 1) throw new TokenizerInputError(`pixels: image ${name} must be a positive integer, found ${value}`);
    }
    if (!(data instanceof Uint8Array) || data.length !== width * height * channels) {
      throw new TokenizerInputError(`pixels: expected ${width} x ${height} x ${channels} = ${width * height * channels} bytes, found ${data?.length}`);
    }
    if (this.layout === 'interleaved' || channels === 1) return Uint32Array.from(data);
    const out = new Uint32Array(data.length);
    const plane = width * height;
    for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) out[c * plane + p] = data[p * channels + c];
    return out;
  }

  decode(ids: ArrayLike<number>, width: number, height: number, channels = 1): Image {
    if (ids.length !== width * height * channels) throw new TokenizerInputError(`pixels decode: expected ${width * height * channels} tokens for ${width} x ${height} x ${channels}, found ${ids.length}`);
    const data = new Uint8Array(ids.length);
    const plane = width * height;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id > 255) throw new TokenizerInputError(`pixels decode: token ${i} is ${id}, expected an integer in 0..255`);
      const at = this.layout === 'interleaved' || channels === 1 ? i : (i % plane) * channels + Math.floor(i / plane);
      data[at] = id;
    }
    return { width, height, channels, data };
  }

  toJSON() {
    return { type: 'pixels' as const, layout: this.layout };
  }
}
