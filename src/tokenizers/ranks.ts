// Rank tables for byte-level BPE, from where they are published: the r50k (GPT-2) table that the
// npm package js-tiktoken ships, tiktoken's own text format, and Hugging Face tokenizer.json files.

import { TokenizerInputError } from '../errors.js';
import type { BpeRanks } from './bpe.js';

function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * js-tiktoken's packed table: lines of `<anything> <first rank> <base64 token> <base64 token> ...`,
 * consecutive tokens taking consecutive ranks.
 */
export function ranksFromPacked(packed: string, specialTokens: Record<string, number>, what = 'rank table'): BpeRanks {
  const tokens: Uint8Array[] = [];
  for (const [n, line] of packed.split('\n').entries()) {
    if (!line) continue;
    const [, first, ...encoded] = line.split(' ');
    const offset = Number(first);
    if (!Number.isInteger(offset) || offset < 0) throw new TokenizerInputError(`${what}: line ${n + 1}: expected a first rank, found '${first}'`);
    encoded.forEach((token, i) => (tokens[offset + i] = base64Bytes(token)));
  }
  return { tokens, specialTokens };
}

/** tiktoken's `.tiktoken` format: one `<base64 token> <rank>` a line. */
export function ranksFromTiktoken(text: string, specialTokens: Record<string, number> = {}, what = 'tiktoken file'): BpeRanks {
  const tokens: Uint8Array[] = [];
  for (const [n, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    const [token, rank] = line.split(' ');
    const id = Number(rank);
    if (!token || !Number.isInteger(id) || id < 0) throw new TokenizerInputError(`${what}: line ${n + 1}: expected '<base64 token> <rank>', found '${line.slice(0, 60)}'`);
    tokens[id] = base64Bytes(token);
  }
  return { tokens, specialTokens };
}

/** GPT-2's r50k_base (50,256 tokens and <|endoftext|> = 50256), from the js-tiktoken package (inlined into dist by the build). */
export async function loadGpt2Ranks(): Promise<BpeRanks> {
  const module = (await import('./gpt2_ranks.js')) as unknown as { default: { bpe_ranks: string; special_tokens: Record<string, number> } };
  const { bpe_ranks, special_tokens } = module.default;
  return { ...ranksFromPacked(bpe_ranks, special_tokens, 'js-tiktoken r50k_base'), name: 'gpt2' };
}

/** GPT-2's byte-to-character map (bytes_to_unicode), the character of each byte as tokenizer.json writes tokens: printable bytes stand for themselves, the rest from U+0100 on. */
export function byteLevelCharacters(): string[] {
  const direct = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let next = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(direct(b) ? b : 256 + next++);
  return out;
}

/** The same map read the other way: the byte of each character. */
function byteLevelAlphabet(): Map<string, number> {
  return new Map(byteLevelCharacters().map((character, byte) => [character, byte]));
}

/**
 * The fields of a tokenizer.json beyond the vocabulary and merges, each honoured or refused by
 * name: a field that would change the ids and that this tokenizer does not do must never be
 * ignored (a GPT-2 tokenizer.json with add_prefix_space: true once gave other ids, silently).
 * Honoured: GPT-2's pipeline (no normalizer, the ByteLevel pre-tokenizer with GPT-2's split and
 * with or without add_prefix_space, the ByteLevel decoder and post-processor, special added tokens).
 */
function checkTokenizerJsonFields(parsed: Record<string, unknown>, what: string): void {
  const refuse = (field: string, value: unknown, why: string) => {
    throw new TokenizerInputError(`${what}: ${field} ${JSON.stringify(value)?.slice(0, 80)} is not supported (${why}): its ids would differ from Hugging Face's`);
  };
  if (!parsed || typeof parsed !== 'object') return;
  if (parsed.normalizer != null) refuse('normalizer', parsed.normalizer, 'no normalization is applied here');
  const pre = parsed.pre_tokenizer as { type?: string; use_regex?: boolean; add_prefix_space?: unknown } | null | undefined;
  if (pre != null) {
    if (typeof pre !== 'object' || pre.type !== 'ByteLevel') refuse('pre_tokenizer', pre, "only GPT-2's ByteLevel pre-tokenizer is applied");
    if (pre.use_regex === false) refuse('pre_tokenizer.use_regex', false, "GPT-2's split is always applied");
    if (pre.add_prefix_space !== undefined && typeof pre.add_prefix_space !== 'boolean') refuse('pre_tokenizer.add_prefix_space', pre.add_prefix_space, 'expected true or false');
  }
  const decoder = parsed.decoder as { type?: string } | null | undefined;
  if (decoder != null && (typeof decoder !== 'object' || decoder.type !== 'ByteLevel')) refuse('decoder', decoder, 'only the ByteLevel decoder is applied');
  const post = parsed.post_processor as { type?: string } | null | undefined;
  if (post != null && (typeof post !== 'object' || post.type !== 'ByteLevel')) refuse('post_processor', post, 'no template (BOS/EOS tokens) is added');
  const model = parsed.model as Record<string, unknown> | undefined;
  if (model && typeof model === 'object') {
    if (model.dropout != null && model.dropout !== 0) refuse('model.dropout', model.dropout, 'merges are always applied');
    for (const field of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) if (model[field] != null && model[field] !== '') refuse(`model.${field}`, model[field], 'not a byte-level BPE feature');
    if (model.byte_fallback === true) refuse('model.byte_fallback', true, 'a byte-level BPE has every byte already');
    if (model.ignore_merges === true) refuse('model.ignore_merges', true, 'whole words are always merged, never looked up first');
  }
  const added = parsed.added_tokens;
  if (Array.isArray(added)) {
    for (const token of added as { content?: unknown; special?: unknown }[]) {
      if (token && typeof token === 'object' && token.special === false) refuse('added_tokens', token, 'a non-special added token would be matched before the merges');
    }
  }
}

/**
 * A Hugging Face tokenizer.json of a byte-level BPE model (GPT-2's, and its kind): token strings
 * in the byte-level alphabet are turned back into bytes, and ids serve as ranks, which is how
 * GPT-2's vocabulary is ordered (its merges in id order); a table whose merges disagree is refused.
 */
export function ranksFromHuggingFace(json: string, what = 'tokenizer.json'): BpeRanks {
  let parsed: { model?: { type?: string; vocab?: Record<string, number>; merges?: (string | string[])[] }; added_tokens?: { id: number; content: string; special?: boolean }[] };
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new TokenizerInputError(`${what}: not JSON (${(error as Error).message})`);
  }
  checkTokenizerJsonFields(parsed as Record<string, unknown>, what);
  const model = parsed?.model;
  if (!model || typeof model !== 'object' || model.type !== 'BPE' || !model.vocab || typeof model.vocab !== 'object' || Array.isArray(model.vocab)) {
    throw new TokenizerInputError(`${what}: expected a model of type 'BPE' with a vocab, found ${model && typeof model === 'object' ? `type '${model.type}'${model.vocab && typeof model.vocab === 'object' ? '' : ' without a vocab object'}` : 'no model'}`);
  }
  // Ids index an array: each a distinct integer below a bound no real vocabulary nears.
  const checkId = (id: unknown, where: string): number => {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= 2 ** 24) throw new TokenizerInputError(`${what}: ${where} has id ${JSON.stringify(id)}, expected an integer from 0 to ${2 ** 24 - 1}`);
    return id as number;
  };
  const alphabet = byteLevelAlphabet();
  const tokens: Uint8Array[] = [];
  for (const [text, id] of Object.entries(model.vocab)) {
    const bytes = Array.from(text, (ch) => {
      const b = alphabet.get(ch);
      if (b === undefined) throw new TokenizerInputError(`${what}: token '${text}' (id ${id}) is not in the byte-level alphabet: not a byte-level BPE`);
      return b;
    });
    const at = checkId(id, `token '${text}'`);
    if (tokens[at]) throw new TokenizerInputError(`${what}: token '${text}' has id ${at}, which another token has`);
    tokens[at] = Uint8Array.from(bytes);
  }
  const merges = model.merges ?? [];
  if (!Array.isArray(merges)) throw new TokenizerInputError(`${what}: model.merges is ${JSON.stringify(merges)?.slice(0, 40)}, expected a list`);
  let previous = -1;
  merges.forEach((merge, i) => {
    const pair = Array.isArray(merge) ? merge : typeof merge === 'string' ? merge.split(' ') : undefined;
    if (!pair || pair.length !== 2 || !pair.every((part) => typeof part === 'string')) throw new TokenizerInputError(`${what}: merge ${i} is ${JSON.stringify(merge)?.slice(0, 40)}, expected "left right" or ["left", "right"]`);
    const [left, right] = pair;
    const id = Object.hasOwn(model.vocab!, left + right) ? model.vocab![left + right] : undefined;
    if (id === undefined || id <= previous) {
      throw new TokenizerInputError(`${what}: merge ${i} ('${left}' '${right}') makes ${id === undefined ? 'no token' : `token ${id}, after token ${previous}`}: ids are not merge ranks`);
    }
    previous = id;
  });
  const added = parsed.added_tokens ?? [];
  if (!Array.isArray(added)) throw new TokenizerInputError(`${what}: added_tokens is ${JSON.stringify(added)?.slice(0, 40)}, expected a list`);
  const specialTokens: Record<string, number> = {};
  added.forEach((token, i) => {
    if (!token || typeof token !== 'object' || typeof token.content !== 'string') throw new TokenizerInputError(`${what}: added_tokens[${i}] is ${JSON.stringify(token)?.slice(0, 60)}, expected {"id", "content"}`);
    const id = checkId(token.id, `added token ${JSON.stringify(token.content)}`);
    if (token.special !== false) specialTokens[token.content] = id;
  });
  for (const id of Object.values(specialTokens)) delete tokens[id]; // never produced by merges
  const pre = (parsed as { pre_tokenizer?: { add_prefix_space?: boolean } | null }).pre_tokenizer;
  if (pre?.add_prefix_space === true) return { tokens, specialTokens, addPrefixSpace: true };
  return { tokens, specialTokens };
}
