// Generation from a checkpoint: greedy decoding equals the argmax of full forward passes of the
// js backend over the growing text; sampling matches its distribution; a batch equals its
// prompts one by one; stop sequences, the sliding window, and bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IncrementalText, WaveletGPT, WaveletModel } from '../../src/infer/model.js';
import { candidates, checkSampling, sampleToken, type SamplingOptions } from '../../src/infer/sampling.js';
import { continueTokens } from '../../src/infer/continue.js';
import { checkConfig } from '../../src/model/config.js';
import { initialParameters, parameterLayout } from '../../src/model/parameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { JsModel } from '../../src/backends/js/model.js';
import { CharacterTokenizer } from '../../src/tokenizers/characters.js';
import { ByteTokenizer } from '../../src/tokenizers/bytes.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { emptyOptimizerState } from '../../src/kernels/optimizer/ref.js';
import { assertClose, redrawWeights, webgpuBackend } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-generate-'));
const tokenizer = await CharacterTokenizer.fromCorpus('abcdefgh .', 'error');
const config = checkConfig({ vocabSize: tokenizer.vocabSize, context: 12, layers: 2, width: 8, heads: 2, feedForward: 16, headDense: 8, wavelet: { form: 'haar' } });
const layout = parameterLayout(config);
const params = initialParameters(config, layout, 2);
const random = new SeededRandom(4);
redrawWeights(params, layout, random, 0.5);
saveCheckpoint(dir, { config, tokenizer: tokenizer.toJSON(), parameters: params, optimizer: emptyOptimizerState('adamw', layout.count), training: { step: 0, samplerState: 0, plateau: null, settings: {} } });
const file = join(dir, 'checkpoint.safetensors');

/** The most likely next token by a full forward pass of the js backend over `ids` (the last `context` of them). */
const reference = new JsModel({ config, layout, parameters: params });
async function greedyNext(ids: number[]): Promise<number> {
  const last = await reference.nextLogits(Int32Array.from(ids.slice(-config.context)));
  return last.indexOf(Math.max(...last));
}

test('WaveletGPT, the earlier name, is WaveletModel', () => {
  assert.is(WaveletGPT, WaveletModel);
});

test('greedy generation equals the argmax of full forward passes, token by token (js, wasm and webgpu decoders)', async () => {
  const prompt = 'abc ha';
  const ids = Array.from(tokenizer.encode(prompt));
  const expected: number[] = [];
  for (let i = 0; i < 6; i++) expected.push(await greedyNext([...ids, ...expected]));
  const gpu = await webgpuBackend();
  for (const backend of ['js', 'wasm', ...(gpu ? (['webgpu'] as const) : [])] as const) {
    const model = await WaveletModel.load(dir, { backend, gpu });
    const tokens: number[] = [];
    for await (const { token } of model.generate(prompt, { temperature: 0, maxTokens: 6 })) tokens.push(token);
    assert.equal(tokens, expected, backend);
    assert.is(await model.complete(prompt, { temperature: 0, maxTokens: 6 }), tokenizer.decode(expected), backend);
  }
});

