// Character-level tokenizers: a vocabulary of code points built from a corpus (with a policy for
// characters it lacks), and text8's 27 symbols (a-z and space) with text8's normalisation.
// Encoding runs in AssemblyScript (encodeCharacters) through a two-level code-point table.

import { TokenizerInputError } from '../errors.js';
import { tokenizerRuntime, withScratch, type TokenizerRuntime } from './runtime.js';

/** What encode does with a character outside the vocabulary. */
export type UnknownCharacterPolicy = 'error' | 'replace';

/** Stands for every unknown character under the 'replace' policy (id = the last of the vocabulary). */
export const UNKNOWN_CHARACTER = '\ufffd';

/** A normalisation applied before encoding: 'text8' (normalizeText8) or none. */
export type TextNormalization = 'none' | 'text8';

export interface CharacterTokenizerJSON {
  type: 'characters';
  symbols: string[];
  unknown: UnknownCharacterPolicy;
  normalization: TextNormalization;
}

export class CharacterTokenizer {
  readonly kind = 'characters';
  readonly vocabSize: number;
  private readonly firstLevel: number;
  private readonly pages: number;

  private constructor(
    private readonly runtime: TokenizerRuntime,
    readonly symbols: string[],
    readonly unknown: UnknownCharacterPolicy,
    readonly normalization: TextNormalization,
  ) {
    this.vocabSize = symbols.length;
    // Two-level table: page 0 is all -1, shared by every page with no symbol in it.
    const pageOf = new Map<number, number>();
    const codePoints = symbols.map((symbol) => symbol.codePointAt(0)!);
    for (const cp of codePoints) if (!pageOf.has(cp >> 8)) pageOf.set(cp >> 8, pageOf.size + 1);
    const firstLevel = new Uint16Array(0x1100);
    for (const [page, index] of pageOf) firstLevel[page] = index;
    const pages = new Int32Array(256 * (pageOf.size + 1)).fill(-1);
    codePoints.forEach((cp, id) => (pages[pageOf.get(cp >> 8)! * 256 + (cp & 255)] = id));
    this.firstLevel = runtime.arena.put(firstLevel);
    this.pages = runtime.arena.put(pages);
  }

  /** A vocabulary of the distinct characters of `corpus`, in code-point order. */
  static async fromCorpus(corpus: string, unknown: UnknownCharacterPolicy = 'error'): Promise<CharacterTokenizer> {
    if (typeof corpus !== 'string' || corpus.length === 0) throw new TokenizerInputError('character vocabulary: the corpus is empty');
    // A set filled character by character: an array of every character fails past about 100 M.
    const seen = new Set<string>();
    let position = 0;
    for (const character of corpus) {
      const code = character.charCodeAt(0);
      // Unicode text cannot hold half a surrogate pair; UTF-8 (and so encode()) has no bytes for one.
      if (character.length === 1 && code >= 0xd800 && code <= 0xdfff) throw new TokenizerInputError(`character vocabulary: the corpus holds a lone surrogate U+${code.toString(16).toUpperCase()} at character ${position}; it is not valid Unicode text (a file read with the wrong encoding, or a string cut between the halves of a pair)`);
      seen.add(character);
      position++;
    }
    const symbols = [...seen].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return CharacterTokenizer.fromSymbols(unknown === 'replace' ? [...symbols.filter((s) => s !== UNKNOWN_CHARACTER), UNKNOWN_CHARACTER] : symbols, unknown);
  }

  static async fromSymbols(symbols: string[], unknown: UnknownCharacterPolicy = 'error', normalization: TextNormalization = 'none'): Promise<CharacterTokenizer> {
    if (!Array.isArray(symbols) || symbols.length === 0) throw new TokenizerInputError('character vocabulary: expected a non-empty array of symbols');
    if (unknown !== 'error' && unknown !== 'replace') throw new TokenizerInputError(`character vocabulary: unknown policy must be 'error' or 'replace', found '${unknown}'`);
    if (normalization !== 'none' && normalization !== 'text8') throw new TokenizerInputError(`character vocabulary: normalization must be 'none' or 'text8', found '${normalization}'`);
    const seen = new Set<string>();
    symbols.forEach((symbol, id) => {
      if (typeof symbol !== 'string' || [...symbol].length !== 1) throw new TokenizerInputError(`character vocabulary: symbol ${id} must be one character, found ${JSON.stringify(symbol)}`);
      if (/^[\ud800-\udfff]$/.test(symbol)) throw new TokenizerInputError(`character vocabulary: symbol ${id} is a lone surrogate ${JSON.stringify(symbol)}, not a character`);
      if (seen.has(symbol)) throw new TokenizerInputError(`character vocabulary: symbol ${id} ${JSON.stringify(symbol)} appears twice`);
      seen.add(symbol);
    });
    if (unknown === 'replace' && symbols[symbols.length - 1] !== UNKNOWN_CHARACTER) {
      throw new TokenizerInputError(`character vocabulary: the 'replace' policy needs ${JSON.stringify(UNKNOWN_CHARACTER)} as its last symbol`);
    }
    return new CharacterTokenizer(await tokenizerRuntime(), symbols, unknown, normalization);
  }

