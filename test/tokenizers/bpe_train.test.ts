// BPE training on one's own text: the fast trainer (incremental pair counts, a lazy heap) makes the
// merges of the plain reference that recounts every pair at each merge; the tokenizer.json it
// writes loads through the Hugging Face reader; the encoder segments the training text as the
// training did; the CLI writes it and `train --tokenizer FILE.json` trains with it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCorpusText } from '../../src/data/corpus.js';
import { bpeTokenizerJson, trainBpe, trainBpeReference } from '../../src/tokenizers/bpe_train.js';
import { ranksFromHuggingFace } from '../../src/tokenizers/ranks.js';
import { BpeTokenizer } from '../../src/tokenizers/bpe.js';

const text = defaultCorpusText().slice(0, 40_000) + ' naïve café 😀 — 1234';

test('the fast trainer makes the reference\'s merges, to the last one', () => {
  for (const [vocabSize, minFrequency] of [[700, 2], [400, 1], [300, 5]]) {
    const fast = trainBpe(text, { vocabSize, minFrequency });
    const reference = trainBpeReference(text, { vocabSize, minFrequency });
    assert.equal(fast.merges, reference.merges, `vocabulary ${vocabSize}`);
    assert.is(fast.ranks.tokens.length + 1, vocabSize, 'bytes and merges; <|endoftext|> the last id');
  }
});

test('its tokenizer.json loads through the Hugging Face reader; encoding round-trips and compresses', async () => {
  const trained = trainBpe(text, { vocabSize: 1000 });
  const tokenizer = await BpeTokenizer.create(ranksFromHuggingFace(bpeTokenizerJson(trained)), readFileSync('build/tokenizers.wasm'));
  assert.is(tokenizer.vocabSize, 1000);
  const ids = tokenizer.encode(text);
  assert.is(tokenizer.decode(ids), text);
  assert.ok(ids.length < 0.45 * new TextEncoder().encode(text).length, `${ids.length} tokens for ${text.length} characters`);
  assert.equal(Array.from(tokenizer.encode('<|endoftext|>', { specialTokens: 'allow' })), [999]);
  // The merges, applied in order to a word, give the encoder's tokens for it
  const applyMerges = (word: string) => {
    let symbols = Array.from(new TextEncoder().encode(word));
    trained.merges.forEach(([a, b], k) => {
      const merged: number[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) merged.push(256 + k), i++;
        else merged.push(symbols[i]);
      }
      symbols = merged;
    });
    return symbols;
  };
  for (const word of [' whale', ' Ishmael', ' the', ' extraordinary', 'Call', ' 1234', ' naïve']) assert.equal(Array.from(tokenizer.encode(word)), applyMerges(word), word);
});

test('bad options are refused by name', () => {
  assert.throws(() => trainBpe('', { vocabSize: 300 }), /the text is empty/);
  assert.throws(() => trainBpe('abc', { vocabSize: 100 }), /vocabSize must be an integer from 257/);
  assert.throws(() => trainBpe('abc', { vocabSize: 300, minFrequency: 0 }), /minFrequency must be an integer >= 1/);
});

test('from the command line: tokenizer train writes tokenizer.json, train --tokenizer FILE trains on it, generate reads the checkpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-bpe-'));
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, text);
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') } });
  const made = cli(['tokenizer', 'train', '--data', corpus, '--vocab-size', '600', '--out', join(dir, 'tokenizer.json')]);
  assert.is(made.status, 0, made.stderr);
  assert.match(made.stderr, /343 merges .* 600 tokens/);
  const trained = cli(['train', '--data', corpus, '--tokenizer', join(dir, 'tokenizer.json'), '--context', '16', '--batch', '4', '--steps', '4', '--eval-every', '4', '--eval-batches', '1', '--sample', '10', '--backend', 'wasm', '--out', join(dir, 'run')]);
  assert.is(trained.status, 0, trained.stderr);
  assert.match(trained.stderr, /vocabulary 600/);
  const generated = cli(['generate', '--checkpoint', join(dir, 'run'), '--prompt', 'Call me', '--max-tokens', '5']);
  assert.is(generated.status, 0, generated.stderr);
  const refused = cli(['tokenizer', 'train', '--data', corpus, '--vocab-size', '10', '--out', join(dir, 'small.json')]);
  assert.is(refused.status, 2);
  assert.match(refused.stderr, /wavelet-gpt: --vocab-size: expected an integer >= 257, found '10'/);
});

test.run();
