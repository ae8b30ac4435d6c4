// The wasm layers' heavy kernels shared out across the threads of a WasmThreadPool: matmuls by
// rows (and, for one row, by output channels), their gradients by rows of the input's gradient
// and output channels of the weights', attention by (sequence, head) pairs, GELU, residual adds
// and LayerNorm by rows (its backward also by channels for its parameters' gradients), the Haar
// and EMA wavelet filters by sequences, the optimizers, the gradients' squared norm and the
// zeroing of gradient buffers by ranges. Each chunk is a call of the same
// kernel on a slice of the same buffers, and every output element is computed by one call in the
// order one thread computes it (assembly/model/layers.ts), so the results are the same bits at any
// thread count and whichever thread runs a chunk. Work too small to repay a wake-up stays here.
//
// A section has up to MAX_CHUNKS_PER_THREAD chunks a thread: a thread that finishes its own takes
// those a slower core has not reached (wasm_threads.ts says why cores differ).

import type { WasmBackend } from '../../runtime/wasm.js';
import { firstChunkOf, MAX_CHUNKS_PER_THREAD } from '../../runtime/wasm_threads.js';

/**
 * The least work worth a chunk (a section costing a wake-up of the workers, tens of
 * microseconds, and a chunk a call and an atomic add): multiply-adds of a matmul or attention
 * chunk, elements of an elementwise one. Tests set them to 1 to share out every kernel, however
 * small.
 */
export const chunkThresholds = { macs: 1 << 18, elements: 1 << 13 };

/** The kernels the workers are given (their indices travel in the control block). */
export const PARALLEL_KERNELS = ['matmulForward', 'matmulBackwardShare', 'attentionForwardHeads', 'attentionBackwardHeads', 'geluForward', 'geluBackward', 'layernormForward', 'layernormBackwardShare', 'residualForward', 'zeroFloats', 'sumSquaresBlocks', 'adamw', 'adagrad', 'streamingFilter'] as const;

export interface ParallelKernels {
  readonly threads: number;
  matmulForward(out: number, inp: number, w: number, bias: number, N: number, C: number, OC: number): void;
  /** scratch: matmulScratchFloats a thread; freshInput 1: dinp written, not added into. */
  matmulBackward(dinp: number, dw: number, dbias: number, dout: number, inp: number, w: number, N: number, C: number, OC: number, scratch: number, freshInput: number): void;
  /** scratch: attentionScratchFloats a thread (forward and backward alike). */
  attentionForward(out: number, att: number, qkv: number, B: number, T: number, C: number, NH: number, scratch: number): void;
  attentionBackward(dqkv: number, dout: number, qkv: number, att: number, B: number, T: number, C: number, NH: number, scratch: number, freshInput: number): void;
  geluForward(out: number, inp: number, n: number): void;
  geluBackward(dinp: number, inp: number, dout: number, n: number, fresh: number): void;
  layernormForward(out: number, mean: number, rstd: number, inp: number, w: number, b: number, N: number, C: number): void;
  layernormBackward(dinp: number, dw: number, db: number, dout: number, inp: number, w: number, mean: number, rstd: number, N: number, C: number): void;
  residualForward(out: number, a: number, b: number, n: number): void;
  /** The Haar or EMA filter (kernels/wavelet/wasm.ts StreamingFilter): state, E float64 a thread. */
  streamingFilter(ema: number, reverse: number, plan: number, x: number, y: number, B: number, T: number, E: number, state: number): void;
  /** n floats at ptr set to zero (gradient buffers before a step adds into them). */
  zero(ptr: number, n: number): void;
  /** The sum of squares of n floats, in float64, the same bits at every thread count; blocks: float64 for each squaresBlock() floats. */
  sumSquares(x: number, n: number, blocks: number): number;
  /** mask: a byte a parameter. */
  adamw(params: number, grads: number, m: number, v: number, mask: number, n: number, lr: number, beta1: number, beta2: number, epsilon: number, weightDecay: number, correction1: number, correction2: number, gradScale: number): void;
  adagrad(params: number, grads: number, sum: number, mask: number, n: number, lr: number, epsilon: number, weightDecay: number, gradScale: number): void;
}

