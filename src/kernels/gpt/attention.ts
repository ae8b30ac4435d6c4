// Specialises the attention shaders to one model: the head size and the tiling become constants
// of the shader, so each invocation's head vectors are registers rather than dynamically indexed
// memory. Three shaders compute the same thing:
//   attention.wgsl: `split` invocations share each row's walk over the keys, each holding the
//     row's whole head vectors. Runs on every adapter; best for small heads.
//   attention-subgroup.wgsl: `lanes` invocations of one subgroup share each row's head vector,
//     each holding a slice of it. Needs the `subgroups` feature; best for large heads, where whole
//     vectors spill (bench/attention.ts).
//   attention-blocks.wgsl: each invocation computes a 4 x `columns` block of scores, and the outputs
//     through blocks of probabilities in workgroup memory (FlashAttention-2's layout). Needs
//     `subgroups` and more workgroup memory than WebGPU's default.

import { DEFAULT_WORKGROUP_BYTES, DEFAULT_WORKGROUP_INVOCATIONS, replaceBlock, unrollLoops } from './specialise.js';

/** attention.wgsl's tiling. */
export interface KeySplitTiling {
  /** Rows (queries, or keys in the key-value pass) one workgroup owns. */
  queries: number;
  /** Invocations that share one row's walk over the other side. */
  split: number;
  /** Rows staged in workgroup memory per round. */
  block: number;
}

/** attention-subgroup.wgsl's tiling. */
export interface HeadSplitTiling {
  /** Rows one workgroup owns. */
  queries: number;
  /** Invocations of a subgroup that share one row's head vector: a power of two, at most the subgroup size. */
  lanes: number;
  /** Rows staged in workgroup memory per round. */
  block: number;
}

/** attention-blocks.wgsl's tiling. */
export interface ScoreBlockTiling {
  /** Rows one workgroup owns, and rows staged a round: a power of two, at least 4. */
  queries: number;
  /** Round rows an invocation scores against its 4 own rows (its block of scores: 4 x columns): 4, 2 or 1. */
  columns: 1 | 2 | 4;
}

/** How attention divides its work; the shader follows from the kind. */
export type AttentionTiling = KeySplitTiling | HeadSplitTiling | ScoreBlockTiling;

export const isHeadSplit = (tiling: AttentionTiling): tiling is HeadSplitTiling => 'lanes' in tiling;
export const isScoreBlocks = (tiling: AttentionTiling): tiling is ScoreBlockTiling => 'columns' in tiling;
/** Whether the tiling's shader needs the device's `subgroups` (and so its own limits, not WebGPU's defaults). */
export const needsSubgroups = (tiling: AttentionTiling): boolean => isHeadSplit(tiling) || isScoreBlocks(tiling);

/** Subgroup lanes a tiling's shader exchanges values across: a head split's lanes, the invocations sharing a score block's rows. */
export function subgroupLanes(tiling: AttentionTiling): number {
  return isHeadSplit(tiling) ? tiling.lanes : isScoreBlocks(tiling) ? tiling.queries / tiling.columns : 1;
}

/** What a device offers that the choice of tiling depends on (a GPUDevice has all of it). */
export interface AttentionDevice {
  features: { has(name: string): boolean };
  limits: { maxComputeWorkgroupStorageSize: number; maxComputeInvocationsPerWorkgroup: number };
  adapterInfo?: { subgroupMinSize?: number };
}

/**
 * Head sizes from which the head-split shader is chosen where the device has subgroups. On the
 * H200 (bench/attention.ts) the key split was faster at head size 16 (0.92 ms forward and
 * backward at the paper's shape against 1.15), the head split at 64; 32 lies between, untimed.
 */
const HEAD_SPLIT_FROM = 32;
/** Lanes a row in the default head split: 2 ran GPT-2's attention fastest on the H200 (4.3 ms forward and backward against 5.8 with 4 lanes and 6.4 for the key split). */
const HEAD_SPLIT_LANES = 2;

