// Byte-level BPE (GPT-2's r50k and any tiktoken-style rank table) over UTF-8 bytes:
// pre-tokenisation by GPT-2's pattern, written out by hand instead of run through a regex
// engine, then the rank-ordered merges of tiktoken's byte_pair_merge within each piece.
//
// The pattern, alternatives tried in order at each position (first match wins):
//   's|'t|'re|'ve|'m|'ll|'d | ' ?\p{L}+' | ' ?\p{N}+' | ' ?[^\s\p{L}\p{N}]+' | '\s+(?!\S)' | '\s+'
// with \s the Unicode White_Space property, as in Rust's regex crate that tiktoken uses.
//
// Memory is laid out by the TypeScript side (src/tokenizers/bpe.ts); all pointers are byte offsets.

import { FIRST_LEVEL, PAGES } from '../generated/unicode_classes';

const OTHER: u8 = 0;
const LETTER: u8 = 1;
const NUMBER: u8 = 2;
const SPACE: u8 = 3;
const NO_RANK: u32 = 0xffffffff;
const ENTRY_BYTES: usize = 16; // hash, offset, length, rank

// --- characters -----------------------------------------------------------------------------

/** Width in bytes of the UTF-8 sequence starting with byte b0 (1 for a stray continuation byte). */
@inline
function widthOf(b0: u32): i32 {
  return b0 < 0xc0 ? 1 : b0 < 0xe0 ? 2 : b0 < 0xf0 ? 3 : 4;
}

/** Class of the character at p: letter, number, white space or other. Bytes past `end` count as other. */
function classAt(text: usize, p: i32, end: i32): u8 {
  const b0 = <u32>load<u8>(text + p);
  if (b0 < 0x80) return load<u8>(PAGES + (<usize>load<u16>(FIRST_LEVEL) << 8) + b0);
  const w = widthOf(b0);
  if (p + w > end) return OTHER;
  let cp: u32;
  if (w == 2) cp = ((b0 & 0x1f) << 6) | (<u32>load<u8>(text + p + 1) & 0x3f);
  else if (w == 3) cp = ((b0 & 0x0f) << 12) | ((<u32>load<u8>(text + p + 1) & 0x3f) << 6) | (<u32>load<u8>(text + p + 2) & 0x3f);
  else cp = ((b0 & 0x07) << 18) | ((<u32>load<u8>(text + p + 1) & 0x3f) << 12) | ((<u32>load<u8>(text + p + 2) & 0x3f) << 6) | (<u32>load<u8>(text + p + 3) & 0x3f);
  if (cp > 0x10ffff) return OTHER;
  return load<u8>(PAGES + (<usize>load<u16>(FIRST_LEVEL + ((<usize>cp >> 8) << 1)) << 8) + (cp & 255));
}

@inline
function next(text: usize, p: i32, end: i32): i32 {
  return min(p + widthOf(<u32>load<u8>(text + p)), end);
}

/** End of the run of characters of class `cls` starting at p. */
function runEnd(text: usize, p: i32, end: i32, cls: u8): i32 {
  while (p < end && classAt(text, p, end) == cls) p = next(text, p, end);
  return p;
}

/** End of the piece that GPT-2's pattern matches at p (p < end). */
export function pieceEnd(text: usize, p: i32, end: i32): i32 {
  const c0 = <u32>load<u8>(text + p);
  if (c0 == 0x27 && p + 1 < end) {
    // 's 't 'm 'd 're 've 'll
    const c1 = <u32>load<u8>(text + p + 1);
    if (c1 == 0x73 || c1 == 0x74 || c1 == 0x6d || c1 == 0x64) return p + 2;
    if (p + 2 < end) {
      const c2 = <u32>load<u8>(text + p + 2);
      if ((c1 == 0x72 && c2 == 0x65) || (c1 == 0x76 && c2 == 0x65) || (c1 == 0x6c && c2 == 0x6c)) return p + 3;
    }
  }
  if (c0 == 0x20 && p + 1 < end) {
    // ' ?' then a run of letters, numbers or others: the space joins the run that follows it.
    const cls = classAt(text, p + 1, end);
    if (cls != SPACE) return runEnd(text, p + 1, end, cls);
  }
  const cls = classAt(text, p, end);
  if (cls != SPACE) return runEnd(text, p, end, cls);
  // White space: '\s+(?!\S)' leaves the last white-space character of a run that a non-space
  // follows to the next piece (as the space before a word); a run of one falls to '\s+'.
  let last = p;
  let q = next(text, p, end);
  let count = 1;
  while (q < end && classAt(text, q, end) == SPACE) {
    last = q;
    q = next(text, q, end);
    count++;
  }
  return q == end || count == 1 ? q : last;
}

// --- the rank table ---------------------------------------------------------------------------

@inline
function hashBytes(p: usize, length: i32): u32 {
  let h: u32 = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < length; i++) h = (h ^ <u32>load<u8>(p + i)) * 0x01000193;
  return h;
}

/**
 * Fills an open-addressing table (capacity a power of two, zeroed) with the tokens: token i is
 * blob[offsets[i] .. offsets[i + 1]) and its rank is i. Tokens of length 0 are skipped.
 */
