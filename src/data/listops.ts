// ListOps, the Long Range Arena task (Nangia & Bowman 2018; Tay et al. 2020), generated as LRA's
// generator defines it: a tree of operators over the digits 0-9, each list opening with MIN, MAX,
// MED (median) or SM (sum modulo 10) and taking 2 to `maxArgs` arguments; below `maxDepth` a node
// is a list with probability 1 - VALUE_P, else a digit; expressions outside the length range are
// drawn again. The label is the expression's value, a digit: 10 classes.

import { SeededRandom } from '../model/random.js';

export type ListOpsTree = number | { op: ListOp; args: ListOpsTree[] };
export type ListOp = 'MIN' | 'MAX' | 'MED' | 'SM';
const OPERATORS: ListOp[] = ['MIN', 'MAX', 'MED', 'SM'];
/** A node below the maximum depth is a digit with this probability (LRA's VALUE_P). */
const VALUE_P = 0.25;

export interface ListOpsSettings {
  maxDepth: number;
  maxArgs: number;
  minLength: number;
  maxLength: number;
}

/** LRA's settings: depth 10, up to 10 arguments, 500 to 2000 symbols. */
export const LRA_LISTOPS: ListOpsSettings = { maxDepth: 10, maxArgs: 10, minLength: 500, maxLength: 2000 };

/**
 * A tree, or null once it is sure to exceed `budget.left` symbols: the draw is rejected then
 * anyway, so it stops early (the accepted trees are distributed as without the shortcut).
 */
function generateTree(random: SeededRandom, depth: number, s: ListOpsSettings, budget: { left: number }): ListOpsTree | null {
  const r = depth < s.maxDepth ? random.next() : 1;
  if (r > VALUE_P) {
    budget.left -= 1;
    return budget.left < 0 ? null : random.below(10);
  }
  budget.left -= 2; // the operator and the closing bracket
  const count = 2 + random.below(s.maxArgs - 1); // 2..maxArgs
  const args: ListOpsTree[] = [];
  for (let i = 0; i < count; i++) {
    const arg = generateTree(random, depth + 1, s, budget);
    if (arg === null) return null;
    args.push(arg);
  }
  return budget.left < 0 ? null : { op: OPERATORS[random.below(OPERATORS.length)], args };
}

/** The expression's symbols, as LRA writes them: `[MAX 4 3 [MIN 2 3 ] 1 0 ]`. */
export function listOpsSymbols(tree: ListOpsTree): string[] {
  if (typeof tree === 'number') return [String(tree)];
  return [`[${tree.op}`, ...tree.args.flatMap(listOpsSymbols), ']'];
}

/** The value of an expression. MED of an even count is the mean of the middle two, rounded down (LRA: int(np.median)). */
export function evaluateListOps(tree: ListOpsTree): number {
  if (typeof tree === 'number') return tree;
  const values = tree.args.map(evaluateListOps);
  switch (tree.op) {
    case 'MIN':
      return Math.min(...values);
    case 'MAX':
      return Math.max(...values);
    case 'SM':
      return values.reduce((a, b) => a + b, 0) % 10;
    case 'MED': {
      const sorted = values.slice().sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      return sorted.length % 2 ? sorted[mid] : Math.floor((sorted[mid - 1] + sorted[mid]) / 2);
    }
  }
}

/** `count` expressions with their values, deterministic given the seed. */
export function generateListOps(count: number, seed: number, settings: ListOpsSettings = LRA_LISTOPS): { symbols: string[]; value: number }[] {
  const random = new SeededRandom(seed);
  const out: { symbols: string[]; value: number }[] = [];
  while (out.length < count) {
    const tree = generateTree(random, 1, settings, { left: settings.maxLength });
    if (tree === null) continue;
    const symbols = listOpsSymbols(tree);
    if (symbols.length < settings.minLength || symbols.length > settings.maxLength) continue;
    out.push({ symbols, value: evaluateListOps(tree) });
  }
  return out;
}
