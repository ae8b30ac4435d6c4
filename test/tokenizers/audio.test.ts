// Mu-law against its formula, WAV files written then read, the resampler against sines, and
// real speech from Debian's espeak-ng through the whole trip.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenizerInputError } from '../../src/errors.js';
import { MuLawTokenizer, readWav, resample, writeWav } from '../../src/tokenizers/index.js';

const MU = 255;
const compand = (x: number) => (Math.sign(x) * Math.log1p(MU * Math.abs(x))) / Math.log1p(MU);

test('mu-law: codes follow the formula, 128 is silence, decode is within half a step in the companded domain', async () => {
  const tokenizer = await MuLawTokenizer.create();
  const samples = Float32Array.from({ length: 20001 }, (_, i) => -1 + i / 10000);
  const codes = tokenizer.encode(samples);
  const decoded = tokenizer.decode(codes);
  let ties = 0;
  samples.forEach((x, i) => {
    const exact = ((compand(x) + 1) / 2) * MU + 0.5;
    if (Math.abs(exact - Math.round(exact)) < 1e-3) ties++;
    else assert.is(codes[i], Math.floor(exact), `code of ${x}`);
    assert.ok(Math.abs(compand(decoded[i]) - compand(x)) <= 1 / MU + 1e-5, `decoded ${x} -> ${decoded[i]}`);
  });
  assert.ok(ties < 50, `${ties} samples at a rounding tie`);
  assert.is(tokenizer.encode(Float32Array.of(0))[0], 128);
  assert.equal(Array.from(tokenizer.encode(Float32Array.of(-5, 5))), [0, 255], 'clipped');
  assert.throws(() => tokenizer.decode([256]), /token 0 is 256/);
});

test('WAV: 16-bit and float files written then read give the same samples; stereo and 8/24-bit read', () => {
  const left = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 7) * 0.8);
  const right = left.map((v) => -v / 2);
  const asFloat = readWav(writeWav({ sampleRate: 22050, channels: [left, right] }, 'float32'));
  assert.is(asFloat.sampleRate, 22050);
  assert.equal(Array.from(asFloat.channels[0]), Array.from(left));
  assert.equal(Array.from(asFloat.channels[1]), Array.from(right));
  const asPcm = readWav(writeWav({ sampleRate: 16000, channels: [left] }));
  asPcm.channels[0].forEach((v, i) => assert.ok(Math.abs(v - left[i]) <= 1 / 32767, `sample ${i}`));
});

test('resampling keeps a tone below the new Nyquist and removes one above it', () => {
  const from = 22050;
  const tone = (hz: number) => Float32Array.from({ length: from }, (_, i) => Math.sin((2 * Math.PI * hz * i) / from));
  const rms = (x: Float32Array) => Math.sqrt(x.slice(1000, -1000).reduce((s, v) => s + v * v, 0) / (x.length - 2000));
  const kept = resample(tone(1000), from, 16000);
  assert.is(kept.length, 16000);
  assert.ok(Math.abs(rms(kept) - Math.SQRT1_2) < 0.01, `1 kHz rms ${rms(kept)}`);
  const expected = Float32Array.from({ length: 16000 }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / 16000));
  assert.ok(kept.slice(1000, -1000).every((v, i) => Math.abs(v - expected[i + 1000]) < 0.01), '1 kHz in phase');
  assert.ok(rms(resample(tone(10000), from, 16000)) < 0.02, '10 kHz (above 8 kHz) is filtered out, not aliased');
});

test('real speech (espeak-ng) survives WAV -> 16 kHz mu-law tokens -> audio', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-speech-'));
  const path = join(dir, 'speech.wav');
  execFileSync('espeak-ng', ['-w', path, 'Call me Ishmael. Some years ago, never mind how long precisely.']);
  const bytes = readFileSync(path);
  const tokenizer = await MuLawTokenizer.create();
  const ids = tokenizer.encodeWav(bytes, path);
  const original = readWav(bytes);
  const reference = resample(original.channels[0], original.sampleRate, 16000);
  assert.is(ids.length, reference.length);
  const back = readWav(tokenizer.decodeWav(ids)).channels[0];
  let signal = 0;
  let noise = 0;
  reference.forEach((v, i) => {
    signal += v * v;
    noise += (v - back[i]) ** 2;
  });
  const snr = 10 * Math.log10(signal / noise);
  assert.ok(snr > 25, `speech SNR ${snr.toFixed(1)} dB after mu-law`);
  assert.ok(ids.some((id) => id < 100) && ids.some((id) => id > 156), 'the speech is loud enough to use the range');
});

test('bad WAVs: truncated, not WAV, another encoding', () => {
  const good = writeWav({ sampleRate: 16000, channels: [new Float32Array(100)] });
  assert.throws(() => readWav(good.subarray(0, 60), 'cut.wav'), (e: Error) => e instanceof TokenizerInputError && /cut.wav: truncated: the data chunk declares 200 bytes, 16 are there/.test(e.message));
  assert.throws(() => readWav(good.subarray(0, 30), 'short.wav'), /short.wav: the fmt chunk is cut short/);
  assert.throws(() => readWav(new TextEncoder().encode('ID3 this is an mp3 file'), 'song.mp3'), /song.mp3: not a WAV file/);
  const alaw = good.slice();
  new DataView(alaw.buffer).setUint16(20, 6, true); // A-law
  assert.throws(() => readWav(alaw, 'alaw.wav'), /alaw.wav: unsupported encoding \(format 6, 16 bits\)/);
  // A rate that would make thousands of tokens of each byte is refused; the bounds themselves read.
  assert.throws(() => readWav(writeWav({ sampleRate: 1, channels: [new Float32Array(1000)] }), 'slow.wav'), (e: Error) => e instanceof TokenizerInputError && /slow.wav: a sample rate of 1 Hz; expected 1,000 to 384,000 Hz/.test(e.message));
  assert.throws(() => readWav(writeWav({ sampleRate: 1_000_000, channels: [new Float32Array(10)] }), 'fast.wav'), /fast.wav: a sample rate of 1000000 Hz/);
  for (const sampleRate of [1000, 384000]) assert.is(readWav(writeWav({ sampleRate, channels: [new Float32Array(10)] })).sampleRate, sampleRate);
});

test.run();
