// `wavelet-gpt tokenizer train`: a byte-level BPE trained on one's own text (tokenizers/bpe_train.ts),
// written as a Hugging Face tokenizer.json that `train --tokenizer FILE.json` reads.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { bpeTokenizerJson, trainBpe } from '../tokenizers/bpe_train.js';
import { flagsUsage, type Flag, type Options } from './options.js';

export const TOKENIZER_FLAGS: readonly Flag[] = [
  { name: 'data', value: 'FILE', help: 'required: the text to learn the merges from' },
  { name: 'vocab-size', value: 'V', type: 'integer', min: 257, default: 4096, help: 'tokens in all: 256 bytes, the merges, <|endoftext|>' },
  { name: 'min-frequency', value: 'N', type: 'integer', min: 1, default: 2, help: 'a pair seen fewer times is not merged' },
  { name: 'out', value: 'FILE', help: 'required: the tokenizer.json to write' },
];

export const TOKENIZER_USAGE = flagsUsage(
  'tokenizer train --data FILE --out FILE.json [options]',
  "trains a byte-level BPE (GPT-2's split, the most frequent pair merged until the vocabulary is\nfull) and writes a Hugging Face tokenizer.json; train --tokenizer FILE.json uses it",
  TOKENIZER_FLAGS,
);

export async function runTokenizer(subcommand: string | undefined, options: Options): Promise<void> {
  if (subcommand !== 'train') throw new WaveletInputError(`tokenizer: expected the subcommand train, found ${subcommand === undefined ? 'none' : `'${subcommand}'`}`);
  const [data, out] = [options.string('data'), options.string('out')];
  if (!data || !out) throw new WaveletInputError('tokenizer train: --data FILE and --out FILE are required');
  if (!existsSync(data) || !statSync(data).isFile()) throw new WaveletInputError(`--data ${data}: no such file`);
  if (!existsSync(dirname(resolve(out)))) throw new WaveletInputError(`--out ${out}: the folder ${dirname(out)} does not exist`);
  const text = readFileSync(data, 'utf8');
  const started = performance.now();
  const trained = trainBpe(text, { vocabSize: options.number('vocab-size'), minFrequency: options.number('min-frequency') });
  writeFileAtomic(out, bpeTokenizerJson(trained));
  const tokens = trained.ranks.tokens.length + Object.keys(trained.ranks.specialTokens).length;
  console.error(`${trained.merges.length} merges in ${((performance.now() - started) / 1e3).toFixed(1)} s: ${tokens} tokens (256 bytes, the merges, <|endoftext|>); wrote ${out}`);
}