/**
 * Head sizes up to which the key split takes 64 rows a workgroup, 2 threads a row: at the paper's
 * shape (head size 16) on the H200 its forward and backward took 0.81 ms against 0.92 with 32 rows
 * and 4 threads, in two commands a day apart (bench/gpu_training/h200-submit-chunks/). Larger heads
 * are unmeasured so.
 */
const SMALL_HEAD = 16;

/** Why `device` cannot run a shader that exchanges values across `lanes` subgroup lanes, or null when it can. */
export function subgroupLanesUnsupported(device: AttentionDevice | undefined, lanes: number): string | null {
  if (!device?.features.has('subgroups')) return "the device has no 'subgroups' feature";
  const size = device.adapterInfo?.subgroupMinSize;
  if (!size || size < lanes) return `its subgroups may have ${size ?? 'an unknown number of'} invocations, fewer than ${lanes} lanes`;
  return null;
}

/**
 * The tiling used unless one is given. Large heads on a device with subgroups: 64 rows a
 * workgroup, 2 lanes a row, a staged block of 32 rows where the device's workgroup memory holds it
 * (64 was slower on the H200).
 * Otherwise 32 rows a workgroup, 4 threads a row (64 and 2 for small heads), and the largest
 * staged block that fits WebGPU's default workgroup memory; fewer rows for very large heads.
 * (bench/attention.ts.)
 */
export function defaultAttentionTiling(headSize: number, device?: AttentionDevice): AttentionTiling {
  if (headSize >= HEAD_SPLIT_FROM && device && !subgroupLanesUnsupported(device, HEAD_SPLIT_LANES)) {
    for (const queries of [64, 32]) {
      for (const block of [32, 16, 8]) {
        const tiling = { queries, lanes: HEAD_SPLIT_LANES, block };
        if (attentionWorkgroupBytes(headSize, tiling) <= device.limits.maxComputeWorkgroupStorageSize && queries * HEAD_SPLIT_LANES <= device.limits.maxComputeInvocationsPerWorkgroup) return tiling;
      }
    }
  }
  const keySplits = headSize <= SMALL_HEAD ? [[64, 2], [32, 4], [16, 4], [8, 4]] : [[32, 4], [16, 4], [8, 4]];
  for (const [queries, split] of keySplits) {
    for (const block of [32, 16, 8]) {
      const tiling = { queries, split, block };
      if (attentionWorkgroupBytes(headSize, tiling) <= DEFAULT_WORKGROUP_BYTES) return tiling;
    }
  }
  throw new Error(`attention: head size ${headSize} does not fit WebGPU's ${DEFAULT_WORKGROUP_BYTES} bytes of workgroup memory; use more heads`);
}

/** attention-blocks.wgsl's head in vec4s, rounded up to a multiple of the invocations sharing a row (each owns a share). */
function scoreBlockHead4(headSize: number, { queries, columns }: ScoreBlockTiling): number {
  const sharing = queries / columns;
  return Math.ceil(Math.ceil(headSize / 4) / sharing) * sharing;
}

/** Workgroup memory the shader declares, in bytes (the most any of its entry points uses). */
export function attentionWorkgroupBytes(headSize: number, tiling: AttentionTiling): number {
  const head4 = Math.ceil(headSize / 4);
  if (isScoreBlocks(tiling)) {
    const rows = tiling.queries;
    // four staged blocks of rows (one vec4 of padding each), two blocks of probabilities, (lse, delta) a row
    return 16 * 4 * rows * (scoreBlockHead4(headSize, tiling) + 1) + 16 * 2 * rows * (rows / 4) + 8 * rows;
  }
  if (isHeadSplit(tiling)) {
    const row4 = tiling.lanes * Math.ceil(head4 / tiling.lanes);
    return 16 * 2 * tiling.block * row4 + 8 * tiling.block; // two staged blocks and (lse, delta) a row
  }
  // One array for two phases (attention.wgsl's SHARED), in vec4s of 16 bytes.
  return 16 * Math.max(2 * tiling.block * head4 + tiling.block, tiling.queries * head4 + tiling.queries);
}

