// The order in which encoder.wgsl's backward_tokens sums the token table's gradient: every
// position, grouped by the token it holds. A counting sort on the CPU, which writes the tokens
// anyway: O(positions + vocabulary), stable, so that a token's positions keep ascending and each
// row of the gradient is summed in the order the reference sums it.

/** Positions 0 .. tokens.length - 1 ordered by token, ascending within a token. */
export function positionsByToken(tokens: ArrayLike<number>, vocabSize: number): Uint32Array {
  const starts = new Uint32Array(vocabSize + 1);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (!(token >= 0 && token < vocabSize && Number.isInteger(token))) throw new RangeError(`token ${token} at position ${i} is outside the vocabulary of ${vocabSize}`);
    starts[token + 1]++;
  }
  for (let v = 0; v < vocabSize; v++) starts[v + 1] += starts[v];
  const order = new Uint32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) order[starts[tokens[i]]++] = i;
  return order;
}
