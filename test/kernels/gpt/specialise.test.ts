// specialise.ts's unrollLoops: the loops it writes out give the text a reader would write by hand,
// nested loops included; loops over bounds it is not given stay; a loop that breaks or continues is refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { unrollLoops } from '../../../src/kernels/gpt/specialise.js';

test('unrollLoops writes out loops over the literal and named bounds it is given, nested, and leaves the others', () => {
  const code = 'for (var i = 0u; i < 2u; i++) { for (var c = 0u; c < PARTS; c++) { s[i * 3u + c] += x; } }\nfor (var r = 0u; r < ROWS; r++) { t += r; }';
  const expected = '{ { s[0u * 3u + 0u] += x; } { s[0u * 3u + 1u] += x; } } { { s[1u * 3u + 0u] += x; } { s[1u * 3u + 1u] += x; } }\nfor (var r = 0u; r < ROWS; r++) { t += r; }';
  assert.is(unrollLoops('test', code, { '2u': 2, PARTS: 2 }), expected);
});

test('unrollLoops refuses a loop that breaks or continues, naming the shader and the variable', () => {
  assert.throws(() => unrollLoops('a.wgsl', 'for (var i = 0u; i < 4u; i++) { if (x) { continue; } }', { '4u': 4 }), /a\.wgsl: the loop over i breaks or continues/);
});

test.run();