/** [start, end) of `parts` near-equal pieces of `total`, the boundaries multiples of `align`. */
export function splitRange(total: number, parts: number, align = 1): [number, number][] {
  const units = Math.ceil(total / align);
  const ranges: [number, number][] = [];
  for (let i = 0; i < parts; i++) {
    const start = Math.min(total, Math.floor((units * i) / parts) * align);
    const end = Math.min(total, Math.floor((units * (i + 1)) / parts) * align);
    if (end > start) ranges.push([start, end]);
  }
  return ranges;
}

/** How many chunks `work` units make at `least` a chunk, at most MAX_CHUNKS_PER_THREAD a thread and `pieces`. */
function chunkCount(threads: number, work: number, least: number, pieces: number): number {
  if (threads === 1) return 1;
  return Math.max(1, Math.min(threads * MAX_CHUNKS_PER_THREAD, Math.floor(work / least), pieces));
}

/**
 * For a kernel with two outputs, one split by rows and one by channels: chunks [rowStart, rowEnd,
 * channelStart, channelEnd], `parts` row ranges and at most `threads` channel ranges, either
 * range empty where it has fewer pieces. The channels' parts are few (each reads every row), and
 * each is the first chunk of a thread's run, so that no thread holds two of them.
 */
function rowAndChannelChunks(threads: number, parts: number, rows: number, channels: number, align: number): number[][] {
  const r = splitRange(rows, parts, align);
  const c = splitRange(channels, Math.min(parts, threads), align);
  const count = Math.max(r.length, c.length);
  const channelsAt = new Map(c.map((range, j) => [count >= threads ? firstChunkOf(j, count, threads) : j, range]));
  return Array.from({ length: count }, (_, i) => [...(r[i] ?? [0, 0]), ...(channelsAt.get(i) ?? [0, 0])]);
}

