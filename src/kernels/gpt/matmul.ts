// The launches of one matmul.wgsl product, C (M x N) [+]= A (M x K) . B (K x N) [+ bias], on
// strided views: which tiling of the shader runs it, and when to split it along K.
import { grid, type KernelLaunch, type GptKernels } from './webgpu.js';
import { MATMUL_TILINGS, MatmulLayout, type MatmulTiling } from './matmul_shader.js';

export { MATMUL_TILINGS, MatmulLayout, matmulTilingLabel, type MatmulTiling } from './matmul_shader.js';

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

/** Workgroups that fill a large GPU (an H100 or H200 has 132 SMs) about twice. */
const FILL = 264;

/**
 * Workgroups a product should launch at least: two fillings. With fewer, the last wave runs part
 * empty: on the H200 the MLP's weight gradients (3072 x 768 over 8192) ran at 20 TFLOP/s in 288
 * tiles of 128 x 64 and at 27 in 576 tiles of 64 x 64 (bench/gpu_training/h200-wide/).
 */
const ENOUGH = 2 * FILL;

const tilesOf = (M: number, N: number, t: MatmulTiling) => Math.ceil(M / t.tileM) * Math.ceil(N / t.tileN);

/** The shortest chunk of K a split hands one workgroup: shorter ones spend more on partial sums than they save. */
const MIN_CHUNK = 256;

/**
 * K from which a product that fills the GPU once but not twice is still split. On the H200
 * (bench/gpu_training/h200-split-k/): GPT-2's qkv weight gradient (432 tiles, K 8192) ran in
 * 0.854 ms split in 2 against 0.930 whole, but the paper model's products of 512 tiles over K of
 * 512 and 2048 ran 1.1 to 1.7x slower split in 2 (0.139 against 0.083 ms for 16384 x 128 x 512):
 * over a short K the partial sums' writes, their second pass and its launch cost more than the
 * fuller GPU gains.
 */
const LONG_K = 4096;

/**
 * How a product runs: the largest of `tilings` that has ENOUGH tiles; where none has, the
 * smallest, split along K (a weight gradient: a small C over every position of the batch) into
 * `splits` chunks of `kChunk` (a multiple of the tiling's depth) whose partial sums are added
 * after, as far as K allows: always below `enough / 2` tiles (one filling), and from there to
 * `enough` only over a LONG_K. `enough`: ENOUGH unless given (bench/matmul.ts asks what another
 * threshold would do).
 */
export function matmulPlan(M: number, N: number, K: number, tilings: readonly MatmulTiling[] = Object.values(MATMUL_TILINGS), enough = ENOUGH): { tiling: MatmulTiling; splits: number; kChunk: number } {
  const smallest = tilings[tilings.length - 1];
  const tiling = tilings.find((t) => tilesOf(M, N, t) >= enough) ?? smallest;
  const tiles = tilesOf(M, N, tiling);
  const split = tiles < enough / 2 || (tiles < enough && K >= LONG_K);
  const wanted = !split ? 1 : Math.max(1, Math.min(64, Math.floor(K / MIN_CHUNK), Math.ceil(enough / tiles)));
  const kChunk = Math.max(tiling.depth, Math.ceil(K / wanted / tiling.depth) * tiling.depth);
  return { tiling, splits: Math.max(1, Math.ceil(K / kChunk)), kChunk };
}

/** Floats of scratch a split product needs (0 when it is not split). */
export function matmulScratchFloats({ M, N, K }: Pick<MatmulProduct, 'M' | 'N' | 'K'>, tilings?: readonly MatmulTiling[], enough?: number): number {
  const { splits } = matmulPlan(M, N, K, tilings, enough);
  return splits > 1 ? splits * M * N : 0;
}

/**
 * How matmul.wgsl can load an operand, [buffer, offset, stride of M (or N), stride of K] in floats,
 * for a product over K: four values at once along the axis of stride 1 where the offset and the
 * other stride are multiples of 4 (every vec4 then lies whole in the operand's row), and along K
 * only where K is too (a step's last vec4 must not run past K); else one by one.
 */
export function operandLayout(offset: number, strideMN: number, strideK: number, K: number): MatmulLayout {
  if (offset % 4) return MatmulLayout.oneByOne;
  if (strideK === 1 && strideMN % 4 === 0 && K % 4 === 0) return MatmulLayout.alongK;
  if (strideMN === 1 && strideK % 4 === 0) return MatmulLayout.alongMN;
  return MatmulLayout.oneByOne;
}

/** matmul.wgsl binds A, B and the split scratch as vec4s: a float past the last whole vec4 could not be read. */
function checkVec4Sized(buffer: GPUBuffer, role: string): void {
  if (buffer.size % 16) throw new Error(`matmul: ${role}'s buffer is ${buffer.size} bytes, not a multiple of 16; the shader reads it as vec4s (createBuffer in runtime/webgpu.ts rounds sizes up)`);
}

/**
 * The launches of a product; `scratch` (matmulScratchFloats floats at least) when it is split.
 * `tilings`: those to choose among (each compiled by `k`), all of them unless given; `enough`: as
 * matmulPlan's.
 */
export function matmulLaunches(k: GptKernels, m: MatmulProduct, scratch?: GPUBuffer, tilings?: readonly MatmulTiling[], enough?: number): KernelLaunch[] {
  const { tiling, splits, kChunk } = matmulPlan(m.M, m.N, m.K, tilings, enough);
  const [biasBuffer, biasOffset] = m.bias ?? [k.unused, 0];
  const uniforms = [m.M, m.N, m.K, m.accumulate ? 1 : 0, m.a[1], m.a[2], m.a[3], m.bias ? 1 : 0, m.b[1], m.b[2], m.b[3], biasOffset, m.c[1], m.c[2], kChunk, splits];
  const tiles: [number, number, number] = [Math.ceil(m.N / tiling.tileN), Math.ceil(m.M / tiling.tileM), splits];
  checkVec4Sized(m.a[0], 'A');
  checkVec4Sized(m.b[0], 'B');
  const entry = k.matmulEntry(tiling, [operandLayout(m.a[1], m.a[2], m.a[3], m.K), operandLayout(m.b[1], m.b[3], m.b[2], m.K)]);
  if (splits === 1) return [k.dispatch('matmul', entry, uniforms, [m.a[0], m.b[0], biasBuffer, m.c[0]], tiles)];
  if (!scratch || scratch.size < 4 * splits * m.M * m.N) throw new Error(`matmul: a product split ${splits} ways needs ${splits * m.M * m.N} floats of scratch`);
  checkVec4Sized(scratch, 'the split scratch');
  return [
    k.dispatch('matmul', entry, uniforms, [m.a[0], m.b[0], k.unused, scratch], tiles),
    k.dispatch('matmul', 'reduce_splits', uniforms, [scratch, k.unused, biasBuffer, m.c[0]], grid(m.M * m.N, 64)), // 64 entries a workgroup
  ];
}
