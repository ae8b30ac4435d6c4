// The WebAssembly SIMD backend: loads our AssemblyScript modules (build/wavelet.wasm,
// build/tokenizers.wasm; from a file in Node, from bytes or a URL elsewhere) and lays buffers out
// in a module's memory with a bump arena. Kernels take byte offsets into that memory, so a
// training loop keeps its tensors there and copies nothing.

import { fetchBytes } from '../io/fetch_bytes.js';
import { BackendUnavailableError } from '../errors.js';
import { threadsUnavailable, WasmThreadPool } from './wasm_threads.js';

export interface WaveletWasmExports {
  memory: WebAssembly.Memory;
  planRuns(windows: number, channels: number, runsOut: number): number;
  streamingFilter(ema: number, reverse: number, plan: number, x: number, y: number, B: number, T: number, state: number): void;
  packTaps(plan: number, flat: number, tapOffsets: number, packed: number, pack: number): number;
  learnableFilter(reverse: number, plan: number, x: number, y: number, B: number, T: number, taps: number, tapOffsets: number, packed: number): void;
  learnableTapGradient(plan: number, x: number, dy: number, B: number, T: number, tapOffsets: number, packedCount: number, packedGrad: number, dTaps: number): void;
}

/** The GPT layers of the same module (assembly/model/layers.ts); pointers are byte offsets. */
export interface ModelWasmExports {
  encoderForward(out: number, tokens: number, wte: number, wpe: number, B: number, T: number, C: number): void;
  encoderBackward(dwte: number, dwpe: number, dout: number, tokens: number, B: number, T: number, C: number): void;
  layernormForward(out: number, mean: number, rstd: number, inp: number, w: number, b: number, N: number, C: number): void;
  layernormBackward(dinp: number, dw: number, db: number, dout: number, inp: number, w: number, mean: number, rstd: number, N: number, C: number): void;
  layernormBackwardShare(dinp: number, dw: number, db: number, dout: number, inp: number, w: number, mean: number, rstd: number, N: number, C: number, nStart: number, nEnd: number, cStart: number, cEnd: number): void;
  matmulForward(out: number, inp: number, w: number, bias: number, N: number, C: number, OC: number): void;
  /** Floats of scratch a thread's matmul gradients need. */
  matmulScratchFloats(): number;
  /** freshInput 1: dinp written, not added into (as into zeros). */
  matmulBackward(dinp: number, dw: number, dbias: number, dout: number, inp: number, w: number, N: number, C: number, OC: number, scratch: number, freshInput: number): void;
  matmulBackwardShare(dinp: number, dw: number, dbias: number, dout: number, inp: number, w: number, N: number, C: number, OC: number, nStart: number, nEnd: number, ocStart: number, ocEnd: number, cStart: number, cEnd: number, scratch: number, freshInput: number): void;
  attentionScratchFloats(T: number, C: number, NH: number): number;
  attentionForward(out: number, att: number, qkv: number, B: number, T: number, C: number, NH: number, scratch: number): void;
  attentionForwardHeads(out: number, att: number, qkv: number, B: number, T: number, C: number, NH: number, scratch: number, bhStart: number, bhEnd: number, tStart: number, tEnd: number): void;
  attentionBackwardHeads(dqkv: number, dout: number, qkv: number, att: number, B: number, T: number, C: number, NH: number, scratch: number, bhStart: number, bhEnd: number, freshInput: number): void;
  attentionBackwardKeys(dqkv: number, dout: number, qkv: number, att: number, B: number, T: number, C: number, NH: number, bhStart: number, bhEnd: number, uStart: number, uEnd: number, keys: number, freshInput: number): void;
  attentionBackwardQueries(dqkv: number, dout: number, qkv: number, att: number, B: number, T: number, C: number, NH: number, scratch: number, bhStart: number, bhEnd: number, tStart: number, tEnd: number, freshInput: number): void;
  decodeAttention(out: number, qkv: number, keys: number, values: number, B: number, T: number, t: number, C: number, NH: number, scores: number): void;
  /** freshInput 1: dqkv written, not added into. */
  attentionBackward(dqkv: number, dout: number, qkv: number, att: number, B: number, T: number, C: number, NH: number, scratch: number, freshInput: number): void;
  geluForward(out: number, inp: number, n: number): void;
  /** fresh 1: dinp written, not added into. */
  geluBackward(dinp: number, inp: number, dout: number, n: number, fresh: number): void;
  residualForward(out: number, a: number, b: number, n: number): void;
  zeroFloats(ptr: number, n: number): void;
  addScaled(dst: number, src: number, scale: number, n: number): void;
  crossEntropyForward(probs: number, logits: number, targets: number, N: number, V: number): number;
  crossEntropyBackward(dlogits: number, probs: number, targets: number, N: number, V: number): void;
  /** Floats a block of sumSquaresBlocks. */
  squaresBlock(): number;
  /** out: float64 a block of squaresBlock() floats of x (the last may be short), each its sum of squares. */
  sumSquaresBlocks(x: number, n: number, out: number): void;
  /** 1: built with relaxed SIMD (fused multiply-adds), 0: plain SIMD. */
  relaxedSimd(): number;
  adamw(params: number, grads: number, m: number, v: number, mask: number, n: number, lr: number, beta1: number, beta2: number, epsilon: number, weightDecay: number, correction1: number, correction2: number, gradScale: number): void;
  adagrad(params: number, grads: number, sum: number, mask: number, n: number, lr: number, epsilon: number, weightDecay: number, gradScale: number): void;
  // WaveletLM's layers (assembly/model/wavelet_lm.ts)
  padForward(out: number, x: number, N: number, from: number, to: number): void;
  padBackward(dx: number, dout: number, N: number, from: number, to: number): void;
  liftingPredictForward(out: number, x: number, predicted: number, B: number, T: number, W: number, delay: number): void;
  liftingPredictBackward(dx: number, dpredicted: number, dout: number, B: number, T: number, W: number, delay: number): void;
  scaledSum(out: number, a: number, b: number, fa: number, fb: number, n: number): void;
  dotProduct(a: number, b: number, n: number): number;
  channelScaleForward(out: number, x: number, gain: number, N: number, W: number): void;
  channelScaleBackward(dx: number, dgain: number, dout: number, x: number, gain: number, N: number, W: number): void;
  hadamard(out: number, x: number, N: number, W: number, accumulate: number, scratch: number): void;
  siluGateForward(out: number, x: number, gate: number, n: number): void;
  siluGateBackward(dx: number, dgate: number, dout: number, x: number, gate: number, n: number): void;
  runningMeanForward(out: number, x: number, B: number, T: number, W: number, sums: number): void;
  runningMeanBackward(dx: number, dout: number, B: number, T: number, W: number, sums: number): void;
}