  static fromJSON(json: CharacterTokenizerJSON): Promise<CharacterTokenizer> {
    return CharacterTokenizer.fromSymbols(json.symbols, json.unknown, json.normalization ?? 'none');
  }

  toJSON(): CharacterTokenizerJSON {
    return { type: 'characters', symbols: this.symbols, unknown: this.unknown, normalization: this.normalization };
  }

  encode(input: string): Uint32Array {
    if (typeof input !== 'string') throw new TokenizerInputError(`encode: expected a string, found ${typeof input}`);
    const text = this.normalization === 'text8' ? normalizeText8(input) : input;
    const { kernels } = this.runtime;
    return withScratch(this.runtime, (arena) => {
      const room = 3 * text.length;
      const textPtr = arena.alloc(room);
      const out = arena.alloc(4 * text.length);
      const { written } = new TextEncoder().encodeInto(text, arena.u8(textPtr, room));
      const unknownId = this.unknown === 'replace' ? this.vocabSize - 1 : -1;
      const count = kernels.encodeCharacters(textPtr, written!, this.firstLevel, this.pages, unknownId, out);
      if (count < 0) {
        const offset = -1 - count;
        const before = new TextDecoder().decode(arena.u8(textPtr, offset));
        const character = String.fromCodePoint(new TextDecoder().decode(arena.u8(textPtr + offset, 4)).codePointAt(0)!);
        throw new TokenizerInputError(
          `encode: character ${JSON.stringify(character)} (U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) at position ${[...before].length} is not in the vocabulary of ${this.vocabSize}; build it with the 'replace' policy to map unknown characters to ${JSON.stringify(UNKNOWN_CHARACTER)}`,
        );
      }
      return arena.u32(out, count).slice();
    });
  }

  decode(ids: ArrayLike<number>): string {
    let out = '';
    for (let i = 0; i < ids.length; i++) {
      const symbol = this.symbols[ids[i]];
      if (symbol === undefined) throw new TokenizerInputError(`decode: token ${i} is ${ids[i]}, expected an integer id in 0..${this.vocabSize - 1}`);
      out += symbol;
    }
    return out;
  }
}

/** text8's alphabet: space, then a to z (space = 0). */
export const TEXT8_SYMBOLS = [' ', ...'abcdefghijklmnopqrstuvwxyz'];
const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/**
 * text8's normalisation (Mahoney's wikifil.pl, less its markup removal): ASCII letters lowercased,
 * each digit spelled out as a word, every other character a space, runs of spaces squeezed to one.
 */
export function normalizeText8(text: string): string {
  let out = '';
  let space = false;
  const emit = (word: string) => {
    out += word;
    space = false;
  };
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i) | 0x20; // lowercase for letters; checked against a-z below
    const raw = text.charCodeAt(i);
    if (((raw >= 0x41 && raw <= 0x5a) || (raw >= 0x61 && raw <= 0x7a)) && code >= 0x61 && code <= 0x7a) {
      emit(String.fromCharCode(code));
    } else if (raw >= 0x30 && raw <= 0x39) {
      if (!space) out += ' ';
      emit(DIGIT_WORDS[raw - 0x30]);
      out += ' ';
      space = true;
    } else if (!space) {
      out += ' ';
      space = true;
    }
  }
  return out;
}

/** text8's 27-symbol tokenizer; encode normalises first (normalizeText8). */
export function text8Tokenizer(): Promise<CharacterTokenizer> {
  return CharacterTokenizer.fromSymbols(TEXT8_SYMBOLS, 'error', 'text8');
}
