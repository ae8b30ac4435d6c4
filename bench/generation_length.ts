// Benchmark of generation against its length: microseconds a token over the first 4,000 tokens
// and over tokens 36,000 to 40,000 of one continuation, with a character vocabulary (84) and
// GPT-2's (50,257: the sampler's cost shows). Linear generation keeps the ratio near 1; before
// decoding became incremental and sampling a selection, the text was decoded again at every
// token and 50,257 logits sorted (101 us a token at 4 k, 669 us at 40 k). The anchor is the same
// continuation's first 4,000 tokens, in the same run. Prints JSON with the machine.
// usage: node --import tsx bench/generation_length.ts [--tokens 40000] [--out FILE]

import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { WaveletModel } from '../src/infer/model.js';
import { checkConfig } from '../src/model/config.js';
import { initialParameters, parameterLayout } from '../src/model/parameters.js';
import { emptyOptimizerState } from '../src/kernels/optimizer/ref.js';
import { CharacterTokenizer } from '../src/tokenizers/characters.js';
import { gpt2Tokenizer } from '../src/tokenizers/index.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { printReport } from './report.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const total = Number(option('--tokens', '40000'));
const WINDOW = 4000;

async function measure(name: string, tokenizer: { vocabSize: number; toJSON(): unknown }, topK: number) {
  const dir = mkdtempSync(join(tmpdir(), `wavelet-gpt-length-${name}-`));
  const config = checkConfig({ vocabSize: tokenizer.vocabSize, context: 64, layers: 2, width: 32, heads: 4, feedForward: 64, headDense: 0, wavelet: { form: 'haar' } });
  const layout = parameterLayout(config);
  saveCheckpoint(dir, { config, tokenizer: tokenizer.toJSON(), parameters: initialParameters(config, layout, 1), optimizer: emptyOptimizerState('adamw', layout.count), training: { step: 0, samplerState: 0, plateau: null, settings: {} } });
  const model = await WaveletModel.load(dir, { backend: 'wasm' });
  const stamps: number[] = [];
  let characters = 0;
  for await (const token of model.generate('the', { maxTokens: total, temperature: 1, topK, seed: 1 })) {
    stamps.push(performance.now());
    characters += token.text.length;
  }
  model.dispose();
  const perToken = (from: number, to: number) => ((stamps[to - 1] - stamps[from]) / (to - 1 - from)) * 1e3;
  const first = perToken(0, WINDOW);
  const last = perToken(total - WINDOW, total);
  return { vocabulary: tokenizer.vocabSize, top_k: topK, tokens: total, characters, us_per_token_first_4k: +first.toFixed(1), us_per_token_last_4k: +last.toFixed(1), ratio_last_to_first: +(last / first).toFixed(2) };
}

const result = {
  benchmark: 'generation_length',
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
  model: '2 layers x 32, context 64 (the window slides), wasm decoder, random weights',
  characters: await measure('characters', await CharacterTokenizer.fromCorpus('abcdefghijklmnopqrstuvwxyz .,;\n'), 0),
  gpt2_all_tokens: await measure('gpt2', await gpt2Tokenizer(), 0),
  gpt2_top_k_40: await measure('gpt2-topk', await gpt2Tokenizer(), 40),
};
printReport(result, option('--out', ''));
