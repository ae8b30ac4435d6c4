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
export const PARALLEL_KERNELS = ['matmulForward', 'matmulBackwardShare', 'attentionForwardHeads', 'attentionBackwardHeads', 'attentionBackwardKeys', 'attentionBackwardQueries', 'geluForward', 'geluBackward', 'layernormForward', 'layernormBackwardShare', 'residualForward', 'zeroFloats', 'sumSquaresBlocks', 'adamw', 'adagrad', 'streamingFilter'] as const;

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
 * For a kernel with two outputs, one split by rows and one cut into `shares` that each read every
 * row: chunks [rowStart, rowEnd, ...share], `parts` row ranges, either part empty ([0, 0] for
 * rows, `noShare` for a share) where it has fewer pieces. The shares are few (at most one a
 * thread), and each is the first chunk of a thread's run, so that no thread holds two.
 */
function rowsAndShares(threads: number, parts: number, rows: number, align: number, shares: number[][], noShare: number[]): number[][] {
  const r = splitRange(rows, parts, align);
  const count = Math.max(r.length, shares.length);
  const sharesAt = new Map(shares.map((share, j) => [count >= threads ? firstChunkOf(j, count, threads) : j, share]));
  return Array.from({ length: count }, (_, i) => [...(r[i] ?? [0, 0]), ...(sharesAt.get(i) ?? noShare)]);
}

/**
 * Up to `pieces` ranges of T positions, boundaries on fours, each with about the same number of
 * (query, key) pairs of causal attention: of queries (a query's keys are those before it), piece
 * k ends near T sqrt((k + 1) / pieces); of keys (a key's queries are those after it), near
 * T (1 - sqrt(1 - (k + 1) / pieces)).
 */
export function causalPieces(T: number, pieces: number, of: 'queries' | 'keys' = 'queries'): [number, number][] {
  const ranges: [number, number][] = [];
  let start = 0;
  for (let k = 1; k <= pieces && start < T; k++) {
    const share = of === 'queries' ? Math.sqrt(k / pieces) : 1 - Math.sqrt(1 - k / pieces);
    const end = k === pieces ? T : Math.min(T, Math.round((T * share) / 4) * 4);
    if (end > start) ranges.push([start, end]);
    start = Math.max(start, end);
  }
  return ranges;
}

/** [bhStart, bhEnd, start, end] for each of `pairs` (sequence, head) pairs and each of its causalPieces: a chunk of one pair's positions. */
function pairPieces(pairs: number, T: number, pieces: number, of: 'queries' | 'keys' = 'queries'): number[][] {
  const ranges = causalPieces(T, pieces, of);
  return Array.from({ length: pairs }, (_, bh) => ranges.map(([start, end]) => [bh, bh + 1, start, end])).flat();
}

/**
 * At most `most` blocks [ocStart, ocEnd, cStart, cEnd] of a weights' gradient (OC, C), output
 * channels in fours, inputs in eights, cut so that the largest block's cost is least. A block's
 * cost is its multiply-adds plus the packing of its rows of dout and inp (matmulBackwardWeights),
 * which grows with its height and width: 4 (height + width) a row against height x width, the 4
 * fitted to one measurement on one core (8 strips of 16 x 128 channels took 28 % longer than one
 * block of 128 x 128).
 */
export function weightGradientBlocks(OC: number, C: number, most: number): number[][] {
  let best = { cost: Infinity, p: 1, q: 1 };
  for (let p = 1; p <= most; p++) {
    const q = Math.floor(most / p);
    const height = Math.ceil(OC / p / 4) * 4, width = Math.ceil(C / q / 8) * 8;
    const cost = height * width + 4 * (height + width);
    if (cost < best.cost) best = { cost, p, q };
  }
  const blocks: number[][] = [];
  for (const [ocStart, ocEnd] of splitRange(OC, best.p, 4)) for (const [cStart, cEnd] of splitRange(C, best.q, 8)) blocks.push([ocStart, ocEnd, cStart, cEnd]);
  return blocks;
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
      // dw in at most one block a thread: each block packs the rows of dout and inp it reads
      const blocks = weightGradientBlocks(OC, C, Math.min(parts, threads));
      const chunks = rowsAndShares(threads, parts, N, 4, blocks, [0, 0, 0, 0]).map((ranges) => [dinp, dw, dbias, dout, inp, w, N, C, OC, ...ranges, scratch, freshInput]);
      run('matmulBackwardShare', chunks, { argument: 15, bytes: 4 * k.matmulScratchFloats() });
    },
    attentionForward(out, att, qkv, B, T, C, NH, scratch) {
      const pairs = B * NH;
      const parts = chunkCount(threads, B * T * T * C, chunkThresholds.macs, pairs * Math.ceil(T / 4));
      if (parts === 1) return k.attentionForward(out, att, qkv, B, T, C, NH, scratch);
      // Fewer chunks than (sequence, head) pairs: whole pairs. More: each pair's queries cut into
      // pieces of equal work (a query's keys are those before it), so that chunks are many and
      // even, and cores of unequal speed still finish together.
      const chunks = parts <= pairs ? splitRange(pairs, parts).map(([a, b]) => [a, b, 0, T]) : pairPieces(pairs, T, Math.floor(parts / pairs));
      run('attentionForwardHeads', chunks.map((ranges) => [out, att, qkv, B, T, C, NH, scratch, ...ranges]), { argument: 7, bytes: 4 * k.attentionScratchFloats(T, C, NH) });
    },
    attentionBackward(dqkv, dout, qkv, att, B, T, C, NH, scratch, freshInput) {
      const pairs = B * NH;
      const parts = chunkCount(threads, 2 * B * T * T * C, chunkThresholds.macs, pairs * Math.ceil(T / 4));
      if (parts === 1) return k.attentionBackward(dqkv, dout, qkv, att, B, T, C, NH, scratch, freshInput);
      const scratchBytes = { argument: 8, bytes: 4 * k.attentionScratchFloats(T, C, NH) };
      if (parts <= pairs) return run('attentionBackwardHeads', splitRange(pairs, parts).map(([a, b]) => [dqkv, dout, qkv, att, B, T, C, NH, scratch, a, b, freshInput]), scratchBytes);
      // More chunks than pairs: three sections, each pair cut into pieces of equal work by the
      // positions each side's rows are summed over: dv by keys, then dq and the scores' gradient
      // (written over the probabilities dv has read) by queries, then dk by keys.
      const pieces = Math.floor(parts / pairs);
      const byKeys = pairPieces(pairs, T, pieces, 'keys');
      run('attentionBackwardKeys', byKeys.map((ranges) => [dqkv, dout, qkv, att, B, T, C, NH, ...ranges, 0, freshInput]));
      run('attentionBackwardQueries', pairPieces(pairs, T, pieces).map((ranges) => [dqkv, dout, qkv, att, B, T, C, NH, scratch, ...ranges, freshInput]), scratchBytes);
      run('attentionBackwardKeys', byKeys.map((ranges) => [dqkv, dout, qkv, att, B, T, C, NH, ...ranges, 1, freshInput]));
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
      const channels = splitRange(C, Math.min(parts, threads));
      run('layernormBackwardShare', rowsAndShares(threads, parts, N, 1, channels, [0, 0]).map((ranges) => [dinp, dw, db, dout, inp, w, mean, rstd, N, C, ...ranges]));
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
