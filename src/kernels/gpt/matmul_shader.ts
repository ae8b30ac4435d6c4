// matmul.wgsl specialised to a tiling: the sizes become constants of the shader, so that an
// invocation's sums are registers and its loops unroll.

import { DEFAULT_WORKGROUP_BYTES, DEFAULT_WORKGROUP_INVOCATIONS, replaceBlock } from './specialise.js';

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
}

/**
 * The tilings compiled for every model, largest first. The large one does 32 multiply-adds an
 * invocation for every 3 vec4 reads of workgroup memory (the small one 16 for 2), but needs twice
 * the rows to fill a GPU. Measured on the H200 (bench/matmul.ts, bench/matmul/): 128 x 64 with
 * 8 x 4 an invocation ran GPT-2's products fastest (about 30 TFLOP/s); 8 x 8 an invocation spilled
 * its 64 sums as loops (2 TFLOP/s), and was slower than 8 x 4 unrolled. Unrolled, the large tiling
 * does not depend on the driver's compiler choosing to unroll its loops.
 */
export const MATMUL_TILINGS = {
  large: { tileM: 128, tileN: 64, threadM: 8, threadN: 4, depth: 16, unrolled: true },
  small: { tileM: 64, tileN: 64, threadM: 4, threadN: 4, depth: 16 },
} as const satisfies Record<string, MatmulTiling>;


/** matmul.wgsl with `tiling`'s constants, after checking that it fits WebGPU's default limits. */
export function matmulShader(code: string, tiling: MatmulTiling): string {
  const { tileM, tileN, threadM, threadN, depth, padded = false, unrolled = false } = tiling;
  const threads = (tileM / threadM) * (tileN / threadN);
  const problems: string[] = [];
  if (threadM % 4 || threadN % 4) problems.push('an invocation\'s rows and columns must be multiples of 4');
  if (tileM % threadM || tileN % threadN) problems.push('the tile must be a whole number of invocations\' parts');
  if (threads > DEFAULT_WORKGROUP_INVOCATIONS) problems.push(`${threads} invocations a workgroup; at most ${DEFAULT_WORKGROUP_INVOCATIONS}`);
  if ((tileM * depth) % threads || (tileN * depth) % threads) problems.push(`a step's ${tileM} x ${depth} and ${depth} x ${tileN} values do not divide among ${threads} invocations`);
  const pad = padded ? 1 : 0;
  const bytes = 16 * depth * (tileM / 4 + pad + tileN / 4 + pad); // matmul.wgsl's two tiles
  if (bytes > DEFAULT_WORKGROUP_BYTES) problems.push(`${bytes} bytes of workgroup memory; at most ${DEFAULT_WORKGROUP_BYTES}`);
  if (problems.length) throw new Error(`matmul tiling ${JSON.stringify(tiling)}: ${problems.join('; ')}`);
  const constants = [`const TILE_M = ${tileM}u;`, `const TILE_N = ${tileN}u;`, `const THREAD_M = ${threadM}u;`, `const THREAD_N = ${threadN}u;`, `const DEPTH = ${depth}u;`, `const PAD = ${pad}u;`];
  let specialised = replaceBlock('matmul.wgsl', code, 'const TILE_M = ', '// end of specialised constants', constants.join('\n') + '\n');
  if (!unrolled) return specialised;
  // The accumulators are indexed by constants only, so that the driver's compiler keeps them in
  // registers: left as loops, 64 of them (8 x 8) were spilled on the H200 (2 TFLOP/s against 30).
  const [groupsM, groupsN] = [threadM / 4, threadN / 4];
  const accumulator = (r: number, i: number, g: number) => (r * 4 + i) * groupsN + g;
  const multiplyAdds: string[] = [];
  for (let g = 0; g < groupsN; g++) multiplyAdds.push(`let b${g} = tile_b[kk][${g}u * THREADS_N + local.x];`);
  for (let r = 0; r < groupsM; r++) {
    multiplyAdds.push(`let a${r} = tile_a[kk][${r}u * THREADS_M + local.y];`);
    for (let i = 0; i < 4; i++) for (let g = 0; g < groupsN; g++) multiplyAdds.push(`acc[${accumulator(r, i, g)}] += a${r}.${'xyzw'[i]} * b${g};`);
  }
  const stores: string[] = [];
  for (let r = 0; r < groupsM; r++) {
    for (let i = 0; i < 4; i++) {
      for (let g = 0; g < groupsN; g++) stores.push(`store4(row0 + (${r}u * THREADS_M + local.y) * 4u + ${i}u, col0 + (${g}u * THREADS_N + local.x) * 4u, group.z, acc[${accumulator(r, i, g)}]);`);
    }
  }
  // The one-line loops over an invocation's staged values, written out the same way.
  const loads = { LOADS_A: (tileM * depth) / threads, LOADS_B: (tileN * depth) / threads };
  specialised = specialised.replace(/^( *)for \(var i = 0u; i < (LOADS_[AB]); i\+\+\) \{ (.*) \}$/gm, (_, indent: string, bound: 'LOADS_A' | 'LOADS_B', body: string) =>
    Array.from({ length: loads[bound] }, (_, i) => `${indent}{ ${body.replace(/\bi\b/g, `${i}u`)} }`).join('\n'),
  );
  specialised = replaceBlock('matmul.wgsl', specialised, '// begin unrolled multiply-adds', '// end unrolled multiply-adds', multiplyAdds.map((line) => `      ${line}\n`).join(''), true);
  return replaceBlock('matmul.wgsl', specialised, '// begin unrolled stores', '// end unrolled stores', stores.map((line) => `  ${line}\n`).join(''), true);
}

/** A tiling's name in pipeline labels (and so in profiles): 128x128/8x8/16, +pad, +unroll. */
export function matmulTilingLabel({ tileM, tileN, threadM, threadN, depth, padded, unrolled }: MatmulTiling): string {
  return `${tileM}x${tileN}/${threadM}x${threadN}/${depth}${padded ? '+pad' : ''}${unrolled ? '+unroll' : ''}`;
}
