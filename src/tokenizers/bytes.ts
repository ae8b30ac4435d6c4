// UTF-8 bytes as tokens: 256 symbols, nothing unknown. The platform's TextEncoder and
// TextDecoder are the hot loops here (native code), so no wasm is involved.

import { TokenizerInputError } from '../errors.js';

export class ByteTokenizer {
  readonly kind = 'bytes';
  readonly vocabSize = 256;

  encode(text: string): Uint32Array {
    if (typeof text !== 'string') throw new TokenizerInputError(`encode: expected a string, found ${typeof text}`);
    return Uint32Array.from(new TextEncoder().encode(text));
  }

  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    const bytes = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id > 255) throw new TokenizerInputError(`decode: token ${i} is ${id}, expected an integer id in 0..255`);
      bytes[i] = id;
    }
    return bytes;
  }

  /** Invalid UTF-8 (a sequence cut short) decodes to U+FFFD, as TextDecoder does. */
  decode(ids: ArrayLike<number>): string {
    return new TextDecoder().decode(this.decodeBytes(ids));
  }

  streamDecoder(): { push(ids: ArrayLike<number>): string; flush(): string } {
    const decoder = new TextDecoder('utf-8');
    return { push: (ids) => decoder.decode(this.decodeBytes(ids), { stream: true }), flush: () => decoder.decode() };
  }

  toJSON() {
    return { type: 'bytes' as const };
  }
}
