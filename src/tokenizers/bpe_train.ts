// Training a byte-level BPE on one's own text, as GPT-2's was made: the text split into words by
// GPT-2's pattern, each word a sequence of bytes; then, until the vocabulary is full, the most
// frequent adjacent pair of symbols (ties: the pair of smaller ids, as Hugging Face's trainer
// breaks them) becomes a new symbol everywhere. Ids 0-255 are the bytes; merge k makes id 256 + k,
// so ids are merge ranks, as the encoder needs (a merge whose bytes are a token already keeps that
// token's id and adds none). Pair counts are kept up to date incrementally
// (only the words holding the merged pair are recounted) with a lazy max-heap;
// trainBpeReference recounts everything each merge, the plain oracle the tests hold it to.

import { TokenizerInputError } from '../errors.js';
import { Heap } from '../heap.js';
import type { BpeRanks } from './bpe.js';
import { byteLevelCharacters } from './ranks.js';

/** GPT-2's pre-tokenization pattern (tiktoken's r50k `pat_str`). */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface BpeTrainOptions {
  /** Tokens in all: 256 bytes, the merges, and the special tokens. */
  vocabSize: number;
  /** Texts kept whole, given the last ids (default `<|endoftext|>`). */
  specialTokens?: string[];
  /** A pair seen fewer times than this is not merged (default 2). */
  minFrequency?: number;
}

export interface TrainedBpe {
  ranks: BpeRanks;
  /** The merges in order, as pairs of ids. */
  merges: [number, number][];
}

/** The distinct words of `text` (GPT-2's split, as bytes) with their counts. */
function wordCounts(text: string): { words: number[][]; counts: number[] } {
  const byWord = new Map<string, number>();
  for (const match of text.matchAll(GPT2_SPLIT)) byWord.set(match[0], (byWord.get(match[0]) ?? 0) + 1);
  const encoder = new TextEncoder();
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [word, count] of byWord) {
    words.push(Array.from(encoder.encode(word)));
    counts.push(count);
  }
  return { words, counts };
}

function checkOptions(text: string, options: BpeTrainOptions): Required<BpeTrainOptions> {
  const specialTokens = options.specialTokens ?? ['<|endoftext|>'];
  const minFrequency = options.minFrequency ?? 2;
  if (typeof text !== 'string' || text.length === 0) throw new TokenizerInputError('BPE training: the text is empty');
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < 256 + specialTokens.length || options.vocabSize > 2 ** 20) {
    throw new TokenizerInputError(`BPE training: vocabSize must be an integer from ${256 + specialTokens.length} (the bytes and the special tokens) to ${2 ** 20}, found ${options.vocabSize}`);
  }
  if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new TokenizerInputError(`BPE training: minFrequency must be an integer >= 1, found ${minFrequency}`);
  return { vocabSize: options.vocabSize, specialTokens, minFrequency };
}

/** The ranks of the trained table: bytes, then merged tokens, then the special tokens. */
function ranksOf(merges: [number, number][], specialTokens: string[]): TrainedBpe {
  const tokens: Uint8Array[] = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
  for (const [a, b] of merges) tokens.push(Uint8Array.from([...tokens[a], ...tokens[b]]));
  const special: Record<string, number> = {};
  specialTokens.forEach((text, i) => (special[text] = tokens.length + i));
  return { ranks: { tokens, specialTokens: special }, merges };
}

const key = (a: number, b: number) => a * 2 ** 21 + b; // ids below 2^20: exact in a double

/**
 * The id a merge of (a, b) makes: a new one (recorded in `merges`), or, where the joined bytes are
 * a token already (a + bc after ab + c), that token's: the encoder ranks a pair by its joined bytes,
 * so one byte string has one id, and ids stay merge ranks.
 */
function tokenIds(merges: [number, number][]): (a: number, b: number) => number {
  const bytes: string[] = Array.from({ length: 256 }, (_, b) => String.fromCharCode(b));
  const known = new Map(bytes.map((text, id) => [text, id]));
  return (a, b) => {
    const joined = bytes[a] + bytes[b];
    const existing = known.get(joined);
    if (existing !== undefined) return existing;
    const id = 256 + merges.length;
    merges.push([a, b]);
    bytes.push(joined);
    known.set(joined, id);
    return id;
  };
}

