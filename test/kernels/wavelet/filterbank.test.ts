// The filter bank against the recursive definition of the Haar scaling coefficients:
// A_l[t] = (A_{l-1}[t] + A_{l-1}[t - 2^(l-1)]) / 2, A_0 = x, zero before t = 0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haarFilterBank, type ForwardFn } from '../../../src/kernels/wavelet/filterbank.js';
import { WasmWaveletOp } from '../../../src/kernels/wavelet/wasm.js';
import { assertClose, randomArray, seededRandom, wasmBackend } from '../../helpers.js';

function pairwiseHaar(signal: Float32Array, time: number, channels: number, levels: number): Float64Array[] {
  const out: Float64Array[] = [];
  let previous = Float64Array.from(signal);
  for (let level = 1; level <= levels; level++) {
    const half = 2 ** (level - 1);
    const next = new Float64Array(previous.length);
    for (let t = 0; t < time; t++) {
      for (let c = 0; c < channels; c++) {
        const earlier = t >= half ? previous[(t - half) * channels + c] : 0;
        next[t * channels + c] = (previous[t * channels + c] + earlier) / 2;
      }
    }
    out.push(next);
    previous = next;
  }
  return out;
}

test('approximations equal the pairwise Haar recursion; details add back up to the signal', async () => {
  const random = seededRandom(5);
  const [time, channels, levels] = [300, 3, 6];
  const signal = randomArray(time * channels, random);
  const expected = pairwiseHaar(signal, time, channels, levels);
  const wasm = await wasmBackend();
  const implementations: [string, ForwardFn | undefined][] = [
    ['reference', undefined],
    ['wasm', (plan, shape, x) => new WasmWaveletOp(wasm, plan).forward(shape, x)],
  ];
  for (const [name, forward] of implementations) {
    const bank = haarFilterBank(signal, time, channels, levels, forward);
    for (let l = 0; l < levels; l++) assertClose(bank.approximations[l], expected[l], 1e-6, `${name} level ${l + 1}`);
    // x = A_L + sum of details: the bank loses nothing.
    const rebuilt = bank.approximations[levels - 1].slice();
    for (const detail of bank.details) detail.forEach((d, i) => (rebuilt[i] += d));
    assertClose(rebuilt, signal, 1e-5, `${name} reconstruction`);
  }
});

test('level L of a constant signal is that constant once t >= 2^L - 1, and not before', () => {
  const time = 70;
  const signal = new Float32Array(time).fill(3.5);
  const { approximations } = haarFilterBank(signal, time, 1, 6);
  approximations.forEach((level, l) => {
    const settled = 2 ** (l + 1) - 1;
    for (let t = 0; t < time; t++) {
      if (t >= settled) assert.ok(Math.abs(level[t] - 3.5) < 1e-6, `level ${l + 1} t ${t}`);
      else assert.ok(level[t] < 3.5, `level ${l + 1} t ${t} still ramping`);
    }
  });
});

test('bad input: wrong length or levels out of range', () => {
  assert.throws(() => haarFilterBank(new Float32Array(10), 4, 3, 2), /expected 4 x 3 = 12 values.*found 10/);
  assert.throws(() => haarFilterBank(new Float32Array(12), 4, 3, 0), /levels must be an integer in 1..30, found 0/);
});

test.run();