export function parallelKernels(wasm: WasmBackend): ParallelKernels {
  const k = wasm.kernels;
  const pool = wasm.pool;
  const threads = pool?.threads ?? 1;
  const kernels = k as unknown as Record<string, (...args: number[]) => unknown>;
  /** scratch: the argument that points at thread 0's scratch, and the bytes of a thread's. */
  const run = (kernel: (typeof PARALLEL_KERNELS)[number], chunks: number[][], scratch?: { argument: number; bytes: number }) => (chunks.length === 1 ? kernels[kernel](...chunks[0]) : pool!.run(kernels, kernel, chunks, scratch));
  /** An elementwise kernel on n floats, shared out by ranges of whole vectors; chunk(start, end): a range's arguments. */
  const elementwise = (kernel: (typeof PARALLEL_KERNELS)[number], n: number, chunk: (start: number, end: number) => number[]) => {
    const parts = chunkCount(threads, n, chunkThresholds.elements, n);
    run(kernel, parts === 1 ? [chunk(0, n)] : splitRange(n, parts, 4).map(([start, end]) => chunk(start, end)));
  };
  return {
    threads,
    matmulForward(out, inp, w, bias, N, C, OC) {
      const parts = chunkCount(threads, N * C * OC, chunkThresholds.macs, N > 1 ? Math.ceil(N / 2) : Math.ceil(OC / 4));
      if (parts === 1) return k.matmulForward(out, inp, w, bias, N, C, OC);
      if (N === 1) {
        // One row (a token being decoded): its output channels shared out.
        return run('matmulForward', splitRange(OC, parts, 4).map(([a, b]) => [out + 4 * a, inp, w + 4 * a * C, bias ? bias + 4 * a : 0, 1, C, b - a]));
      }
      run('matmulForward', splitRange(N, parts, 2).map(([a, b]) => [out + 4 * a * OC, inp + 4 * a * C, w, bias, b - a, C, OC]));
    },
    matmulBackward(dinp, dw, dbias, dout, inp, w, N, C, OC, scratch, freshInput) {
      const parts = chunkCount(threads, 2 * N * C * OC, chunkThresholds.macs, Math.max(N, Math.ceil(OC / 4)));
      if (parts === 1) return k.matmulBackward(dinp, dw, dbias, dout, inp, w, N, C, OC, scratch, freshInput);
      // dw's channels no finer than a thread each: a chunk of them packs the rows of inp it reads,
      // the fewer channels the more often (8 chunks of 16 channels: +28 % on one core)
      const chunks = rowAndChannelChunks(threads, parts, N, OC, 4).map((ranges) => [dinp, dw, dbias, dout, inp, w, N, C, OC, ...ranges, scratch, freshInput]);
      run('matmulBackwardShare', chunks, { argument: 13, bytes: 4 * k.matmulScratchFloats() });
    },
    attentionForward(out, att, qkv, B, T, C, NH, scratch) {
      const parts = chunkCount(threads, B * T * T * C, chunkThresholds.macs, B * NH);
      if (parts === 1) return k.attentionForward(out, att, qkv, B, T, C, NH, scratch);
      run('attentionForwardHeads', splitRange(B * NH, parts).map(([a, b]) => [out, att, qkv, B, T, C, NH, scratch, a, b]), { argument: 7, bytes: 4 * k.attentionScratchFloats(T, C, NH) });
    },
    attentionBackward(dqkv, dout, qkv, att, B, T, C, NH, scratch, freshInput) {
      const parts = chunkCount(threads, 2 * B * T * T * C, chunkThresholds.macs, B * NH);
      if (parts === 1) return k.attentionBackward(dqkv, dout, qkv, att, B, T, C, NH, scratch, freshInput);
      run('attentionBackwardHeads', splitRange(B * NH, parts).map(([a, b]) => [dqkv, dout, qkv, att, B, T, C, NH, scratch, a, b, freshInput]), { argument: 8, bytes: 4 * k.attentionScratchFloats(T, C, NH) });
    },
    geluForward(out, inp, n) {
      elementwise('geluForward', n, (a, b) => [out + 4 * a, inp + 4 * a, b - a]);
    },
    geluBackward(dinp, inp, dout, n, fresh) {
      elementwise('geluBackward', n, (a, b) => [dinp + 4 * a, inp + 4 * a, dout + 4 * a, b - a, fresh]);
    },
    layernormForward(out, mean, rstd, inp, w, b, N, C) {
      const parts = chunkCount(threads, N * C, chunkThresholds.elements, N);
      if (parts === 1) return k.layernormForward(out, mean, rstd, inp, w, b, N, C);
      run('layernormForward', splitRange(N, parts).map(([a, e]) => [out + 4 * a * C, mean + 4 * a, rstd + 4 * a, inp + 4 * a * C, w, b, e - a, C]));
    },
    layernormBackward(dinp, dw, db, dout, inp, w, mean, rstd, N, C) {
      const parts = chunkCount(threads, 2 * N * C, chunkThresholds.elements, Math.max(N, C));
      if (parts === 1) return k.layernormBackward(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
      run('layernormBackwardShare', rowAndChannelChunks(threads, parts, N, C, 1).map((ranges) => [dinp, dw, db, dout, inp, w, mean, rstd, N, C, ...ranges]));
    },
    residualForward(out, a, b, n) {
      elementwise('residualForward', n, (s, e) => [out + 4 * s, a + 4 * s, b + 4 * s, e - s]);
    },
    streamingFilter(ema, reverse, plan, x, y, B, T, E, state) {
      // each sequence starts from a zero state: a chunk of them is the whole filter on its rows
      const parts = chunkCount(threads, B * T * E, chunkThresholds.elements, B);
      if (parts === 1) return k.streamingFilter(ema, reverse, plan, x, y, B, T, state);
      run('streamingFilter', splitRange(B, parts).map(([a, b]) => [ema, reverse, plan, x + 4 * a * T * E, y + 4 * a * T * E, b - a, T, state]), { argument: 7, bytes: 8 * E });
    },
    zero(ptr, n) {
      elementwise('zeroFloats', n, (s, e) => [ptr + 4 * s, e - s]);
    },
    sumSquares(x, n, blocks) {
      const block = k.squaresBlock();
      const count = Math.ceil(n / block);
      const parts = chunkCount(threads, n, chunkThresholds.elements, count);
      // whole blocks a chunk: each block's sum is the same whichever chunk holds it
      run('sumSquaresBlocks', splitRange(count, parts).map(([a, b]) => [x + 4 * a * block, Math.min(n, b * block) - a * block, blocks + 8 * a]));
      const sums = wasm.arena.f64(blocks, count);
      let total = 0;
      for (let i = 0; i < count; i++) total += sums[i];
      return total;
    },
    adamw(params, grads, m, v, mask, n, ...rest) {
      elementwise('adamw', n, (s, e) => [params + 4 * s, grads + 4 * s, m + 4 * s, v + 4 * s, mask + s, e - s, ...rest]);
    },
    adagrad(params, grads, sum, mask, n, ...rest) {
      elementwise('adagrad', n, (s, e) => [params + 4 * s, grads + 4 * s, sum + 4 * s, mask + s, e - s, ...rest]);
    },
  };
}
