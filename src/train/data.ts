// Training text: read, tokenized, split into training and held-out validation tokens, and cut
// into random crops of the context length. Deterministic given the seed (the sampler's state is
// one number, saved in checkpoints).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { defaultCorpusPath } from '../data/corpus.js';
import { isDatasetDir, loadDataset, splitTokens, VALIDATION_FRACTION } from '../data/datasets.js';
import { WaveletInputError } from '../errors.js';
import { SeededRandom } from '../model/random.js';
import { IGNORED_TARGET } from '../kernels/gpt/ref.js';
import { ByteTokenizer } from '../tokenizers/bytes.js';
import { CharacterTokenizer } from '../tokenizers/characters.js';
import { BpeTokenizer } from '../tokenizers/bpe.js';
import { ranksFromHuggingFace } from '../tokenizers/ranks.js';
import { tokenizerFromJSON, type AnyTokenizer } from '../tokenizers/index.js';

/** Characters, bytes, or the path of a byte-level BPE's tokenizer.json (`wavelet-gpt tokenizer train` writes one). */
export type TextTokenizerKind = 'char' | 'byte' | string;
export type TextTokenizer = CharacterTokenizer | ByteTokenizer | BpeTokenizer;

export interface Corpus {
  path: string;
  /** A text tokenizer, or any other for a prepared dataset (src/data/datasets.ts). */
  tokenizer: AnyTokenizer;
  /** What one token is: character, token, sample, event. */
  symbol: string;
  train: Uint32Array;
  validation: Uint32Array;
  /** Classification (ListOps, MNIST): rows of this many inputs and a class; see src/data/datasets.ts. */
  exampleLength?: number;
}

export { VALIDATION_FRACTION };

export function readText(path: string | undefined): { path: string; text: string } {
  const file = path ?? defaultCorpusPath();
  if (!existsSync(file)) throw new WaveletInputError(`--data ${file}: no such file`);
  if (!statSync(file).isFile()) throw new WaveletInputError(`--data ${file}: not a file`);
  const text = readFileSync(file, 'utf8');
  if (text.length === 0) throw new WaveletInputError(`--data ${file}: the file is empty`);
  return { path: file, text };
}

/**
 * Tokenizes and splits a text. A saved tokenizer (from a checkpoint) is used as it is; otherwise
 * a character vocabulary is built from the whole text, with U+FFFD for characters it lacks.
 */
export async function loadCorpus(path: string | undefined, kind: TextTokenizerKind, context: number, savedTokenizer?: unknown): Promise<Corpus> {
  if (path && isDatasetDir(path)) {
    // A prepared dataset (wavelet-gpt data): its own tokenizer and split.
    const dataset = await loadDataset(path);
    const corpus = { path, tokenizer: dataset.tokenizer, symbol: dataset.symbol, train: dataset.train, validation: dataset.validation, exampleLength: dataset.exampleLength };
    if (dataset.exampleLength === undefined) return checkLength(corpus, dataset.train.length + dataset.validation.length, context);
    if (corpus.validation.length === 0 || corpus.train.length === 0) throw new WaveletInputError(`--data ${path}: a classification dataset with no training or no validation examples`);
    return corpus;
  }
  const { path: file, text } = readText(path);
  let tokenizer: TextTokenizer;
  if (savedTokenizer) {
    const restored = await tokenizerFromJSON(savedTokenizer, 'checkpoint tokenizer');
    if (!(restored instanceof CharacterTokenizer || restored instanceof ByteTokenizer || restored instanceof BpeTokenizer)) throw new WaveletInputError(`checkpoint tokenizer: expected a text tokenizer, found ${restored.kind}`);
    tokenizer = restored;
  } else if (kind === 'char') {
    tokenizer = await CharacterTokenizer.fromCorpus(text, 'replace');
  } else if (kind === 'byte') {
    tokenizer = new ByteTokenizer();
  } else if (typeof kind === 'string' && kind.endsWith('.json')) {
    if (!existsSync(kind)) throw new WaveletInputError(`--tokenizer ${kind}: no such file`);
    tokenizer = await BpeTokenizer.create(ranksFromHuggingFace(readFileSync(kind, 'utf8'), kind));
  } else {
    throw new WaveletInputError(`--tokenizer: expected char, byte or a tokenizer.json file, found '${kind}'`);
  }
  // The text as text: a special token's characters in it are encoded as characters.
  const tokens = tokenizer instanceof BpeTokenizer ? tokenizer.encode(text, { specialTokens: 'as-text' }) : tokenizer.encode(text);
  const symbol = tokenizer instanceof CharacterTokenizer ? 'character' : tokenizer instanceof ByteTokenizer ? 'byte' : 'token';
  return checkLength({ path: file, tokenizer, symbol, ...splitTokens(tokens) }, tokens.length, context);
}

