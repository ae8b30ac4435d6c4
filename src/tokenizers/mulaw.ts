// 8-bit mu-law audio tokens (mu = 255, WaveNet's convention: 128 is silence) of 16 kHz mono.
// The companding loops run in AssemblyScript (mulawEncode / mulawDecode).

import { mixToMono, readWav, resample, writeWav } from '../audio/wav.js';
import { TokenizerInputError } from '../errors.js';
import { tokenizerRuntime, withScratch, type TokenizerRuntime } from './runtime.js';

export const MULAW_SAMPLE_RATE = 16000;

export class MuLawTokenizer {
  readonly kind = 'mulaw';
  readonly vocabSize = 256;
  private constructor(private readonly runtime: TokenizerRuntime) {}

  static async create(): Promise<MuLawTokenizer> {
    return new MuLawTokenizer(await tokenizerRuntime());
  }

  /** Samples in [-1, 1] (clipped beyond) to codes 0..255. */
  encode(samples: Float32Array): Uint32Array {
    if (!(samples instanceof Float32Array)) throw new TokenizerInputError('mu-law encode: expected a Float32Array of samples');
    return withScratch(this.runtime, (arena) => {
      const input = arena.put(samples);
      const out = arena.alloc(samples.length);
      this.runtime.kernels.mulawEncode(input, samples.length, out);
      return Uint32Array.from(arena.u8(out, samples.length));
    });
  }

  decode(ids: ArrayLike<number>): Float32Array {
    return withScratch(this.runtime, (arena) => {
      const codes = arena.alloc(ids.length);
      const view = arena.u8(codes, ids.length);
      for (let i = 0; i < ids.length; i++) {
        if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] > 255) throw new TokenizerInputError(`mu-law decode: token ${i} is ${ids[i]}, expected an integer in 0..255`);
        view[i] = ids[i];
      }
      const out = arena.alloc(4 * ids.length);
      this.runtime.kernels.mulawDecode(codes, ids.length, out);
      return arena.f32(out, ids.length).slice();
    });
  }

  /** A WAV file, mixed to mono and resampled to 16 kHz, as tokens. */
  encodeWav(bytes: Uint8Array, what = 'WAV'): Uint32Array {
    const audio = readWav(bytes, what);
    return this.encode(resample(mixToMono(audio), audio.sampleRate, MULAW_SAMPLE_RATE));
  }

  /** Tokens as a 16 kHz mono 16-bit WAV file. */
  decodeWav(ids: ArrayLike<number>): Uint8Array {
    return writeWav({ sampleRate: MULAW_SAMPLE_RATE, channels: [this.decode(ids)] });
  }

  toJSON() {
    return { type: 'mulaw' as const, sampleRate: MULAW_SAMPLE_RATE };
  }
}
