// Specialises attention.wgsl to one model: the head size and the tiling become constants of the
// shader, so each thread's head vectors are registers rather than dynamically indexed memory.

import { DEFAULT_WORKGROUP_BYTES, DEFAULT_WORKGROUP_INVOCATIONS, replaceBlock } from './specialise.js';

/** How attention.wgsl divides the work (see the shader's header). */
export interface AttentionTiling {
  /** Rows (queries, or keys in the key-value pass) one workgroup owns. */
  queries: number;
  /** Threads that share one row's walk over the other side. */
  split: number;
  /** Rows staged in workgroup memory per round. */
  block: number;
}


/**
 * The tiling used unless one is given: 32 rows a workgroup, 4 threads a row, and the largest
 * staged block that fits WebGPU's default workgroup memory; fewer rows for very large heads.
 * (Measured on an H100: bench/attention.ts.)
 */
export function defaultAttentionTiling(headSize: number): AttentionTiling {
  for (const queries of [32, 16, 8]) {
    for (const block of [32, 16, 8]) {
      const tiling = { queries, split: 4, block };
      if (attentionWorkgroupBytes(headSize, tiling) <= DEFAULT_WORKGROUP_BYTES) return tiling;
    }
  }
  throw new Error(`attention: head size ${headSize} does not fit WebGPU's ${DEFAULT_WORKGROUP_BYTES} bytes of workgroup memory; use more heads`);
}

/** Workgroup memory the shader declares, in bytes (its SHARED constant, in vec4s of 16 bytes). */
export function attentionWorkgroupBytes(headSize: number, tiling: AttentionTiling): number {
  const head4 = Math.ceil(headSize / 4);
  return 16 * Math.max(2 * tiling.block * head4 + tiling.block, tiling.queries * head4 + tiling.queries);
}

export function attentionShader(code: string, headSize: number, tiling: AttentionTiling = defaultAttentionTiling(headSize)): string {
  const { queries, split, block } = tiling;
  const problems: string[] = [];
  if (!Number.isInteger(headSize) || headSize < 1) problems.push(`head size ${headSize} is not a positive integer`);
  if (block % split !== 0) problems.push(`block ${block} is not a multiple of split ${split}`);
  if (queries * split > DEFAULT_WORKGROUP_INVOCATIONS) problems.push(`${queries * split} threads a workgroup; at most ${DEFAULT_WORKGROUP_INVOCATIONS}`);
  if (block > queries * split) problems.push(`block ${block} rows exceed the ${queries * split} threads that stage their scalars`);
  const bytes = attentionWorkgroupBytes(headSize, tiling);
  if (bytes > DEFAULT_WORKGROUP_BYTES) problems.push(`${bytes} bytes of workgroup memory; at most ${DEFAULT_WORKGROUP_BYTES} (a smaller block or fewer queries)`);
  if (problems.length) throw new Error(`attention: head size ${headSize}, tiling ${JSON.stringify(tiling)}: ${problems.join('; ')}`);
  const constants = [
    `const HEAD = ${headSize}u;`,
    `const HEAD4 = ${Math.ceil(headSize / 4)}u;`,
    `const QUERIES = ${queries}u;`,
    `const SPLIT = ${split}u;`,
    `const BLOCK = ${block}u;`,
  ];
  return replaceBlock('attention.wgsl', code, 'const HEAD = ', '// end of specialised constants', constants.join('\n') + '\n');
}