// The smallest module that uses a v128 instruction: validates only where SIMD is supported.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

// A function of one f32x4.relaxed_madd: validates only where relaxed SIMD is supported (Chrome 114+,
// Node 22+, Deno; Node 20 behind --experimental-wasm-relaxed-simd).
const RELAXED_SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19, 1, 17, 0, 65, 0, 253, 17, 65, 0, 253, 17, 65, 0, 253, 17, 253, 133, 2, 11]);

export function wasmRelaxedSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_SIMD_PROBE);
}

/** One compiled module: bytes, a compiled module (where a runtime forbids compiling bytes, as Cloudflare's workers do), or a URL. */
export type WasmModuleSource = BufferSource | WebAssembly.Module | URL | string;

/**
 * Both builds of the kernels: plain SIMD (build/wavelet.wasm), and relaxed SIMD
 * (build/wavelet-relaxed.wasm: fused multiply-adds), used where the engine has it.
 */
export interface WasmBuilds {
  simd: WasmModuleSource;
  relaxedSimd?: WasmModuleSource;
}

/**
 * Where the compiled kernels are found: one module, both builds to choose from, or (undefined, in
 * Node) the package's build/ folder, where the relaxed build is taken where the engine has it.
 */
export type WasmSource = WasmModuleSource | WasmBuilds | undefined;

/** The modules built twice, plain and relaxed (package.json's build:wasm). */
const RELAXED_BUILDS = new Set(['wavelet.wasm', 'wavelet-threads.wasm']);

/** The module to load of `source` (`file` in build/, or its relaxed build, when none is given). */
function pickBuild(source: WasmSource, file: string): { source: WasmModuleSource | undefined; file: string } {
  const relaxed = wasmRelaxedSimdSupported();
  if (source === undefined) return { source, file: relaxed && RELAXED_BUILDS.has(file) ? file.replace(/\.wasm$/, '-relaxed.wasm') : file };
  if (typeof source === 'object' && 'simd' in source) return { source: relaxed && source.relaxedSimd ? source.relaxedSimd : source.simd, file };
  return { source, file };
}

