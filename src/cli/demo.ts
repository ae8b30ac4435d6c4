// `wavelet-gpt demo`: the causal Haar filter bank of WaveletGPT on the default text. Three
// indicator signals of the characters (letters, spaces, sentence ends) seen at levels 1..L:
// at level ~3 a word, at ~6 a sentence, at ~9 a paragraph. Runs on every backend found,
// checks that they agree, prints their times, and writes the picture as SVG.

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createWasmBackend } from '../runtime/wasm.js';
import { createWebGPUBackend } from '../runtime/webgpu.js';
import { defaultCorpusPath, defaultCorpusText } from '../data/corpus.js';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { haarFilterBank, haarLevelPlan, type ForwardFn } from '../kernels/wavelet/filterbank.js';
import { WasmWaveletOp } from '../kernels/wavelet/wasm.js';
import { WebGPUWaveletOp } from '../kernels/wavelet/webgpu.js';
import { lineChartSvg } from '../report/svg.js';
import type { Options } from './options.js';

const SIGNALS: [string, (ch: string) => boolean][] = [
  ['letters', (ch) => /\p{L}/u.test(ch)],
  ['spaces', (ch) => /\s/.test(ch)],
  ['sentence ends', (ch) => /[.!?]/.test(ch)],
];

function inRange(options: Options, name: string, max: number): number {
  const value = options.number(name);
  if (value < 1 || value > max) throw new WaveletInputError(`--${name}: expected an integer in 1..${max}, found ${value}`);
  return value;
}

export async function runDemo(options: Options): Promise<void> {
  const chars = inRange(options, 'chars', 1_000_000);
  const levels = inRange(options, 'levels', 20);
  const out = resolve(options.string('out')!);
  const text = [...defaultCorpusText()].slice(0, chars);
  console.log(`text: first ${text.length} characters of ${defaultCorpusPath()}`);
  const signal = new Float32Array(text.length * SIGNALS.length);
  text.forEach((ch, t) => SIGNALS.forEach(([, is], c) => (signal[t * SIGNALS.length + c] = is(ch) ? 1 : 0)));

  const forwards: [string, ForwardFn | undefined][] = [['js (reference)', undefined]];
  const wasm = await createWasmBackend();
  forwards.push(['wasm simd', (plan, shape, x) => new WasmWaveletOp(wasm, plan).forward(shape, x)]);
  const results = forwards.map(([name, forward]) => {
    const start = performance.now();
    const bank = haarFilterBank(signal, text.length, SIGNALS.length, levels, forward);
    return { name, bank, ms: performance.now() - start };
  });
  try {
    const gpu = await createWebGPUBackend();
    const start = performance.now();
    const approximations = [];
    for (let level = 1; level <= levels; level++) {
      const op = new WebGPUWaveletOp(gpu.device, haarLevelPlan(SIGNALS.length, level));
      approximations.push(await op.forward({ batch: 1, time: text.length, channels: SIGNALS.length }, signal));
    }
    results.push({ name: `webgpu (${gpu.adapter.description})`, bank: { approximations, details: [] }, ms: performance.now() - start });
  } catch (error) {
    console.log(`webgpu: not used (${(error as Error).message.split('\n')[0]})`);
  }
  const reference = results[0].bank.approximations;
  for (const { name, bank, ms } of results) {
    let worst = 0;
    bank.approximations.forEach((level, l) => level.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - reference[l][i])))));
    console.log(`${name.padEnd(40)} ${ms.toFixed(1).padStart(8)} ms   max |difference from reference| ${worst.toExponential(2)}`);
  }

  mkdirSync(out, { recursive: true });
  const shown = [2, 5, 8, levels].filter((l, i, all) => l <= levels && all.indexOf(l) === i);
  const svg = lineChartSvg(
    shown.map((level) => ({ name: `level ${level} (${2 ** level} chars)`, values: reference[level - 1].filter((_, i) => i % SIGNALS.length === 0) })),
    { title: `Causal Haar approximations of "is a letter" over the first ${text.length} characters of Moby-Dick`, xLabel: 'character', yLabel: 'fraction of the window' },
  );
  const path = join(out, 'filterbank.svg');
  writeFileAtomic(path, svg);
  console.log(`wrote ${path}`);
}
