// ListOps expressions (Long Range Arena) as symbols: the ten digits first, so that a digit's id is
// its value (the answer of an expression is a digit and doubles as its class), then the four
// operators opening a list, the bracket closing one, and padding.

import { TokenizerInputError } from '../errors.js';

export const LISTOPS_SYMBOLS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '[MIN', '[MAX', '[MED', '[SM', ']', '<pad>'] as const;
export const LISTOPS_PAD = LISTOPS_SYMBOLS.indexOf('<pad>');

export class ListOpsTokenizer {
  readonly kind = 'listops';
  readonly vocabSize = LISTOPS_SYMBOLS.length;

  /** Space-separated symbols, as LRA writes the expressions: `[MAX 4 3 [MIN 2 3 ] 1 0 ]`. */
  encode(expression: string): Uint32Array {
    const words = expression.trim().split(/\s+/).filter(Boolean);
    return Uint32Array.from(words, (word, i) => {
      const id = (LISTOPS_SYMBOLS as readonly string[]).indexOf(word);
      if (id < 0) throw new TokenizerInputError(`listops: symbol ${i} '${word}' is not one of ${LISTOPS_SYMBOLS.join(' ')}`);
      return id;
    });
  }

  decode(ids: ArrayLike<number>): string {
    return Array.from(ids, (id) => LISTOPS_SYMBOLS[id] ?? '?').join(' ');
  }

  toJSON() {
    return { type: 'listops' as const };
  }
}
