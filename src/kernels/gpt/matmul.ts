// The launches of one matmul.wgsl product, C (M x N) [+]= A (M x K) . B (K x N) [+ bias], on
// strided views; and when to split it along K.
import { grid, type KernelLaunch, type GptKernels } from './webgpu.js';

/** The operands of a product: [buffer, offset, stride of the first index, stride of the second], in floats. */
export interface MatmulProduct {
  M: number;
  N: number;
  K: number;
  /** C += A . B rather than C = A . B. */
  accumulate: boolean;
  a: [GPUBuffer, number, number, number];
  b: [GPUBuffer, number, number, number];
  /** [buffer, offset] of N values added to each row, or null. */
  bias: [GPUBuffer, number] | null;
  /** [buffer, offset, row stride]. */
  c: [GPUBuffer, number, number];
}

const TILE = 64;
/** Workgroups that fill an H100 (132 SMs) about twice. */
const FILL = 264;

/**
 * A weight gradient is a small C over a long K (every position of the batch): too few tiles to
 * fill a GPU. Then K is cut into `splits` chunks of `kChunk` (a multiple of the kernel's 16).
 */
export function matmulSplits(M: number, N: number, K: number): { splits: number; kChunk: number } {
  const tiles = Math.ceil(M / TILE) * Math.ceil(N / TILE);
  const wanted = tiles < FILL / 2 && K >= 1024 ? Math.min(64, Math.ceil(K / 256), Math.ceil(FILL / tiles)) : 1;
  const kChunk = Math.ceil(K / wanted / 16) * 16;
  return { splits: Math.ceil(K / kChunk), kChunk };
}

/** Floats of scratch a split product needs (0 when it is not split). */
export function matmulScratchFloats({ M, N, K }: MatmulProduct): number {
  const { splits } = matmulSplits(M, N, K);
  return splits > 1 ? splits * M * N : 0;
}

/** The launches of a product; `scratch` (matmulScratchFloats floats at least) when it is split. */
export function matmulLaunches(k: GptKernels, m: MatmulProduct, scratch?: GPUBuffer): KernelLaunch[] {
  const { splits, kChunk } = matmulSplits(m.M, m.N, m.K);
  const [biasBuffer, biasOffset] = m.bias ?? [k.unused, 0];
  const uniforms = [m.M, m.N, m.K, m.accumulate ? 1 : 0, m.a[1], m.a[2], m.a[3], m.bias ? 1 : 0, m.b[1], m.b[2], m.b[3], biasOffset, m.c[1], m.c[2], kChunk, splits];
  const tiles: [number, number, number] = [Math.ceil(m.N / TILE), Math.ceil(m.M / TILE), splits];
  if (splits === 1) return [k.dispatch('matmul', 'matmul', uniforms, [m.a[0], m.b[0], biasBuffer, m.c[0]], tiles)];
  if (!scratch || scratch.size < 4 * splits * m.M * m.N) throw new Error(`matmul: a product split ${splits} ways needs ${splits * m.M * m.N} floats of scratch`);
  return [
    k.dispatch('matmul', 'matmul', uniforms, [m.a[0], m.b[0], k.unused, scratch], tiles),
    k.dispatch('matmul', 'reduce_splits', uniforms, [scratch, k.unused, biasBuffer, m.c[0]], grid(m.M * m.N, 256)),
  ];
}
