// One instance of build/tokenizers.wasm shared by the tokenizers of a process (or worker): its
// arena holds each tokenizer's tables for good and each call's buffers until the call returns
// (calls are synchronous, so their marks and releases nest).

import { instantiateModule, WasmArena, type WasmSource } from '../runtime/wasm.js';

export interface TokenizerKernels {
  memory: WebAssembly.Memory;
  buildTable(blob: number, offsets: number, count: number, table: number, capacity: number): void;
  encode(blob: number, table: number, capacity: number, text: number, length: number, out: number, scratch: number): number;
  decode(blob: number, offsets: number, vocabulary: number, ids: number, count: number, out: number): number;
  encodeCharacters(text: number, length: number, firstLevel: number, pages: number, unknown: number, out: number): number;
  mulawEncode(samples: number, count: number, out: number): void;
  mulawDecode(codes: number, count: number, out: number): void;
}

export interface TokenizerRuntime {
  kernels: TokenizerKernels;
  arena: WasmArena;
}

let shared: Promise<TokenizerRuntime> | undefined;

/** The shared runtime; `source` (bytes or URL of tokenizers.wasm) only matters on the first call. */
export function tokenizerRuntime(source?: WasmSource): Promise<TokenizerRuntime> {
  return (shared ??= instantiateModule<TokenizerKernels>('tokenizers.wasm', source).then((kernels) => ({ kernels, arena: new WasmArena(kernels) })));
}

/** Runs `work` with arena memory that is given back when it returns. */
export function withScratch<T>(runtime: TokenizerRuntime, work: (arena: WasmArena) => T): T {
  const mark = runtime.arena.mark();
  try {
    return work(runtime.arena);
  } finally {
    runtime.arena.release(mark);
  }
}