async function wasmBytes(source: WasmModuleSource | undefined, file: string): Promise<BufferSource | WebAssembly.Module> {
  if (source && typeof source !== 'string' && !(source instanceof URL)) return source;
  const url = source ? new URL(String(source), import.meta.url) : new URL(`../../build/${file}`, import.meta.url);
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    try {
      return await readFile(url);
    } catch (error) {
      throw new BackendUnavailableError(`wasm kernels not found at ${url.pathname}: run 'npm run build' first (${(error as Error).message})`);
    }
  }
  try {
    return await fetchBytes(String(url));
  } catch (error) {
    // Bundled for a page, build/ is not beside the bundle unless the bundler copied it.
    const hint = source ? '' : `; in a browser or worker, import 'wavelet-gpt/bundle' (the kernels inlined), or pass the ${file} module's URL or bytes (LoadOptions.wasm / tokenizersWasm)`;
    throw new BackendUnavailableError(`wasm kernels: ${(error as Error).message}${hint}`);
  }
}

/**
 * An allocator over the module's memory: blocks are taken from the top (a bump) or from blocks
 * given back with free(); mark() and release() give back everything taken after a mark at once.
 * Views must be re-taken after any allocation (the memory may have grown). Offsets are plain
 * numbers: wasm32 memory reaches 4 GiB, past int32 arithmetic.
 */
export class WasmArena {
  private top: number;
  private readonly live = new Map<number, number>(); // offset -> bytes of each block handed out
  private readonly freed: { at: number; bytes: number }[] = []; // sorted by offset, merged
  constructor(readonly kernels: { memory: WebAssembly.Memory }) {
    this.top = kernels.memory.buffer.byteLength; // the module's own static data lies below
  }

  /** Reserves `bytes` (16-byte aligned) and returns its byte offset. */
  alloc(bytes: number): number {
    const size = Math.ceil(Math.max(bytes, 1) / 16) * 16;
    const fit = this.freed.findIndex((block) => block.bytes >= size);
    if (fit >= 0) {
      const block = this.freed[fit];
      const at = block.at;
      if (block.bytes > size) Object.assign(block, { at: at + size, bytes: block.bytes - size });
      else this.freed.splice(fit, 1);
      this.live.set(at, size);
      return at;
    }
    const at = Math.ceil(this.top / 16) * 16;
    const end = at + size;
    const memory = this.kernels.memory;
    if (end > memory.buffer.byteLength) {
      const pages = Math.ceil((end - memory.buffer.byteLength) / 65536);
      try {
        memory.grow(pages);
      } catch {
        throw new BackendUnavailableError(`wasm memory: cannot grow to ${(end / 2 ** 20).toFixed(1)} MiB (the 4 GiB wasm32 limit or the host's)`);
      }
    }
    this.top = end;
    this.live.set(at, size);
    return at;
  }

  /** Gives back a block from alloc() or put(). */
  free(ptr: number): void {
    const bytes = this.live.get(ptr);
    if (bytes === undefined) throw new Error(`wasm arena: ${ptr} is not a block in use`);
    this.live.delete(ptr);
    let i = this.freed.findIndex((block) => block.at > ptr);
    if (i < 0) i = this.freed.length;
    this.freed.splice(i, 0, { at: ptr, bytes });
    // merge with the neighbours, then hand the last block back to the top
    const next = this.freed[i + 1];
    if (next && ptr + bytes === next.at) this.freed.splice(i + 1, 1), (this.freed[i].bytes += next.bytes);
    const previous = this.freed[i - 1];
    if (previous && previous.at + previous.bytes === ptr) previous.bytes += this.freed.splice(i, 1)[0].bytes;
    const last = this.freed[this.freed.length - 1];
    if (last && last.at + last.bytes === this.top) this.top = this.freed.pop()!.at;
  }

  /** Bytes in blocks handed out and not given back. */
  bytesInUse(): number {
    let sum = 0;
    for (const bytes of this.live.values()) sum += bytes;
    return sum;
  }

