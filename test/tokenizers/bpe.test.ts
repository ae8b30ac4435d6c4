// GPT-2 BPE against tiktoken (its WASM build, the reference implementation), id for id.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { get_encoding } from 'tiktoken';
import { defaultCorpusText } from '../../src/data/corpus.js';
import { TokenizerInputError } from '../../src/errors.js';
import { BpeTokenizer } from '../../src/tokenizers/bpe.js';
import { loadGpt2Ranks, ranksFromHuggingFace } from '../../src/tokenizers/ranks.js';
import { tokenizerFromJSON } from '../../src/tokenizers/index.js';
import { seededRandom } from '../helpers.js';

const tiktoken = get_encoding('gpt2');
let ours: Promise<BpeTokenizer> | undefined;
const gpt2 = () => (ours ??= loadGpt2Ranks().then((ranks) => BpeTokenizer.create(ranks, readFileSync('build/tokenizers.wasm'))));

/** Several MB of mixed text: prose, code, numbers, white space, emoji, CJK, combining marks, lone surrogates. */
function mixedText(): string {
  const random = seededRandom(1);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];
  const prose = defaultCorpusText(); // 1.2 MB
  const require = createRequire(import.meta.url);
  const code = readFileSync(require.resolve('typescript/lib/typescript.js'), 'utf8').slice(0, 1_500_000);
  const fragments = ['  ', '\t\t', '\n\n\n', '    \n', ' \u00a0 ', '\u3000', '12345', '3.14159', '1,000,000', '½ ¾', '٣٤٥', '😀', '👍🏽', '👨‍👩‍👧', '🇫🇷', '中文字符', '日本語のテキスト', '한국어', 'e\u0301', 'a\u0308\u0304', 'Привет', 'مرحبا', 'שלום', 'ภาษาไทย', "don't", "IT'S", "we'll", "'ve", '\ud800', '\udfff', 'x\ud83dy', '\u0085', '\ufeff', '\u2028'];
  let synthetic = '';
  while (synthetic.length < 600_000) synthetic += pick(fragments) + (random() < 0.5 ? ' ' : '') + pick(['word', 'Word', '', 'x', '42']);
  return prose + code + synthetic;
}

test('encode equals tiktoken on several MB of mixed text, and decode gives the text back', async () => {
  const tokenizer = await gpt2();
  const text = mixedText();
  assert.ok(text.length > 3_000_000, `${text.length} characters`);
  const chunkSize = 200_000; // tiktoken's WASM keeps memory per call; chunks on line breaks
  let from = 0;
  while (from < text.length) {
    let to = Math.min(text.length, from + chunkSize);
    const newline = text.indexOf('\n', to);
    to = newline < 0 ? text.length : newline + 1;
    const piece = text.slice(from, to);
    const expected = tiktoken.encode(piece, [], []);
    const found = tokenizer.encode(piece, { specialTokens: 'as-text' });
    if (found.length !== expected.length || found.some((id, i) => id !== expected[i])) {
      const i = found.findIndex((id, k) => id !== expected[k]);
      assert.unreachable(`chars ${from}..${to}: first difference at token ${i}: ours ${found.slice(i, i + 5)}, tiktoken ${expected.slice(i, i + 5)} ("${tokenizer.decode(found.slice(Math.max(0, i - 3), i + 3))}")`);
    }
    assert.is(tokenizer.decode(found), new TextDecoder().decode(new TextEncoder().encode(piece)), `chars ${from}..${to} round trip`);
    from = to;
  }
});

test('fuzz: random strings over all of Unicode equal tiktoken and round-trip', async () => {
  const tokenizer = await gpt2();
  const random = seededRandom(2);
  const alphabet = [" ", "  ", "\t", "\n", "\r\n", "'", "'s", "'ll", "a", "Z", "é", "ß", "0", "9", ".", ",", "!", "-", "_", "😀", "中", "\u0301", "\u00a0", "\u0085", "\ufeff", "\ud800", "\udc00"];
  for (let n = 0; n < 3000; n++) {
    let s = '';
    const length = Math.floor(random() * 40);
    for (let i = 0; i < length; i++) {
      s += random() < 0.7 ? alphabet[Math.floor(random() * alphabet.length)] : String.fromCodePoint(Math.floor(random() * 0x30000));
    }
    const expected = Array.from(tiktoken.encode(s, [], []));
    const found = Array.from(tokenizer.encode(s, { specialTokens: 'as-text' }));
    assert.equal(found, expected, `string ${n}: ${JSON.stringify(s)}`);
    assert.is(tokenizer.decode(found), new TextDecoder().decode(new TextEncoder().encode(s)), `string ${n} round trip`);
  }
});

test('<|endoftext|>: refused by default, encoded as one token when allowed, as text on request', async () => {
  const tokenizer = await gpt2();
  const text = 'end of one<|endoftext|>start of another';
  assert.throws(() => tokenizer.encode(text), (error: Error) => error instanceof TokenizerInputError && /special token <\|endoftext\|> at character 10/.test(error.message));
  assert.equal(Array.from(tokenizer.encode(text, { specialTokens: 'allow' })), Array.from(tiktoken.encode(text, 'all')));
  assert.ok(tokenizer.encode(text, { specialTokens: 'allow' }).includes(50256));
  assert.equal(Array.from(tokenizer.encode(text, { specialTokens: 'as-text' })), Array.from(tiktoken.encode(text, [], [])));
  assert.is(tokenizer.decode([50256]), '<|endoftext|>');
  assert.is(tokenizer.vocabSize, 50257);
});

