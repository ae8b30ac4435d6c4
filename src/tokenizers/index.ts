/// <reference types="@webgpu/types" preserve="true" />
// The tokenizers, and saving one with a checkpoint: toJSON() gives plain data, tokenizerFromJSON
// rebuilds it (a published BPE table by name, { type: 'bpe', ranks: 'gpt2' }; any other whole).

import { TokenizerInputError } from '../errors.js';
import { BpeTokenizer, type BpeTokenizerJSON } from './bpe.js';
import { ByteTokenizer } from './bytes.js';
import { CharacterTokenizer, type CharacterTokenizerJSON } from './characters.js';
import { ListOpsTokenizer } from './listops.js';
import { MidiTokenizer } from './midi.js';
import { MuLawTokenizer } from './mulaw.js';
import { PixelTokenizer, type PixelLayout } from './pixels.js';
import { loadGpt2Ranks, ranksFromTiktoken } from './ranks.js';

export type TokenizerJSON =
  | CharacterTokenizerJSON
  | { type: 'bytes' }
  | BpeTokenizerJSON
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
    case 'bpe': {
      const bpe = data as Partial<{ ranks: string; table: string; specialTokens: Record<string, number>; addPrefixSpace: boolean }>;
      if (bpe.addPrefixSpace !== undefined && typeof bpe.addPrefixSpace !== 'boolean') throw new TokenizerInputError(`${what}: addPrefixSpace is ${JSON.stringify(bpe.addPrefixSpace)}, expected true or false`);
      const prefix = bpe.addPrefixSpace ? { addPrefixSpace: true } : {};
      if (typeof bpe.table === 'string') {
        const specials = bpe.specialTokens ?? {};
        if (typeof specials !== 'object' || Array.isArray(specials) || !Object.values(specials).every((id) => Number.isInteger(id) && id >= 0)) throw new TokenizerInputError(`${what}: specialTokens must map texts to ids`);
        return BpeTokenizer.create({ ...ranksFromTiktoken(bpe.table, specials, `${what} table`), ...prefix });
      }
      if (bpe.ranks !== 'gpt2') throw new TokenizerInputError(`${what}: unknown BPE table '${bpe.ranks}', expected 'gpt2' or a table of its own`);
      return BpeTokenizer.create({ ...(await loadGpt2Ranks()), ...prefix });
    }
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
export { trainBpe, bpeTokenizerJson, type BpeTrainOptions, type TrainedBpe } from './bpe_train.js';
export { readWav, writeWav, resample, mixToMono, type Audio } from '../audio/wav.js';
export { notesOf, encodeNotes, decodeNotes, writeNotesMidi, parseMidiFile, type Note } from './midi.js';
