// WAV files: read (PCM 8/16/24/32-bit integer, IEEE float 32/64, plain or WAVE_FORMAT_EXTENSIBLE)
// to float samples in [-1, 1]; write 16-bit PCM or 32-bit float; resample with a windowed sinc.

import { TokenizerInputError } from '../errors.js';

export interface Audio {
  sampleRate: number;
  /** One Float32Array per channel, samples in [-1, 1]. */
  channels: Float32Array[];
}

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;

/**
 * The sample rates read: telephone-band and below is 8 kHz, studio masters 384 kHz. Outside them a
 * file is damaged or hostile: resampled to 16 kHz, 1 Hz would make 16,000 tokens of each byte.
 */
export const MIN_SAMPLE_RATE = 1000;
export const MAX_SAMPLE_RATE = 384000;

export function readWav(bytes: Uint8Array, what = 'WAV'): Audio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new TokenizerInputError(`${what}: not a WAV file (no RIFF/WAVE header)`);
  let format: { code: number; channels: number; sampleRate: number; bits: number } | undefined;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > bytes.length) throw new TokenizerInputError(`${what}: the fmt chunk is cut short`);
      let code = view.getUint16(body, true);
      if (code === EXTENSIBLE && size >= 26) code = view.getUint16(body + 24, true); // the sub-format GUID's first two bytes
      format = { code, channels: view.getUint16(body + 2, true), sampleRate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (id === 'data') {
      if (!format) throw new TokenizerInputError(`${what}: the data chunk comes before any fmt chunk`);
      if (body + size > bytes.length) throw new TokenizerInputError(`${what}: truncated: the data chunk declares ${size} bytes, ${bytes.length - body} are there`);
      return decodeSamples(view, body, size, format, what);
    }
    at = body + size + (size & 1); // chunks are padded to even sizes
  }
  throw new TokenizerInputError(`${what}: truncated: ${format ? 'no data chunk' : 'no fmt chunk'} found`);
}

function decodeSamples(view: DataView, start: number, size: number, format: { code: number; channels: number; sampleRate: number; bits: number }, what: string): Audio {
  const { code, channels: count, sampleRate, bits } = format;
  const supported = (code === PCM && [8, 16, 24, 32].includes(bits)) || (code === IEEE_FLOAT && (bits === 32 || bits === 64));
  if (!supported) throw new TokenizerInputError(`${what}: unsupported encoding (format ${code}, ${bits} bits): expected PCM 8/16/24/32-bit or IEEE float 32/64-bit`);
  if (count < 1) throw new TokenizerInputError(`${what}: ${count} channels is not audio`);
  if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    throw new TokenizerInputError(`${what}: a sample rate of ${sampleRate} Hz; expected ${MIN_SAMPLE_RATE.toLocaleString('en')} to ${MAX_SAMPLE_RATE.toLocaleString('en')} Hz`);
  }
  const width = bits / 8;
  const frames = Math.floor(size / (width * count));
  const channels = Array.from({ length: count }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < count; c++) {
      const p = start + (i * count + c) * width;
      let value: number;
      if (code === IEEE_FLOAT) value = bits === 32 ? view.getFloat32(p, true) : view.getFloat64(p, true);
      else if (bits === 8) value = (view.getUint8(p) - 128) / 128;
      else if (bits === 16) value = view.getInt16(p, true) / 32768;
      else if (bits === 24) value = ((view.getUint8(p) | (view.getUint8(p + 1) << 8) | (view.getInt8(p + 2) << 16)) / 8388608);
      else value = view.getInt32(p, true) / 2147483648;
      channels[c][i] = value;
    }
  }
  return { sampleRate, channels };
}

/** A WAV file of the audio: 16-bit PCM (x 32768, as readWav divides, clipped) or 32-bit float. */
export function writeWav(audio: Audio, encoding: 'pcm16' | 'float32' = 'pcm16'): Uint8Array {
  const count = audio.channels.length;
  const frames = audio.channels[0]?.length ?? 0;
  const width = encoding === 'pcm16' ? 2 : 4;
  const dataSize = frames * count * width;
  const bytes = new Uint8Array(44 + dataSize);
  const view = new DataView(bytes.buffer);
  const text = (at: number, s: string) => [...s].forEach((ch, i) => (bytes[at + i] = ch.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, 36 + dataSize, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, encoding === 'pcm16' ? PCM : IEEE_FLOAT, true);
  view.setUint16(22, count, true);
  view.setUint32(24, audio.sampleRate, true);
  view.setUint32(28, audio.sampleRate * count * width, true);
  view.setUint16(32, count * width, true);
  view.setUint16(34, width * 8, true);
  text(36, 'data');
  view.setUint32(40, dataSize, true);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < count; c++) {
      const p = 44 + (i * count + c) * width;
      const v = audio.channels[c][i];
      if (encoding === 'pcm16') view.setInt16(p, Math.max(-32768, Math.min(32767, Math.round(v * 32768))), true);
      else view.setFloat32(p, v, true);
    }
  }
  return bytes;
}

/** The mean of the channels. */
export function mixToMono(audio: Audio): Float32Array {
  const [first, ...rest] = audio.channels;
  if (!rest.length) return first;
  return first.map((v, i) => (v + rest.reduce((s, ch) => s + ch[i], 0)) / audio.channels.length);
}

/**
 * Resamples with a Hann-windowed sinc low-pass at the lower of the two Nyquist frequencies
 * (16 zero crossings a side), so that downsampling does not alias.
 */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const ratio = to / from;
  const cutoff = Math.min(1, ratio); // relative to the input's Nyquist
  const half = Math.ceil(16 / cutoff);
  const out = new Float32Array(Math.floor(samples.length * ratio));
  for (let i = 0; i < out.length; i++) {
    const centre = i / ratio;
    const first = Math.max(0, Math.ceil(centre - half));
    const last = Math.min(samples.length - 1, Math.floor(centre + half));
    let sum = 0;
    for (let j = first; j <= last; j++) {
      const d = j - centre;
      const sinc = d === 0 ? 1 : Math.sin(Math.PI * cutoff * d) / (Math.PI * cutoff * d);
      const window = 0.5 + 0.5 * Math.cos((Math.PI * d) / (half + 1));
      sum += samples[j] * cutoff * sinc * window;
    }
    out[i] = sum;
  }
  return out;
}