test('loaded from a file, a file URL, bytes and over HTTP alike; a 404 and a cut file are clear errors', async () => {
  const bytes = readFileSync(file);
  const server = createServer((request, response) => {
    if (request.url === '/model.safetensors') response.end(bytes);
    else if (request.url === '/cut.safetensors') response.end(bytes.subarray(0, 100));
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const options = { temperature: 0.9, maxTokens: 10, seed: 3 };
    const texts = await Promise.all([file, pathToFileURL(file), new Uint8Array(bytes), `${base}/model.safetensors`].map(async (source) => (await WaveletModel.load(source)).complete('ab', options)));
    assert.is(new Set(texts).size, 1, texts.join(' | '));
    await WaveletModel.load(`${base}/missing.safetensors`).then(() => assert.unreachable('loaded a 404'), (e: Error) => assert.match(e.message, /missing\.safetensors: HTTP 404/));
    await WaveletModel.load(`${base}/cut.safetensors`).then(() => assert.unreachable('loaded a cut file'), (e: Error) => assert.match(e.message, /cut\.safetensors/));
  } finally {
    server.close();
  }
});

test('a batch of prompts gives what each prompt gives alone (greedy); the same seed, the same text', async () => {
  const model = await WaveletModel.load(dir);
  const prompts = ['a', 'hhh gab', 'cd'];
  const alone = await Promise.all(prompts.map((p) => model.complete(p, { temperature: 0, maxTokens: 8 })));
  assert.equal(await model.complete(prompts, { temperature: 0, maxTokens: 8 }), alone);
  const options = { temperature: 1, topK: 5, topP: 0.9, repetitionPenalty: 1.3, seed: 9, maxTokens: 20 };
  assert.is(await model.complete('ab', options), await model.complete('ab', options));
  // sampled too: each prompt of a batch draws from its own generator, seeded alike, so it gets its text alone
  const sampled = { temperature: 1, seed: 4, maxTokens: 30 };
  const single = await Promise.all(prompts.map((p) => model.complete(p, sampled)));
  assert.equal(await model.complete(prompts, sampled), single);
  assert.is.not(single[0], await model.complete(prompts[0], { ...sampled, seed: 5 }), 'another seed, another text');
});

test('an AbortSignal stops generation before the next token', async () => {
  const model = await WaveletModel.load(dir);
  const controller = new AbortController();
  const got: number[] = [];
  const run = (async () => {
    for await (const token of model.generate('ab', { maxTokens: 1000, signal: controller.signal })) {
      got.push(token.token);
      if (got.length === 5) controller.abort();
    }
  })();
  await run.then(() => assert.unreachable('finished'), (e: Error) => assert.is(e.name, 'AbortError'));
  assert.is(got.length, 5);
  assert.is(model.idleDecoders, 1, 'the decoder went back to the model');
});

test('score and logits: the cached decoder\'s log-probabilities equal a full forward pass over each prefix; perplexity is exp of the mean', async () => {
  const model = await WaveletModel.load(dir, { backend: 'wasm' });
  const text = 'abc hag. fed';
  const scored = await model.score(text);
  const ids = scored.tokens;
  assert.is(scored.logProbabilities.length, ids.length - 1);
  for (let t = 1; t < ids.length; t++) {
    const row = await reference.nextLogits(Int32Array.from(ids.slice(0, t)));
    const max = Math.max(...row);
    const logZ = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
    assert.ok(Math.abs(scored.logProbabilities[t - 1] - (row[ids[t]] - logZ)) < 1e-4, `token ${t}: ${scored.logProbabilities[t - 1]} vs ${row[ids[t]] - logZ}`);
  }
  const nats = -scored.logProbabilities.reduce((a, b) => a + b, 0) / (ids.length - 1);
  assert.ok(Math.abs(scored.natsPerToken - nats) < 1e-12 && Math.abs(scored.perplexity - Math.exp(nats)) < 1e-9 && Math.abs(scored.bitsPerToken - nats / Math.LN2) < 1e-12);
  // past the context (12) the window slides as generation's does: rows stay finite and the count right
  const long = await model.logits(Array.from({ length: 30 }, (_, i) => i % config.vocabSize));
  assert.is(long.length, 30);
  assert.ok(long.every((row) => row.length === config.vocabSize && row.every(Number.isFinite)));
  await model.score('a').then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /at least two are needed/));
  await model.logits([0, 99]).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /logits: token 1 is 99/));
  model.dispose();
});

test('stop sequences end the text before them; past the context the window slides', async () => {
  const model = await WaveletModel.load(dir);
  const full = await model.complete('abc', { temperature: 0, maxTokens: 10 });
  const stop = full.slice(4, 6);
  const stopped = await model.complete('abc', { temperature: 0, maxTokens: 10, stop: [stop] });
  assert.is(stopped, full.slice(0, full.indexOf(stop)));
  const long = await model.complete('abc', { temperature: 0, maxTokens: 40 });
  assert.is(long.length, 40);
  assert.is(long.slice(0, 9), full.slice(0, 9), 'the same until the context (12) is full');
});

