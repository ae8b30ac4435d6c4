// Characters, text8, bytes and pixels: round trips, definitions, saving, bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultCorpusText } from '../../src/data/corpus.js';
import { TokenizerInputError } from '../../src/errors.js';
import { ByteTokenizer, CharacterTokenizer, PixelTokenizer, normalizeText8, text8Tokenizer, tokenizerFromJSON, UNKNOWN_CHARACTER } from '../../src/tokenizers/index.js';
import { seededRandom } from '../helpers.js';

test('characters: a corpus vocabulary round-trips the corpus, ids in code-point order', async () => {
  const corpus = defaultCorpusText();
  const tokenizer = await CharacterTokenizer.fromCorpus(corpus);
  const ids = tokenizer.encode(corpus);
  assert.is(ids.length, [...corpus].length);
  assert.is(tokenizer.decode(ids), corpus);
  const codePoints = tokenizer.symbols.map((s) => s.codePointAt(0)!);
  assert.ok(codePoints.every((cp, i) => i === 0 || cp > codePoints[i - 1]), 'sorted by code point');
  assert.is(tokenizer.encode('a')[0], tokenizer.symbols.indexOf('a'));
});

test('characters: unknown characters are an error naming them, or U+FFFD under the replace policy', async () => {
  const strict = await CharacterTokenizer.fromCorpus('hello world');
  assert.throws(() => strict.encode('hello 😀'), (e: Error) => e instanceof TokenizerInputError && /"😀" \(U\+1F600\) at position 6 is not in the vocabulary/.test(e.message));
  const lenient = await CharacterTokenizer.fromCorpus('hello world', 'replace');
  const ids = lenient.encode('hello 😀 wörld');
  assert.is(lenient.decode(ids), `hello ${UNKNOWN_CHARACTER} w${UNKNOWN_CHARACTER}rld`);
  assert.throws(() => lenient.decode([lenient.vocabSize]), /token 0 is \d+, expected an integer id in 0\.\./);
  await assert.not.throws(async () => CharacterTokenizer.fromCorpus('x'));
  try {
    await CharacterTokenizer.fromCorpus('');
    assert.unreachable('an empty corpus makes no vocabulary');
  } catch (error) {
    assert.match((error as Error).message, /corpus is empty/);
  }
});

/** wikifil.pl's steps as regular expressions: the definition, written independently. */
function text8Definition(text: string): string {
  const words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  return text
    .replace(/[A-Z]/g, (ch) => ch.toLowerCase())
    .replace(/[0-9]/g, (d) => ` ${words[+d]} `)
    .replace(/[^a-z]+/g, ' ');
}

test('text8: normalisation matches its definition on prose and random strings; 27 symbols', async () => {
  const random = seededRandom(9);
  const samples = [defaultCorpusText().slice(0, 200_000), 'Année 1984: 3 CATS, 2 dogs!', '  ', '', '9', 'a\u0301b'];
  for (let n = 0; n < 500; n++) samples.push(Array.from({ length: 30 }, () => String.fromCharCode(Math.floor(random() * 0x250))).join(''));
  for (const text of samples) assert.is(normalizeText8(text), text8Definition(text), JSON.stringify(text.slice(0, 40)));
  const tokenizer = await text8Tokenizer();
  assert.is(tokenizer.vocabSize, 27);
  assert.is(tokenizer.decode(tokenizer.encode('The 2 Whales.')), 'the two whales ');
});

test('bytes: UTF-8 round trip; a stream splits no character; ids out of range refused', () => {
  const tokenizer = new ByteTokenizer();
  const text = 'naïve 😀 中文';
  const ids = tokenizer.encode(text);
  assert.is(ids.length, new TextEncoder().encode(text).length);
  assert.is(tokenizer.decode(ids), text);
  const stream = tokenizer.streamDecoder();
  let out = '';
  for (const id of ids) out += stream.push([id]);
  assert.is(out + stream.flush(), text);
  assert.throws(() => tokenizer.decode([256]), /token 0 is 256, expected an integer id in 0..255/);
});

test('pixels: interleaved and planar layouts invert each other', () => {
  const image = { width: 3, height: 2, channels: 3, data: Uint8Array.from({ length: 18 }, (_, i) => i * 10) };
  const planar = new PixelTokenizer('planar').encode(image);
  assert.equal(Array.from(planar.subarray(0, 6)), [0, 30, 60, 90, 120, 150], 'all of the first channel first');
  assert.equal(new PixelTokenizer('planar').decode(planar, 3, 2, 3), image);
  assert.equal(Array.from(new PixelTokenizer().encode(image)), Array.from(image.data));
  assert.throws(() => new PixelTokenizer().encode({ ...image, width: 4 }), /expected 4 x 2 x 3 = 24 bytes, found 18/);
  assert.throws(() => new PixelTokenizer('diagonal' as never), /'interleaved' or 'planar'/);
});

test('saved tokenizers come back the same, and a file that is not one is refused', async () => {
  const originals = [await CharacterTokenizer.fromCorpus('abc ', 'replace'), await text8Tokenizer(), new ByteTokenizer(), new PixelTokenizer('planar')];
  for (const original of originals) {
    const restored = await tokenizerFromJSON(JSON.parse(JSON.stringify(original.toJSON())));
    assert.equal(restored.toJSON(), original.toJSON());
  }
  const text8 = (await tokenizerFromJSON((await text8Tokenizer()).toJSON())) as CharacterTokenizer;
  assert.is(text8.decode(text8.encode('Hi 5')), 'hi five ');
  for (const bad of [null, {}, { type: 'wordpiece' }, { type: 'bpe', ranks: 'cl100k' }]) {
    try {
      await tokenizerFromJSON(bad, 'checkpoint tokenizer');
      assert.unreachable(`accepted ${JSON.stringify(bad)}`);
    } catch (error) {
      assert.instance(error, TokenizerInputError);
      assert.match((error as Error).message, /^checkpoint tokenizer: /);
    }
  }
});

test.run();
