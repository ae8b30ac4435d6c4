// Byte-level BPE (GPT-2, 50,257 tokens) with its hot loops in AssemblyScript
// (assembly/tokenizers/bpe.ts): pre-tokenisation and merges run over UTF-8 bytes written straight
// into wasm memory. This face handles the special tokens, the rank tables and streaming decode.

import type { WasmArena, WasmSource } from '../runtime/wasm.js';
import { TokenizerInputError } from '../errors.js';
import { tokenizerRuntime, type TokenizerKernels } from './runtime.js';

/** The token byte strings by rank (index = id), and the special tokens with their ids. */
export interface BpeRanks {
  tokens: Uint8Array[];
  specialTokens: Record<string, number>;
  /** A published table's name ('gpt2'): what a saved tokenizer records instead of 50k tokens. */
  name?: string;
  /** A space put before a text that does not start with one (Hugging Face's ByteLevel `add_prefix_space`, as RoBERTa's). */
  addPrefixSpace?: boolean;
}

/** A saved BPE tokenizer: a published table by name, or a table of its own. */
export type BpeTokenizerJSON = { type: 'bpe'; ranks: string; addPrefixSpace?: boolean } | { type: 'bpe'; table: string; specialTokens: Record<string, number>; addPrefixSpace?: boolean };

/** What encode does with a special token's text (such as `<|endoftext|>`) found in its input. */
export type SpecialTokenPolicy = 'allow' | 'refuse' | 'as-text';