test('streaming decode yields each character once it is complete', async () => {
  const tokenizer = await gpt2();
  const text = 'Emoji 👨‍👩‍👧 and 中文 split across byte tokens.';
  const ids = tokenizer.encode(text);
  const stream = tokenizer.streamDecoder();
  let out = '';
  for (const id of ids) {
    const piece = stream.push([id]);
    assert.not.ok(piece.includes('\ufffd'), 'no replacement character for a split character');
    out += piece;
  }
  assert.is(out + stream.flush(), text);
});

test('bad input: ids out of range, a non-string, a tokenizer.json that is not one', async () => {
  const tokenizer = await gpt2();
  assert.throws(() => tokenizer.decode([5, 50257]), /token 1 is 50257, expected an integer id in 0..50256/);
  assert.throws(() => tokenizer.decode([-1]), /token 0 is -1/);
  assert.throws(() => tokenizer.decode([1.5]), /token 0 is 1.5/);
  assert.throws(() => tokenizer.encode(42 as never), /expected a string, found number/);
  assert.throws(() => ranksFromHuggingFace('{not json'), /tokenizer.json: not JSON/);
  assert.throws(() => ranksFromHuggingFace('{"model":{"type":"WordPiece","vocab":{}}}'), /expected a model of type 'BPE'.*found type 'WordPiece'/);
  assert.throws(() => ranksFromHuggingFace('{"model":{"type":"BPE","vocab":{"ab":0,"\u4e2d":1}}}'), /not in the byte-level alphabet/);
});

test('a Hugging Face tokenizer.json: GPT-2\'s gives the same ids as tiktoken; add_prefix_space honoured; every other field that changes ids refused by name', async () => {
  // Written here from the r50k table, in tokenizer.json's byte-level alphabet.
  const ranks = await loadGpt2Ranks();
  const direct = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const alphabet: string[] = [];
  let next = 0;
  for (let b = 0; b < 256; b++) alphabet[b] = String.fromCodePoint(direct(b) ? b : 256 + next++);
  const vocab: Record<string, number> = {};
  ranks.tokens.forEach((bytes, id) => (vocab[Array.from(bytes, (b) => alphabet[b]).join('')] = id));
  vocab['<|endoftext|>'] = 50256;
  // GPT-2's own tokenizer.json pipeline, field by field
  const gpt2Json = {
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: [] },
    added_tokens: [{ id: 50256, content: '<|endoftext|>', special: true }],
  };
  const tokenizer = await BpeTokenizer.create(ranksFromHuggingFace(JSON.stringify(gpt2Json)), readFileSync('build/tokenizers.wasm'));
  const text = defaultCorpusText().slice(0, 50_000) + ' ünïcödé 😀<|endoftext|>';
  assert.equal(Array.from(tokenizer.encode(text, { specialTokens: 'allow' })), Array.from(tiktoken.encode(text, 'all')));

  // add_prefix_space: true (RoBERTa's setting) is honoured: Hugging Face puts a space before a text
  // that does not start with one, so the ids are tiktoken's of the spaced text.
  const prefixed = await BpeTokenizer.create(ranksFromHuggingFace(JSON.stringify({ ...gpt2Json, pre_tokenizer: { ...gpt2Json.pre_tokenizer, add_prefix_space: true } })), readFileSync('build/tokenizers.wasm'));
  for (const sample of ['Hello world', ' Hello world', 'Call me Ishmael.<|endoftext|>Some years ago', '']) {
    const spaced = sample === '' || sample.startsWith(' ') ? sample : ' ' + sample;
    assert.equal(Array.from(prefixed.encode(sample, { specialTokens: 'allow' })), Array.from(tiktoken.encode(spaced, 'all')), JSON.stringify(sample));
  }

  // Saved into a checkpoint's metadata and read back: the same ids (the table is written whole, the prefix space kept).
  const saved = JSON.parse(JSON.stringify(prefixed.toJSON()));
  assert.is(saved.addPrefixSpace, true);
  const restored = await tokenizerFromJSON(saved);
  const sample = defaultCorpusText().slice(0, 5_000);
  assert.equal(Array.from((restored as BpeTokenizer).encode(sample)), Array.from(prefixed.encode(sample)));

  // Every other field that would change the ids is refused by name, never ignored.
  const refused: [object, RegExp][] = [
    [{ normalizer: { type: 'NFC' } }, /normalizer \{"type":"NFC"\} is not supported \(no normalization is applied here\): its ids would differ from Hugging Face's/],
    [{ pre_tokenizer: { type: 'Metaspace', replacement: '▁' } }, /pre_tokenizer .*\(only GPT-2's ByteLevel pre-tokenizer/],
    [{ pre_tokenizer: { type: 'ByteLevel', use_regex: false } }, /pre_tokenizer.use_regex false/],
    [{ decoder: { type: 'WordPiece' } }, /decoder .*\(only the ByteLevel decoder/],
    [{ post_processor: { type: 'TemplateProcessing' } }, /post_processor .*\(no template/],
    [{ model: { ...gpt2Json.model, dropout: 0.1 } }, /model.dropout 0.1/],
    [{ model: { ...gpt2Json.model, byte_fallback: true } }, /model.byte_fallback true/],
    [{ model: { ...gpt2Json.model, ignore_merges: true } }, /model.ignore_merges true/],
    [{ added_tokens: [{ id: 50257, content: '<pad>', special: false }] }, /added_tokens .*<pad>.*\(a non-special added token/],
  ];
  for (const [change, pattern] of refused) assert.throws(() => ranksFromHuggingFace(JSON.stringify({ ...gpt2Json, ...change })), pattern);
});

test.run();