  /** Current top, to give back everything allocated after it with release(). */
  mark(): number {
    return this.top;
  }
  release(mark: number): void {
    for (const at of [...this.live.keys()]) if (at >= mark) this.live.delete(at);
    while (this.freed.length && this.freed[this.freed.length - 1].at >= mark) this.freed.pop();
    this.top = mark;
  }

  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.kernels.memory.buffer, ptr, length);
  }
  u32(ptr: number, length: number): Uint32Array {
    return new Uint32Array(this.kernels.memory.buffer, ptr, length);
  }
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.kernels.memory.buffer, ptr, length);
  }
  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.kernels.memory.buffer, ptr, length);
  }
  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.kernels.memory.buffer, ptr, length);
  }
  /** Copies `values` into fresh arena memory and returns its offset. */
  put(values: ArrayBufferView): number {
    const ptr = this.alloc(values.byteLength);
    new Uint8Array(this.kernels.memory.buffer, ptr, values.byteLength).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return ptr;
  }
}

export interface WasmBackend {
  kind: 'wasm';
  kernels: WaveletWasmExports & ModelWasmExports;
  arena: WasmArena;
  /** Whether the kernels are the relaxed SIMD build (multiply-adds fused where the CPU has FMA). */
  relaxedSimd: boolean;
  /** The workers sharing this memory (threads > 1); absent: this thread alone. */
  pool?: WasmThreadPool;
}

/** Instantiates one of our modules (`file` in build/ unless `source` says otherwise); `memory` for a module that imports its memory (the threads build). */
export async function instantiateModule<T extends { memory: WebAssembly.Memory }>(file: string, source?: WasmSource, memory?: WebAssembly.Memory): Promise<T> {
  if (!wasmSimdSupported()) throw new BackendUnavailableError('this WebAssembly engine has no SIMD (128-bit) support');
  const build = pickBuild(source, file);
  const imports = {
    env: {
      ...(memory && { memory }),
      abort(_message: number, _file: number, line: number, column: number) {
        throw new Error(`${file} aborted at ${line}:${column}`);
      },
    },
  };
  const code = await wasmBytes(build.source, build.file);
  const instance = code instanceof WebAssembly.Module ? await WebAssembly.instantiate(code, imports) : (await WebAssembly.instantiate(code, imports)).instance;
  // Globals with computed initial values are set by the start function, exported (asconfig) so
  // that it runs here, after instantiation, rather than before the exports exist.
  (instance.exports as { _initialize?: () => void })._initialize?.();
  return instance.exports as unknown as T;
}

/** Instantiates the wavelet kernels; one instance owns one memory, so make one per worker. */
export async function createWasmBackend(source?: WasmSource): Promise<WasmBackend> {
  const kernels = await instantiateModule<WaveletWasmExports & ModelWasmExports>('wavelet.wasm', source);
  return { kind: 'wasm', kernels, arena: new WasmArena(kernels), relaxedSimd: kernels.relaxedSimd() === 1 };
}

/**
 * The kernels on `threads` threads: build/wavelet-threads.wasm (`source` says otherwise) over one
 * shared memory, in this thread and in threads - 1 workers (wasm_threads.ts) that run the kernels
 * named `parallel` on their shares. Where threads cannot run, a BackendUnavailableError says why.
 */
export async function createThreadedWasmBackend(threads: number, parallel: readonly string[], source?: WasmSource): Promise<WasmBackend> {
  if (!Number.isInteger(threads) || threads < 2) throw new RangeError(`threads: expected an integer >= 2, found ${threads}`);
  const why = threadsUnavailable();
  if (why) throw new BackendUnavailableError(`wasm threads: ${why}`);
  if (!wasmSimdSupported()) throw new BackendUnavailableError('this WebAssembly engine has no SIMD (128-bit) support'); // before compiling a SIMD module
  // Compiled once: the workers instantiate the same module over the same memory.
  const build = pickBuild(source, 'wavelet-threads.wasm');
  const code = await wasmBytes(build.source, build.file);
  const module = code instanceof WebAssembly.Module ? code : await WebAssembly.compile(code);
  // As large as wasm32 allows, where the host grants the address space; a quarter of it elsewhere.
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  } catch {
    memory = new WebAssembly.Memory({ initial: 1, maximum: 16384, shared: true });
  }
  const kernels = await instantiateModule<WaveletWasmExports & ModelWasmExports>('wavelet-threads.wasm', module, memory);
  const pool = await WasmThreadPool.create(module, memory, threads, parallel);
  return { kind: 'wasm', kernels, arena: new WasmArena(kernels), pool, relaxedSimd: kernels.relaxedSimd() === 1 };
}