export function buildTable(blob: usize, offsets: usize, count: i32, table: usize, capacity: i32): void {
  const mask = <u32>capacity - 1;
  for (let i = 0; i < count; i++) {
    const start = load<u32>(offsets + (<usize>i << 2));
    const length = <i32>(load<u32>(offsets + (<usize>(i + 1) << 2)) - start);
    if (length == 0) continue;
    const h = hashBytes(blob + start, length);
    let slot = h & mask;
    while (load<u32>(table + <usize>slot * ENTRY_BYTES, 8) != 0) slot = (slot + 1) & mask;
    const entry = table + <usize>slot * ENTRY_BYTES;
    store<u32>(entry, h);
    store<u32>(entry, start, 4);
    store<u32>(entry, length, 8);
    store<u32>(entry, i, 12);
  }
}

function rankOf(blob: usize, table: usize, mask: u32, p: usize, length: i32): u32 {
  const h = hashBytes(p, length);
  let slot = h & mask;
  while (true) {
    const entry = table + <usize>slot * ENTRY_BYTES;
    const entryLength = load<u32>(entry, 8);
    if (entryLength == 0) return NO_RANK;
    if (load<u32>(entry) == h && entryLength == <u32>length && memory.compare(blob + load<u32>(entry, 4), p, length) == 0) return load<u32>(entry, 12);
    slot = (slot + 1) & mask;
  }
}

// --- encoding ---------------------------------------------------------------------------------

/**
 * Encodes UTF-8 text[0 .. length) to ranks in out (room for `length` values); returns how many.
 * scratch: room for 2 * (length + 2) u32 (the merge state of the longest piece).
 */
export function encode(blob: usize, table: usize, capacity: i32, text: usize, length: i32, out: usize, scratch: usize): i32 {
  const mask = <u32>capacity - 1;
  let written = 0;
  let p = 0;
  while (p < length) {
    const e = pieceEnd(text, p, length);
    written = encodePiece(blob, table, mask, text + p, e - p, out, written, scratch);
    p = e;
  }
  return written;
}

/** tiktoken's byte_pair_merge on one piece: merge the lowest-ranked adjacent pair until none is a token. */
function encodePiece(blob: usize, table: usize, mask: u32, piece: usize, n: i32, out: usize, written: i32, scratch: usize): i32 {
  const whole = rankOf(blob, table, mask, piece, n);
  if (whole != NO_RANK) {
    store<u32>(out + (<usize>written << 2), whole);
    return written + 1;
  }
  // parts: (start, rank of the pair starting there) for each boundary, as two u32 arrays.
  const starts = scratch;
  const ranks = scratch + (<usize>(n + 2) << 2);
  let count = n + 1;
  for (let i = 0; i < n - 1; i++) {
    store<u32>(starts + (<usize>i << 2), i);
    store<u32>(ranks + (<usize>i << 2), rankOf(blob, table, mask, piece + i, 2));
  }
  store<u32>(starts + (<usize>(n - 1) << 2), n - 1);
  store<u32>(ranks + (<usize>(n - 1) << 2), NO_RANK);
  store<u32>(starts + (<usize>n << 2), n);
  store<u32>(ranks + (<usize>n << 2), NO_RANK);
  while (true) {
    let best = NO_RANK;
    let at = -1;
    for (let i = 0; i < count - 1; i++) {
      const r = load<u32>(ranks + (<usize>i << 2));
      if (r < best) {
        best = r;
        at = i;
      }
    }
    if (best == NO_RANK) break;
    // Merge parts at and at + 1: the ranks of the pairs around the new part change.
    if (at > 0) store<u32>(ranks + (<usize>(at - 1) << 2), spanRank(blob, table, mask, piece, starts, count, at - 1));
    store<u32>(ranks + (<usize>at << 2), spanRank(blob, table, mask, piece, starts, count, at));
    memory.copy(starts + (<usize>(at + 1) << 2), starts + (<usize>(at + 2) << 2), <usize>(count - at - 2) << 2);
    memory.copy(ranks + (<usize>(at + 1) << 2), ranks + (<usize>(at + 2) << 2), <usize>(count - at - 2) << 2);
    count--;
  }
  for (let i = 0; i < count - 1; i++) {
    const start = load<u32>(starts + (<usize>i << 2));
    const stop = load<u32>(starts + (<usize>(i + 1) << 2));
    store<u32>(out + (<usize>written << 2), rankOf(blob, table, mask, piece + start, <i32>(stop - start)));
    written++;
  }
  return written;
}

/** Rank of the bytes from part i to part i + 3 (parts i, i + 1 and the one being merged into it), before the removal. */
@inline
function spanRank(blob: usize, table: usize, mask: u32, piece: usize, starts: usize, count: i32, i: i32): u32 {
  if (i + 3 >= count) return NO_RANK;
  const start = load<u32>(starts + (<usize>i << 2));
  const stop = load<u32>(starts + (<usize>(i + 3) << 2));
  return rankOf(blob, table, mask, piece + start, <i32>(stop - start));
}

// --- decoding ---------------------------------------------------------------------------------

/**
 * Writes the bytes of ranks ids[0 .. count) to out; returns the byte count, or -1 - i when ids[i]
 * is not below `vocabulary` (offsets has vocabulary + 1 entries).
 */
export function decode(blob: usize, offsets: usize, vocabulary: i32, ids: usize, count: i32, out: usize): i32 {
  let written: usize = 0;
  for (let i = 0; i < count; i++) {
    const id = load<u32>(ids + (<usize>i << 2));
    if (id >= <u32>vocabulary) return -1 - i;
    const start = load<u32>(offsets + (<usize>id << 2));
    const length = load<u32>(offsets + (<usize>(id + 1) << 2)) - start;
    memory.copy(out + written, blob + start, length);
    written += length;
  }
  return <i32>written;
}
