// What attention.wgsl and matmul.wgsl share as shaders specialised to a model: the limits a
// specialisation must keep within, and the rewriting of a marked block of the WGSL text.

/** WebGPU's default limits, which every adapter meets. */
export const DEFAULT_WORKGROUP_BYTES = 16384;
export const DEFAULT_WORKGROUP_INVOCATIONS = 256;

/**
 * `code` (the shader `name`) with the text from the line `start` begins to `end` replaced: `end`
 * is kept; with `keepMarkers`, the lines holding `start` and `end` both are, and only what lies
 * between them is replaced.
 */
export function replaceBlock(name: string, code: string, start: string, end: string, replacement: string, keepMarkers = false): string {
  const from = code.indexOf(start);
  const to = code.indexOf(end);
  if (from < 0 || to < 0) throw new Error(`${name}: the block '${start}' .. '${end}' is missing`);
  if (!keepMarkers) return code.slice(0, from) + replacement + code.slice(to);
  const lineEnd = code.indexOf('\n', from) + 1;
  return code.slice(0, lineEnd) + replacement + code.slice(code.lastIndexOf('\n', to) + 1);
}
