// matmul.wgsl specialised to a tiling: the sizes become constants of the shader, so that an
// invocation's sums are registers and its loops unroll.

import { DEFAULT_WORKGROUP_BYTES, DEFAULT_WORKGROUP_INVOCATIONS, replaceBlock, unrollLoops } from './specialise.js';

/** How matmul.wgsl is specialised: a workgroup's tile of C, an invocation's part of it, K's step. */
export interface MatmulTiling {
  tileM: number;
  tileN: number;
  threadM: number;
  threadN: number;
  depth: number;
  /** A vec4 of padding a row of the workgroup tiles (fewer bank conflicts when staging along k). */
  padded?: boolean;
  /** The inner products, stores and staging written out with constant indices rather than as loops. */
  unrolled?: boolean;
  /** Rows of tiles a band, walked column by column (matmul.wgsl's tile_of); 1, row by row, when unset. */
  band?: number;
}

/**
 * How matmul.wgsl loads an operand (its A_LAYOUT and B_LAYOUT): one value at a time, or four at
 * once along K or along M (for A) or N (for B), the operand's axis of stride 1.
 */
export const MatmulLayout = { oneByOne: 0, alongK: 1, alongMN: 2 } as const;
export type MatmulLayout = (typeof MatmulLayout)[keyof typeof MatmulLayout];

/**
 * The tilings compiled for every model, largest first (matmul.ts picks per product). One: tiles of
 * 64 x 64, 128 invocations owning 8 x 4 of C each (32 multiply-adds for every 3 vec4 reads of
 * workgroup memory), written out (unrolled) so that its sums stay in registers whatever the
 * driver's compiler does with loops. Measured on the H200 beside five others in one command
 * (bench/gpu_training/h200-wide/matmul-tilings.json), it ran every GPT-2 product fastest (67.4 ms
 * for one layer's and the head's, against 76 to 88 ms), 4096^3 at 36 TFLOP/s (others 26 to 33) and
 * the paper model's small products about as fast as the best. Tiles of 128 x 64 (the default until
 * then) need twice the rows to fill the GPU and lost at K of 512 and less by up to 2.7x; 8 x 8 an
 * invocation, as loops, spilled its 64 sums (2 TFLOP/s), and written out lost on every GPT-2
 * product in tiles of 128 x 128, 128 x 64 and 64 x 64 (4096^3: 4.44, 4.55, 4.02 ms against 3.79;
 * bench/gpu_training/h200-wide/matmul-tilings-8x8.json). Its tiles are walked in bands of 8 rows:
 * GPT-2's head forward (B: 154 MB of token embeddings) 19.0 -> 17.6 ms, the other products within
 * 1 % (bench/gpu_training/h200-matmul-bands/).
 */
export const MATMUL_TILINGS = {
  default: { tileM: 64, tileN: 64, threadM: 8, threadN: 4, depth: 16, unrolled: true, band: 8 },
} as const satisfies Record<string, MatmulTiling>;