export interface BpeEncodeOptions {
  /** 'allow': encode as the special token; 'refuse' (the default, as tiktoken): throw; 'as-text': ordinary text. */
  specialTokens?: SpecialTokenPolicy;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class BpeTokenizer {
  readonly vocabSize: number;
  private readonly longestToken: number;
  private readonly blob: number;
  private readonly offsets: number;
  private readonly table: number;
  private readonly capacity: number;
  private readonly specialPattern: RegExp | undefined;
  private readonly encoder = new TextEncoder();

  readonly kind = 'bpe';

  private constructor(private readonly kernels: TokenizerKernels, private readonly arena: WasmArena, readonly ranks: BpeRanks) {
    const specials = Object.entries(ranks.specialTokens);
    this.vocabSize = Math.max(ranks.tokens.length, ...specials.map(([, id]) => id + 1));
    // The blob holds every token's bytes by id, special tokens included (for decode); the hash
    // table only the ordinary ones (encode never merges into a special token).
    const byId: Uint8Array[] = Array.from({ length: this.vocabSize }, (_, id) => ranks.tokens[id] ?? new Uint8Array(0));
    for (const [text, id] of specials) byId[id] = this.encoder.encode(text);
    this.longestToken = Math.max(1, ...byId.map((bytes) => bytes.length));
    const offsets = new Uint32Array(this.vocabSize + 1);
    byId.forEach((bytes, id) => (offsets[id + 1] = offsets[id] + bytes.length));
    const blobBytes = new Uint8Array(offsets[this.vocabSize]);
    byId.forEach((bytes, id) => blobBytes.set(bytes, offsets[id]));
    this.blob = arena.put(blobBytes);
    this.offsets = arena.put(offsets);
    this.capacity = 2 ** Math.ceil(Math.log2(2 * ranks.tokens.length + 1));
    this.table = arena.alloc(16 * this.capacity);
    arena.u8(this.table, 16 * this.capacity).fill(0);
    kernels.buildTable(this.blob, this.offsets, ranks.tokens.length, this.table, this.capacity);
    this.specialPattern = specials.length ? new RegExp(specials.map(([text]) => escapeRegExp(text)).join('|'), 'g') : undefined;
  }

  static async create(ranks: BpeRanks, source?: WasmSource): Promise<BpeTokenizer> {
    const { kernels, arena } = await tokenizerRuntime(source);
    return new BpeTokenizer(kernels, arena, ranks);
  }

  encode(text: string, options: BpeEncodeOptions = {}): Uint32Array {
    if (typeof text !== 'string') throw new TokenizerInputError(`encode: expected a string, found ${typeof text}`);
    // Hugging Face's ByteLevel pre-tokenizer adds the space to the whole text once, before splitting at special tokens.
    if (this.ranks.addPrefixSpace && text.length > 0 && !text.startsWith(' ')) text = ' ' + text;
    const policy = options.specialTokens ?? 'refuse';
    if (policy === 'as-text' || !this.specialPattern) return this.encodeOrdinary(text);
    const parts: Uint32Array[] = [];
    let from = 0;
    for (const match of text.matchAll(this.specialPattern)) {
      if (policy === 'refuse') {
        throw new TokenizerInputError(
          `encode: the text contains the special token ${match[0]} at character ${match.index}; pass { specialTokens: 'allow' } to encode it as one, or 'as-text' to encode it as text`,
        );
      }
      parts.push(this.encodeOrdinary(text.slice(from, match.index)), Uint32Array.of(this.ranks.specialTokens[match[0]]));
      from = match.index! + match[0].length;
    }
    if (from === 0) return this.encodeOrdinary(text);
    parts.push(this.encodeOrdinary(text.slice(from)));
    const out = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
    return out;
  }

  /** Encodes with no special tokens. Lone UTF-16 surrogates become U+FFFD, as in TextEncoder and tiktoken. */
  private encodeOrdinary(text: string): Uint32Array {
    if (text.length === 0) return new Uint32Array(0);
    const mark = this.arena.mark();
    try {
      const room = 3 * text.length; // UTF-8 takes at most 3 bytes a UTF-16 unit
      const textPtr = this.arena.alloc(room);
      const out = this.arena.alloc(4 * room);
      const scratch = this.arena.alloc(8 * (room + 2));
      const { written } = this.encoder.encodeInto(text, this.arena.u8(textPtr, room));
      const count = this.kernels.encode(this.blob, this.table, this.capacity, textPtr, written!, out, scratch);
      return this.arena.u32(out, count).slice();
    } finally {
      this.arena.release(mark);
    }
  }

  /** The bytes of the tokens (a token may hold part of a character). */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    const mark = this.arena.mark();
    try {
      const idsPtr = this.arena.alloc(4 * ids.length);
      const view = this.arena.u32(idsPtr, ids.length);
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
          throw new TokenizerInputError(`decode: token ${i} is ${id}, expected an integer id in 0..${this.vocabSize - 1}`);
        }
        view[i] = id;
      }
      const out = this.arena.alloc(this.longestToken * ids.length);
      const written = this.kernels.decode(this.blob, this.offsets, this.vocabSize, idsPtr, ids.length, out);
      return this.arena.u8(out, written).slice();
    } finally {
      this.arena.release(mark);
    }
  }

  decode(ids: ArrayLike<number>): string {
    return new TextDecoder().decode(this.decodeBytes(ids));
  }

  /**
   * What a checkpoint saves: a published table by name ({ type: 'bpe', ranks: 'gpt2' }), any other
   * table whole, in tiktoken's format (a line `<base64 token> <id>` a token; about 700 KB for
   * 50 k tokens), with its special tokens and prefix space.
   */
  toJSON(): BpeTokenizerJSON {
    const prefix = this.ranks.addPrefixSpace ? { addPrefixSpace: true } : {};
    if (this.ranks.name) return { type: 'bpe', ranks: this.ranks.name, ...prefix };
    const lines: string[] = [];
    this.ranks.tokens.forEach((bytes, id) => {
      if (bytes) lines.push(`${btoa(String.fromCharCode(...bytes))} ${id}`);
    });
    return { type: 'bpe', table: lines.join('\n'), specialTokens: this.ranks.specialTokens, ...prefix };
  }

  /** A decoder for a stream of tokens: characters split across tokens come out once complete. */
  streamDecoder(): { push(ids: ArrayLike<number>): string; flush(): string } {
    const decoder = new TextDecoder('utf-8');
    return {
      push: (ids) => decoder.decode(this.decodeBytes(ids), { stream: true }),
      flush: () => decoder.decode(),
    };
  }
}
