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

/**
 * `code` with every loop `for (var X = 0u; X < BOUND; X++) { ... }` whose BOUND is a key of
 * `bounds` (a constant's name, `COLS`, or a literal, `4u`) written out: its body once per X, in
 * braces, with X replaced by the constant. Register arrays indexed by loop variables were kept in
 * local memory by the NVIDIA driver's compiler (Dawn, Vulkan) rather than unrolled:
 * attention-blocks.wgsl ran 4x slower so, and matmul.wgsl's 64 sums spilled. A body must not
 * `break` or `continue` the loop it is in.
 */
export function unrollLoops(name: string, code: string, bounds: Record<string, number>): string {
  const header = /for \(var (\w+) = 0u; \1 < (\w+); \1\+\+\) \{/g;
  for (;;) {
    header.lastIndex = 0;
    let match: RegExpExecArray | null;
    let found: { match: RegExpExecArray; count: number } | undefined;
    while ((match = header.exec(code))) {
      const count = bounds[match[2]];
      if (count !== undefined) {
        found = { match, count };
        break;
      }
    }
    if (!found) return code;
    const { match: m, count } = found;
    const open = m.index + m[0].length - 1;
    let depth = 0;
    let close = open;
    for (; close < code.length; close++) {
      if (code[close] === '{') depth++;
      else if (code[close] === '}' && --depth === 0) break;
    }
    if (close >= code.length) throw new Error(`${name}: the loop over ${m[1]} at ${m.index} has no closing brace`);
    const body = code.slice(open + 1, close);
    if (/\b(break|continue)\b/.test(body)) throw new Error(`${name}: the loop over ${m[1]} breaks or continues; it cannot be written out`);
    const variable = new RegExp(`\\b${m[1]}\\b`, 'g');
    const copies = Array.from({ length: count }, (_, k) => `{${body.replace(variable, `${k}u`)}}`).join(' ');
    code = code.slice(0, m.index) + copies + code.slice(close + 1);
  }
}