test('bad input: an empty prompt, characters outside the vocabulary, bad options', async () => {
  const model = await WaveletModel.load(dir);
  const first = async (prompt: string, options = {}) => {
    for await (const token of model.generate(prompt, options)) return token;
  };
  await first('').then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /prompt: empty/));
  await first('abz!').then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /"z", "!" not in the model's 10-character vocabulary/));
  await first('ab', { topP: 0 }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /topP: expected a number in \(0, 1\]/));
  await WaveletModel.load(join(dir, 'nothing')).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /nothing: no such file/));
  writeFileSync(join(dir, 'text.safetensors'), 'not a checkpoint at all');
  await WaveletModel.load(join(dir, 'text.safetensors')).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /text\.safetensors/));
});

test('sampleToken: its frequencies follow the tempered, truncated distribution', () => {
  const logits = [2, 1, 0.5, 0, -1];
  const draw = (options: object, n = 20000) => {
    const counts = new Array(logits.length).fill(0);
    const random = new SeededRandom(7);
    const settings = checkSampling(options);
    for (let i = 0; i < n; i++) counts[sampleToken(logits, [], settings, random)]++;
    return counts.map((c) => c / n);
  };
  const expected = (weights: number[]) => weights.map((w) => w / weights.reduce((a, b) => a + b, 0));
  const close = (found: number[], want: number[]) => found.forEach((f, i) => assert.ok(Math.abs(f - want[i]) < 0.015, `token ${i}: ${f} vs ${want[i]}`));
  close(draw({ temperature: 0.5 }), expected(logits.map((l) => Math.exp(l / 0.5))));
  close(draw({ temperature: 1, topK: 2 }), expected([Math.exp(2), Math.exp(1), 0, 0, 0]));
  // top-p 0.8 of softmax(logits) = [.54 .20 .12 .07 .03]: the first three (cumulative .86)
  close(draw({ temperature: 1, topP: 0.8 }), expected([Math.exp(2), Math.exp(1), Math.exp(0.5), 0, 0]));
  assert.is(sampleToken(logits, [], checkSampling({ temperature: 0 }), new SeededRandom(1)), 0);
  // a penalty of 4 on token 0 (logit 2 -> 0.5): token 1 is now the most likely
  assert.is(sampleToken(logits, [0], checkSampling({ temperature: 0, repetitionPenalty: 4 }), new SeededRandom(1)), 1);
});

test('candidates: the kept tokens and weights of a selection equal those of a full sort (50,257 logits, ties, every filter)', () => {
  // The reference: sort the whole vocabulary by score (ties to the lower id), cut at k, then at p.
  const bySort = (logits: Float32Array, options: Required<SamplingOptions>) => {
    const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, options.topK || logits.length);
    const max = logits[order[0]];
    const weights = order.map((t) => Math.exp((logits[t] - max) / options.temperature));
    const total = weights.reduce((a, b) => a + b, 0);
    let kept = order.length;
    if (options.topP < 1) for (let mass = 0, i = (kept = 0); i < order.length && mass < options.topP * total; i++, kept++) mass += weights[i];
    return order.slice(0, kept).sort((a, b) => a - b);
  };
  const random = new SeededRandom(3);
  // logits rounded to a coarse grid: many exact ties
  const logits = Float32Array.from({ length: 50257 }, () => Math.round(random.normal() * 8) / 2);
  for (const options of [{ topK: 1 }, { topK: 40 }, { topK: 1000 }, { topP: 0.5 }, { topP: 0.95 }, { topP: 0.999 }, { topK: 50, topP: 0.9 }, { temperature: 2, topP: 0.9 }, {}]) {
    const settings = checkSampling({ temperature: 1, ...options });
    const found = candidates(logits, [], settings);
    const expected = bySort(logits, settings);
    assert.equal(found.tokens, expected, JSON.stringify(options));
    const max = Math.max(...Array.from(expected, (t) => logits[t]));
    assertClose(found.weights, expected.map((t) => Math.exp((logits[t] - max) / settings.temperature)), 1e-12, `weights ${JSON.stringify(options)}`);
  }
  // Without a cut, sampleToken draws over the logits directly: the same token as a draw over candidates()
  const all = checkSampling({ temperature: 0.7, repetitionPenalty: 1.3 });
  const history = new Set([3, 50, 700]);
  for (let seed = 0; seed < 50; seed++) {
    const { tokens, weights } = candidates(logits, history, all);
    let r = new SeededRandom(seed).next() * weights.reduce((a, b) => a + b, 0);
    const drawn = tokens.find((_, i) => (r -= weights[i]) < 0) ?? tokens[tokens.length - 1];
    assert.is(sampleToken(logits, history, all, new SeededRandom(seed)), drawn, `seed ${seed}`);
  }
});

