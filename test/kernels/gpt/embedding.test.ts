// positionsByToken (the order encoder.wgsl sums the token table's gradient in) against a stable
// comparison sort of the positions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { positionsByToken } from '../../../src/kernels/gpt/embedding.js';
import { seededRandom } from '../../helpers.js';

test('positionsByToken groups positions by token, ascending within each, as a stable sort does', () => {
  const random = seededRandom(3);
  for (const [n, vocabulary] of [[0, 5], [1, 1], [37, 3], [1000, 50257]]) {
    const tokens = Int32Array.from({ length: n }, () => Math.floor(random() * vocabulary));
    const expected = Array.from({ length: n }, (_, i) => i).sort((a, b) => tokens[a] - tokens[b] || a - b);
    assert.equal(Array.from(positionsByToken(tokens, vocabulary)), expected, `${n} positions, vocabulary ${vocabulary}`);
  }
});

test('positionsByToken refuses a token outside the vocabulary, naming it and its position', () => {
  assert.throws(() => positionsByToken(Int32Array.of(0, 7, 2), 7), /token 7 at position 1 is outside the vocabulary of 7/);
  assert.throws(() => positionsByToken(Int32Array.of(-1), 7), /token -1 at position 0/);
});

test.run();