/**
 * The attention shader for `tiling`, specialised to `headSize`, after checking the tiling against
 * `limits` (WebGPU's defaults unless given: the device's for the shaders that need subgroups).
 */
export function attentionShader(code: { keySplit: string; headSplit: string; scoreBlocks: string }, headSize: number, tiling: AttentionTiling, limits = { bytes: DEFAULT_WORKGROUP_BYTES, invocations: DEFAULT_WORKGROUP_INVOCATIONS }): string {
  const problems: string[] = [];
  if (!Number.isInteger(headSize) || headSize < 1) problems.push(`head size ${headSize} is not a positive integer`);
  const invocations = isScoreBlocks(tiling) ? (tiling.queries / 4) * (tiling.queries / tiling.columns) : tiling.queries * (isHeadSplit(tiling) ? tiling.lanes : tiling.split);
  if (invocations > limits.invocations) problems.push(`${invocations} threads a workgroup; at most ${limits.invocations}`);
  if (isScoreBlocks(tiling)) {
    if (![1, 2, 4].includes(tiling.columns)) problems.push(`columns ${tiling.columns}: the shader scores 4, 2 or 1 round rows an invocation`);
    if (!(tiling.queries >= 4 && Number.isInteger(Math.log2(tiling.queries)))) problems.push(`queries ${tiling.queries} is not a power of two of at least 4`);
  } else if (isHeadSplit(tiling)) {
    if (!Number.isInteger(Math.log2(tiling.lanes))) problems.push(`lanes ${tiling.lanes} is not a power of two`);
    if (tiling.block > invocations) problems.push(`block ${tiling.block} rows exceed the ${invocations} threads that stage their scalars`);
  } else {
    if (tiling.block % tiling.split !== 0) problems.push(`block ${tiling.block} is not a multiple of split ${tiling.split}`);
    if (tiling.block > invocations) problems.push(`block ${tiling.block} rows exceed the ${invocations} threads that stage their scalars`);
  }
  const bytes = attentionWorkgroupBytes(headSize, tiling);
  if (bytes > limits.bytes) problems.push(`${bytes} bytes of workgroup memory; at most ${limits.bytes} (a smaller block or fewer queries)`);
  if (problems.length) throw new Error(`attention: head size ${headSize}, tiling ${JSON.stringify(tiling)}: ${problems.join('; ')}`);
  const head4 = Math.ceil(headSize / 4);
  if (isScoreBlocks(tiling)) {
    const head4p = scoreBlockHead4(headSize, tiling);
    const constants = [`const HEAD = ${headSize}u;`, `const HEAD4 = ${head4}u;`, `const ROWS = ${tiling.queries}u;`, `const COLS = ${tiling.columns}u;`, `const HEAD4P = ${head4p}u;`];
    const specialised = replaceBlock('attention-blocks.wgsl', code.scoreBlocks, 'const HEAD = ', '// end of specialised constants', constants.join('\n') + '\n');
    return unrollLoops('attention-blocks.wgsl', specialised, { '4u': 4, COLS: tiling.columns, PARTS: head4p / (tiling.queries / tiling.columns) });
  }
  if (isHeadSplit(tiling)) {
    const { queries, lanes, block } = tiling;
    const constants = [
      `const HEAD = ${headSize}u;`,
      `const HEAD4 = ${head4}u;`,
      `const LANES = ${lanes}u;`,
      `const SLICE4 = ${Math.ceil(head4 / lanes)}u;`,
      `const QUERIES = ${queries}u;`,
      `const BLOCK = ${block}u;`,
    ];
    return replaceBlock('attention-subgroup.wgsl', code.headSplit, 'const HEAD = ', '// end of specialised constants', constants.join('\n') + '\n');
  }
  const { queries, split, block } = tiling;
  const constants = [`const HEAD = ${headSize}u;`, `const HEAD4 = ${head4}u;`, `const QUERIES = ${queries}u;`, `const SPLIT = ${split}u;`, `const BLOCK = ${block}u;`];
  return replaceBlock('attention.wgsl', code.keySplit, 'const HEAD = ', '// end of specialised constants', constants.join('\n') + '\n');
}