test('concurrent generations each take a decoder; afterwards two are kept for reuse and the rest freed', async () => {
  const model = await WaveletModel.load(dir, { backend: 'wasm' });
  const texts = await Promise.all(Array.from({ length: 6 }, (_, i) => model.complete('ab', { maxTokens: 5 + i, seed: i })));
  assert.is(texts.length, 6);
  assert.is(model.idleDecoders, 2);
  assert.is(await model.complete('ab', { maxTokens: 5, seed: 0 }), texts[0], 'a reused decoder generates as a new one');
  assert.is(model.idleDecoders, 2);
  model.dispose();
});

test('IncrementalText: the text shown token by token equals the whole decode cut at the first stop, for UTF-8 split across byte tokens', async () => {
  const bytes = new ByteTokenizer();
  const random = new SeededRandom(11);
  const alphabet = ['a', 'b', ' ', 'é', '€', '😀', 'ab', 'END'];
  for (let trial = 0; trial < 300; trial++) {
    const text = Array.from({ length: 1 + random.below(40) }, () => alphabet[random.below(alphabet.length)]).join('');
    const ids = Array.from(bytes.encode(text));
    const stops = [[], ['END'], ['b a', '😀'], ['€€', 'é']][trial % 4];
    const incremental = new IncrementalText(bytes, stops);
    let shown = '';
    let stopped = false;
    for (let i = 0; i < ids.length && !stopped; i++) {
      const step = incremental.push(ids[i], i === ids.length - 1);
      shown += step.text;
      stopped = step.stopped;
    }
    const cuts = stops.map((stop) => text.indexOf(stop)).filter((at) => at >= 0);
    const expected = cuts.length ? text.slice(0, Math.min(...cuts)) : text;
    assert.is(shown, expected, `${JSON.stringify(text)} with stops ${JSON.stringify(stops)}`);
    assert.is(stopped, cuts.length > 0);
  }
});

test('CharacterTokenizer.fromCorpus: a lone surrogate is refused by position (UTF-8 has no bytes for it); 150 M characters build a vocabulary', async () => {
  await CharacterTokenizer.fromCorpus('ab\ud800').then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /lone surrogate U\+D800 at character 2/));
  await CharacterTokenizer.fromSymbols(['a', '\udc00']).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /symbol 1 is a lone surrogate/));
  const big = await CharacterTokenizer.fromCorpus('ab'.repeat(75e6) + '😀');
  assert.equal(big.symbols, ['a', 'b', '😀']);
});

test('continueTokens (train\'s closing sample) slides by one token past the context: each token the argmax of a full pass over the last context tokens', async () => {
  const expected: number[] = [];
  for (let i = 0; i < 2 * config.context; i++) expected.push(await greedyNext([1, ...expected]));
  const decoder = await reference.decoder(1);
  assert.equal(await continueTokens(decoder, config.context, [1], 2 * config.context, checkSampling({ temperature: 0 }), new SeededRandom(1)), expected);
});

test.run();