/** matmul.wgsl with `tiling`'s constants, after checking that it fits WebGPU's default limits. */
export function matmulShader(code: string, tiling: MatmulTiling): string {
  const { tileM, tileN, threadM, threadN, depth, padded = false, unrolled = false, band = 1 } = tiling;
  const threads = (tileM / threadM) * (tileN / threadN);
  const problems: string[] = [];
  if (threadM % 4 || threadN % 4) problems.push('an invocation\'s rows and columns must be multiples of 4');
  if (tileM % threadM || tileN % threadN) problems.push('the tile must be a whole number of invocations\' parts');
  if (threads > DEFAULT_WORKGROUP_INVOCATIONS) problems.push(`${threads} invocations a workgroup; at most ${DEFAULT_WORKGROUP_INVOCATIONS}`);
  // Each invocation stages whole vec4s of both tiles (matmul.wgsl's wide loads).
  if ((tileM * depth) % (4 * threads) || (tileN * depth) % (4 * threads)) problems.push(`a step's ${tileM} x ${depth} and ${depth} x ${tileN} values do not divide into vec4s among ${threads} invocations`);
  if (depth % 4) problems.push(`a depth of ${depth}; it must be a multiple of 4`);
  if (!Number.isInteger(band) || band < 1) problems.push(`a band of ${band} rows of tiles; it must be a whole number from 1`);
  const pad = padded ? 1 : 0;
  const bytes = 16 * depth * (tileM / 4 + pad + tileN / 4 + pad); // matmul.wgsl's two tiles
  if (bytes > DEFAULT_WORKGROUP_BYTES) problems.push(`${bytes} bytes of workgroup memory; at most ${DEFAULT_WORKGROUP_BYTES}`);
  if (problems.length) throw new Error(`matmul tiling ${JSON.stringify(tiling)}: ${problems.join('; ')}`);
  const constants = [`const TILE_M = ${tileM}u;`, `const TILE_N = ${tileN}u;`, `const THREAD_M = ${threadM}u;`, `const THREAD_N = ${threadN}u;`, `const DEPTH = ${depth}u;`, `const PAD = ${pad}u;`, `const BAND = ${band}u;`];
  let specialised = replaceBlock('matmul.wgsl', code, 'const TILE_M = ', '// end of specialised constants', constants.join('\n') + '\n');
  if (!unrolled) return specialised;
  // The accumulators are indexed by constants only, so that the driver's compiler keeps them in
  // registers: left as loops, 64 of them (8 x 8) were spilled on the H200 (2 TFLOP/s against 30).
  // K's step is written out too, so that the tiles' addresses are constants past the lane's own.
  const [groupsM, groupsN] = [threadM / 4, threadN / 4];
  const accumulator = (r: number, i: number, g: number) => (r * 4 + i) * groupsN + g;
  const multiplyAdds: string[] = [];
  for (let kk = 0; kk < depth; kk++) {
    const step: string[] = [];
    for (let g = 0; g < groupsN; g++) step.push(`let b${g} = tile_b[${kk}u][${g}u * THREADS_N + local.x];`);
    for (let r = 0; r < groupsM; r++) {
      step.push(`let a${r} = tile_a[${kk}u][${r}u * THREADS_M + local.y];`);
      for (let i = 0; i < 4; i++) for (let g = 0; g < groupsN; g++) step.push(`acc[${accumulator(r, i, g)}] += a${r}.${'xyzw'[i]} * b${g};`);
    }
    multiplyAdds.push(`{ ${step.join(' ')} }`);
  }
  const stores: string[] = [];
  for (let r = 0; r < groupsM; r++) {
    for (let i = 0; i < 4; i++) {
      for (let g = 0; g < groupsN; g++) stores.push(`store4(row0 + (${r}u * THREADS_M + local.y) * 4u + ${i}u, col0 + (${g}u * THREADS_N + local.x) * 4u, group.z, acc[${accumulator(r, i, g)}]);`);
    }
  }
  // The loops over an invocation's staged values, written out the same way.
  specialised = unrollLoops('matmul.wgsl', specialised, { LOADS_A: (tileM * depth) / threads, LOADS_B: (tileN * depth) / threads, VECS_A: (tileM * depth) / threads / 4, VECS_B: (tileN * depth) / threads / 4 });
  specialised = replaceBlock('matmul.wgsl', specialised, '// begin multiply-adds', '// end multiply-adds', multiplyAdds.map((line) => `    ${line}\n`).join(''), true);
  return replaceBlock('matmul.wgsl', specialised, '// begin stores', '// end stores', stores.map((line) => `  ${line}\n`).join(''), true);
}

/** A tiling's name in pipeline labels (and so in profiles): 128x128/8x8/16, +pad, +unroll, +band16. */
export function matmulTilingLabel({ tileM, tileN, threadM, threadN, depth, padded, unrolled, band }: MatmulTiling): string {
  return `${tileM}x${tileN}/${threadM}x${threadN}/${depth}${padded ? '+pad' : ''}${unrolled ? '+unroll' : ''}${band && band > 1 ? `+band${band}` : ''}`;
}