/** Trains a byte-level BPE on `text`: the fast trainer (incremental counts). */
export function trainBpe(text: string, options: BpeTrainOptions): TrainedBpe {
  const { vocabSize, specialTokens, minFrequency } = checkOptions(text, options);
  const { words, counts } = wordCounts(text);
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>(); // pair -> words holding it
  const addPairs = (w: number, sign: number) => {
    const word = words[w];
    for (let i = 0; i + 1 < word.length; i++) {
      const k = key(word[i], word[i + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * counts[w]);
      if (sign > 0) {
        let set = where.get(k);
        if (!set) where.set(k, (set = new Set()));
        set.add(w);
      }
    }
  };
  words.forEach((_, w) => addPairs(w, 1));
  // A max-heap of [count, pair]; entries go stale as counts change and are checked when popped.
  const heap = new Heap<[number, number]>((x, y) => x[0] > y[0] || (x[0] === y[0] && x[1] < y[1]));
  for (const [k, count] of pairCount) heap.push([count, k]);
  const merges: [number, number][] = [];
  const idOf = tokenIds(merges);
  const target = vocabSize - specialTokens.length;
  while (256 + merges.length < target) {
    let entry = heap.pop();
    while (entry && pairCount.get(entry[1]) !== entry[0]) entry = heap.pop(); // stale
    if (!entry || entry[0] < minFrequency) break;
    const k = entry[1];
    const [a, b] = [Math.floor(k / 2 ** 21), k % 2 ** 21];
    const id = idOf(a, b);
    const touched = new Set<number>();
    for (const w of where.get(k) ?? []) {
      const word = words[w];
      let holds = false;
      for (let i = 0; i + 1 < word.length; i++) if (word[i] === a && word[i + 1] === b) holds = true;
      if (!holds) continue;
      for (let i = 0; i + 1 < word.length; i++) touched.add(key(word[i], word[i + 1])); // lowered: their heap entries go stale
      addPairs(w, -1);
      const merged: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          merged.push(id);
          i++;
        } else merged.push(word[i]);
      }
      words[w] = merged;
      addPairs(w, 1);
      for (let i = 0; i + 1 < merged.length; i++) touched.add(key(merged[i], merged[i + 1]));
      touched.add(k);
    }
    where.delete(k);
    pairCount.delete(k);
    for (const t of touched) {
      const count = pairCount.get(t);
      if (count !== undefined && count > 0) heap.push([count, t]);
    }
  }
  return ranksOf(merges, specialTokens);
}

/** The same training, plainly: every pair recounted over every word at each merge. The tests' oracle. */
export function trainBpeReference(text: string, options: BpeTrainOptions): TrainedBpe {
  const { vocabSize, specialTokens, minFrequency } = checkOptions(text, options);
  const { words, counts } = wordCounts(text);
  const merges: [number, number][] = [];
  const idOf = tokenIds(merges);
  while (256 + merges.length < vocabSize - specialTokens.length) {
    const pairs = new Map<string, number>();
    words.forEach((word, w) => {
      for (let i = 0; i + 1 < word.length; i++) pairs.set(`${word[i]},${word[i + 1]}`, (pairs.get(`${word[i]},${word[i + 1]}`) ?? 0) + counts[w]);
    });
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [pair, count] of pairs) {
      const [a, b] = pair.split(',').map(Number) as [number, number];
      if (count > bestCount || (count === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) [best, bestCount] = [[a, b], count];
    }
    if (!best || bestCount < minFrequency) break;
    const id = idOf(best[0], best[1]);
    for (let w = 0; w < words.length; w++) {
      const merged: number[] = [];
      for (let i = 0; i < words[w].length; i++) {
        if (i + 1 < words[w].length && words[w][i] === best[0] && words[w][i + 1] === best[1]) {
          merged.push(id);
          i++;
        } else merged.push(words[w][i]);
      }
      words[w] = merged;
    }
  }
  return ranksOf(merges, specialTokens);
}

/** A Hugging Face tokenizer.json of a trained table: GPT-2's pipeline, the vocabulary and merges. */
export function bpeTokenizerJson({ ranks, merges }: TrainedBpe): string {
  const chars = byteLevelCharacters();
  const text = (id: number) => Array.from(ranks.tokens[id], (b) => chars[b]).join('');
  const vocab: Record<string, number> = {};
  ranks.tokens.forEach((_, id) => (vocab[text(id)] = id));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return JSON.stringify({
    version: '1.0',
    added_tokens: Object.entries(ranks.specialTokens).map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: merges.map(([a, b]) => [text(a), text(b)]) },
  }, null, 1);
}
