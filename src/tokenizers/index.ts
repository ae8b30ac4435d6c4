/// <reference types="@webgpu/types" preserve="true" />
// The tokenizers, and saving one with a checkpoint: toJSON() gives plain data, tokenizerFromJSON
// rebuilds it (BPE tables are named, not copied: { type: 'bpe', ranks: 'gpt2' }).

import { TokenizerInputError } from '../errors.js';
import { BpeTokenizer } from './bpe.js';
import { ByteTokenizer } from './bytes.js';
import { CharacterTokenizer, type CharacterTokenizerJSON } from './characters.js';
import { ListOpsTokenizer } from './listops.js';
import { MidiTokenizer } from './midi.js';
import { MuLawTokenizer } from './mulaw.js';
import { PixelTokenizer, type PixelLayout } from './pixels.js';
import { loadGpt2Ranks } from './ranks.js';

export type TokenizerJSON =
  | CharacterTokenizerJSON
  | { type: 'bytes' }
  | { type: 'bpe'; ranks: 'gpt2' }
  | { type: 'mulaw'; sampleRate: number }
  | { type: 'midi' }
  | { type: 'pixels'; layout: PixelLayout }
  | { type: 'listops' };

export type AnyTokenizer = CharacterTokenizer | ByteTokenizer | BpeTokenizer | MuLawTokenizer | MidiTokenizer | PixelTokenizer | ListOpsTokenizer;

/** GPT-2's BPE (r50k, 50,257 tokens). */
export async function gpt2Tokenizer(): Promise<BpeTokenizer> {
  return BpeTokenizer.create(await loadGpt2Ranks());
}

export async function tokenizerFromJSON(json: unknown, what = 'tokenizer'): Promise<AnyTokenizer> {
  const data = json as Partial<TokenizerJSON> | null;
  switch (data?.type) {
    case 'characters':
      return CharacterTokenizer.fromJSON(data as CharacterTokenizerJSON);
    case 'bytes':
      return new ByteTokenizer();
    case 'bpe':
      if ((data as { ranks?: string }).ranks !== 'gpt2') throw new TokenizerInputError(`${what}: unknown BPE table '${(data as { ranks?: string }).ranks}', expected 'gpt2'`);
      return gpt2Tokenizer();
    case 'mulaw':
      return MuLawTokenizer.create();
    case 'midi':
      return new MidiTokenizer();
    case 'pixels':
      return new PixelTokenizer((data as { layout: PixelLayout }).layout);
    case 'listops':
      return new ListOpsTokenizer();
    default:
      throw new TokenizerInputError(`${what}: expected an object with type characters, bytes, bpe, mulaw, midi, pixels or listops, found ${JSON.stringify(data)?.slice(0, 80)}`);
  }
}

export { BpeTokenizer, ByteTokenizer, CharacterTokenizer, ListOpsTokenizer, MidiTokenizer, MuLawTokenizer, PixelTokenizer };
export { text8Tokenizer, normalizeText8, TEXT8_SYMBOLS, UNKNOWN_CHARACTER } from './characters.js';
export { loadGpt2Ranks, ranksFromHuggingFace, ranksFromTiktoken, ranksFromPacked } from './ranks.js';
export { readWav, writeWav, resample, mixToMono, type Audio } from '../audio/wav.js';
export { notesOf, encodeNotes, decodeNotes, writeNotesMidi, parseMidiFile, type Note } from './midi.js';
