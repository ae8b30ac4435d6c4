// A model in a Node worker (worker_threads), used through createWorkerModel as a page uses a Web
// Worker: the text equals WaveletModel's in this thread for the same seed, tokens stream one
// message each, an AbortSignal stops a generation and the model goes on serving, the worker's
// errors arrive as their own classes, a download reports its progress, dispose ends the worker.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { WaveletInputError } from '../../src/errors.js';
import { WaveletModel } from '../../src/infer/model.js';
import { createWorkerModel } from '../../src/infer/worker_model.js';
import { checkConfig } from '../../src/model/config.js';
import { initialParameters, parameterLayout } from '../../src/model/parameters.js';
import { emptyOptimizerState } from '../../src/kernels/optimizer/ref.js';
import { CharacterTokenizer } from '../../src/tokenizers/characters.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-worker-'));
const tokenizer = await CharacterTokenizer.fromCorpus('Call me Ishmael. Some years ago, never mind how long precisely');
const config = checkConfig({ vocabSize: tokenizer.vocabSize, context: 32, layers: 2, width: 16, heads: 2, feedForward: 32, headDense: 0, wavelet: { form: 'haar' } });
const layout = parameterLayout(config);
saveCheckpoint(dir, { config, tokenizer: tokenizer.toJSON(), parameters: initialParameters(config, layout, 3), optimizer: emptyOptimizerState('adamw', layout.count), training: { step: 0, samplerState: 0, plateau: null, settings: {} } });
const checkpoint = join(dir, 'checkpoint.safetensors');
// The worker script a user writes, with TypeScript's loader registered first (the sources are .ts here).
const script = join(dir, 'model-worker.mjs');
writeFileSync(script, [
  `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};`,
  'register();',
  "const { parentPort } = await import('node:worker_threads');",
  `const { serveModel } = await import(${JSON.stringify(resolve('src/infer/worker_host.ts'))});`,
  'serveModel(parentPort);',
].join('\n'));
const newWorker = () => new Worker(script);
const options = { maxTokens: 120, temperature: 0.9, seed: 7 };

test('the text of a worker is the text of this thread, token by token, and dispose ends the worker', async () => {
  const here = await WaveletModel.load(checkpoint, { backend: 'wasm' });
  const expected = await here.complete('Call me ', options);
  here.dispose();
  const worker = newWorker();
  const exited = new Promise((r) => worker.once('exit', r));
  const model = await createWorkerModel(worker, checkpoint, { backend: 'wasm' });
  assert.equal(model.config, config);
  assert.is(model.backend, 'wasm');
  let text = '';
  let tokens = 0;
  for await (const token of model.generate('Call me ', options)) {
    text += token.text;
    tokens++;
  }
  assert.is(text, expected);
  assert.is(tokens, options.maxTokens);
  assert.equal(await model.complete(['Call me ', 'Some '], options), [expected, await model.complete('Some ', options)], 'a batch as single calls');
  await model.dispose();
  await exited;
});

test('an AbortSignal stops a generation in the worker; breaking out stops it too; the model serves on', async () => {
  const model = await createWorkerModel(newWorker(), readFileSync(checkpoint), { backend: 'wasm' }); // bytes, moved to the worker
  const controller = new AbortController();
  let seen = 0;
  const stopped = await (async () => {
    for await (const _ of model.generate('Call me ', { maxTokens: 100000, seed: 1 })) if (++seen === 5) controller.abort();
  })().then(() => 'finished', (e: Error) => e);
  assert.is(stopped, 'finished', 'a signal the generation was not given stops nothing');
  const aborted = await (async () => {
    let count = 0;
    for await (const _ of model.generate('Call me ', { maxTokens: 100000, seed: 1, signal: controller.signal })) count++;
    return count;
  })().then(() => 'finished', (e: Error) => e);
  assert.instance(aborted, Error);
  assert.is((aborted as Error).name, 'AbortError', 'an already aborted signal');
  const live = new AbortController();
  let count = 0;
  const error = await (async () => {
    for await (const _ of model.generate('Call me ', { maxTokens: 1_000_000, seed: 1, signal: live.signal })) if (++count === 20) live.abort();
  })().then(() => undefined, (e: Error) => e);
  assert.is(error?.name, 'AbortError');
  assert.ok(count >= 20 && count < 1000, `stopped soon after the abort (${count} tokens)`);
  for await (const _ of model.generate('Call me ', { maxTokens: 1_000_000 })) break; // the worker is told to stop
  assert.is((await model.complete('Call me ', { maxTokens: 10 })).length > 0, true, 'and serves on');
  await model.dispose();
});

test('a worker that fails to start fails the load with its reason', async () => {
  const broken = join(dir, 'broken.mjs');
  writeFileSync(broken, "throw new Error('no kernels here');");
  const error = await createWorkerModel(new Worker(broken), checkpoint).then(() => undefined, (e: Error) => e);
  assert.match(error?.message ?? '', /no kernels here/);
});

test('an aborted load ends the worker and its download at once', async () => {
  const server = createServer((_, response) => response.writeHead(200, { 'content-length': 1000000 }).write(new Uint8Array(10))); // never finishes
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const worker = newWorker();
  const exited = new Promise((r) => worker.once('exit', r));
  const controller = new AbortController();
  const reason = new Error('no longer needed');
  setTimeout(() => controller.abort(reason), 300);
  const error = await createWorkerModel(worker, `http://127.0.0.1:${(server.address() as { port: number }).port}/slow.safetensors`, { signal: controller.signal }).then(() => undefined, (e: unknown) => e);
  assert.is(error, reason);
  await exited;
  server.closeAllConnections();
  server.close();
});

test("the worker's errors arrive as their classes; a download reports progress per file", async () => {
  const missing = await createWorkerModel(newWorker(), join(dir, 'nowhere.safetensors')).then(() => undefined, (e: Error) => e);
  assert.instance(missing, WaveletInputError);
  assert.match(missing!.message, /nowhere\.safetensors: no such file/);
  const bytes = readFileSync(checkpoint);
  const server = createServer((_, response) => response.writeHead(200, { 'content-length': bytes.length }).end(bytes));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/model.safetensors`;
  const progress: [number, number | undefined, string][] = [];
  const model = await createWorkerModel(newWorker(), url, { backend: 'wasm', onProgress: (...report) => progress.push(report) });
  server.close();
  assert.ok(progress.length > 0, 'progress reported');
  assert.equal(progress.at(-1), [bytes.length, bytes.length, url]);
  const prompt = await model.complete('Ishmael!', options).then(() => undefined, (e: Error) => e);
  assert.instance(prompt, WaveletInputError);
  assert.match(prompt!.message, /prompt: "!" not in the model's/);
  await model.dispose();
});

test.run();