function checkLength(corpus: Corpus, tokens: number, context: number): Corpus {
  const needed = context + 1;
  if (corpus.validation.length < needed) {
    throw new WaveletInputError(
      `--data ${corpus.path}: ${tokens} tokens are too few for a context of ${context}: ` +
        `its last ${Math.round(VALIDATION_FRACTION * 100)}% (validation) needs ${needed}, so the text needs about ${Math.ceil(needed / VALIDATION_FRACTION)} tokens; use a longer text or a smaller --context`,
    );
  }
  return corpus;
}

export interface Batch {
  tokens: Int32Array;
  targets: Int32Array;
}

/** B crops of T + 1 tokens starting at the given positions: inputs and next-token targets. */
function crops(source: Uint32Array, starts: number[], T: number): Batch {
  const tokens = new Int32Array(starts.length * T);
  const targets = new Int32Array(starts.length * T);
  starts.forEach((start, b) => {
    for (let t = 0; t < T; t++) {
      tokens[b * T + t] = source[start + t];
      targets[b * T + t] = source[start + t + 1];
    }
  });
  return { tokens, targets };
}

/** Classification rows (exampleLength inputs, then the class): the class is the last position's target, the others ignored (-1). */
function examples(source: Uint32Array, rows: number[], L: number): Batch {
  const tokens = new Int32Array(rows.length * L);
  const targets = new Int32Array(rows.length * L).fill(IGNORED_TARGET);
  rows.forEach((row, b) => {
    for (let t = 0; t < L; t++) tokens[b * L + t] = source[row * (L + 1) + t];
    targets[b * L + L - 1] = source[row * (L + 1) + L];
  });
  return { tokens, targets };
}

/** The batches of a corpus: random crops of a sequence, or random examples of a classification dataset. */
export function batchSampler(corpus: Corpus, B: number, T: number, random: SeededRandom): { next(): Batch; random: SeededRandom } {
  if (corpus.exampleLength === undefined) return new BatchSampler(corpus.train, B, T, random);
  const L = corpus.exampleLength;
  const rows = corpus.train.length / (L + 1);
  return { random, next: () => examples(corpus.train, Array.from({ length: B }, () => random.below(rows)), L) };
}

/** The held-out batches of a corpus: validationBatches for a sequence; for classification, examples spread evenly. */
export function corpusValidationBatches(corpus: Corpus, B: number, T: number, count: number): Batch[] {
  if (corpus.exampleLength === undefined) return validationBatches(corpus.validation, B, T, count);
  const L = corpus.exampleLength;
  const rows = corpus.validation.length / (L + 1);
  const total = Math.min(rows, B * count);
  const picked = Array.from({ length: total }, (_, i) => Math.floor((i * rows) / total));
  const batches: Batch[] = [];
  for (let k = 0; k + B <= total; k += B) batches.push(examples(corpus.validation, picked.slice(k, k + B), L));
  if (batches.length === 0) throw new WaveletInputError(`${corpus.path}: ${rows} validation examples, fewer than one batch of ${B}; use a smaller --batch`);
  return batches;
}

export class BatchSampler {
  constructor(private readonly source: Uint32Array, private readonly B: number, private readonly T: number, readonly random: SeededRandom) {}

  next(): Batch {
    const room = this.source.length - this.T - 1;
    return crops(this.source, Array.from({ length: this.B }, () => this.random.below(room + 1)), this.T);
  }
}

/** The same validation crops at every evaluation: `count` batches spread evenly over the held-out text. */
export function validationBatches(source: Uint32Array, B: number, T: number, count: number): Batch[] {
  const room = source.length - T - 1;
  const total = B * count;
  const starts = Array.from({ length: total }, (_, i) => Math.floor((i * room) / Math.max(1, total - 1)));
  return Array.from({ length: count }, (_, k) => crops(source, starts.slice(k * B, k * B + B), T));
}
