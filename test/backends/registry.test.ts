// The chooser times the backends available here (js, the fallback, only where nothing faster runs) on the workload itself (training steps or
// decoded tokens), picks the fastest, says why, caches the choice, and hands back a model holding
// the initial parameters; the models that lost are disposed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { BackendUnavailableError } from '../../src/errors.js';
import { checkBackendName, chooseBackend } from '../../src/backends/registry.js';
import { choiceCachePath, fileChoiceCache } from '../../src/io/choice_cache.js';
import { checkConfig } from '../../src/model/config.js';
import { initialParameters, parameterLayout } from '../../src/model/parameters.js';
import { DEFAULT_ADAMW } from '../../src/kernels/optimizer/ref.js';
import { webgpuBackend } from '../helpers.js';

const config = checkConfig({ vocabSize: 20, context: 16, layers: 2, width: 16, heads: 2, feedForward: 32, headDense: 16, wavelet: { form: 'haar' } });
const layout = parameterLayout(config);
const params = initialParameters(config, layout, 9);

for (const work of [{ mode: 'train', batch: 4 }, { mode: 'generate', batch: 2 }] as const) {
  test(`${work.mode}: picks the fastest measured backend, explains, caches, and holds the initial parameters`, async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'wavelet-gpt-cache-')), 'backends.json');
    const cache = fileChoiceCache(path);
    const gpu = await webgpuBackend();
    const options = { config, layout, parameters: params, optimizer: DEFAULT_ADAMW };
    const first = await chooseBackend(options, work, { budgetMs: 200, cache, gpu });
    const ran = first.choice.timings.filter((t) => t.ms !== null);
    assert.ok(ran.some((t) => t.backend === 'wasm'), 'wasm runs everywhere the tests do');
    assert.equal(first.choice.timings.find((t) => t.backend === 'js'), { backend: 'js', ms: null, note: 'not timed (the fallback where neither webgpu nor wasm runs)' });
    const fastest = ran.reduce((a, b) => (b.ms! < a.ms! ? b : a));
    assert.is(first.choice.backend, fastest.backend);
    assert.is(first.model.backend, fastest.backend);
    const unit = work.mode === 'train' ? 'a step' : 'a token';
    const name = fastest.threads && fastest.threads > 1 ? `${fastest.backend} on ${fastest.threads} threads` : fastest.backend;
    assert.match(first.choice.reason, new RegExp(`^${name}: [\\d.]+ ms ${unit} of this model at batch ${work.batch}`));
    assert.is(first.choice.threads, fastest.threads);
    // wasm is timed on one thread, then on more while more is faster (up to the processors here)
    const wasm = first.choice.timings.filter((t) => t.backend === 'wasm');
    assert.is(wasm[0].threads, 1);
    for (let i = 1; i < wasm.length; i++) assert.ok(wasm[i].threads! > wasm[i - 1].threads! && wasm[i - 1].ms !== null, JSON.stringify(wasm));
    assert.not.ok(first.choice.cached);
    assert.equal(Array.from(await first.model.parameters()), Array.from(params), 'the timing steps are undone');
    assert.ok(existsSync(path));
    first.model.dispose();
    const second = await chooseBackend(options, work, { budgetMs: 200, cache, gpu });
    assert.ok(second.choice.cached);
    assert.is(second.choice.backend, first.choice.backend);
    assert.is(second.choice.threads, first.choice.threads);
    assert.is((second.model as { threads?: number }).threads ?? undefined, first.choice.threads);
    second.model.dispose();
  });
}

test('a damaged cache costs only the timing: null, an array, a folder, an unknown backend; an empty XDG_CACHE_HOME is ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-cache-'));
  const options = { config, layout, parameters: params, optimizer: DEFAULT_ADAMW };
  const work = { mode: 'train', batch: 2 } as const;
  let key = '';
  const probe = await chooseBackend(options, work, { budgetMs: 50, gpu: await webgpuBackend(), cache: { get: () => undefined, set: (k) => void (key = k) } });
  probe.model.dispose();
  const entry = (backend: string) => JSON.stringify({ [`${packageVersion()} ${key}`]: { backend, reason: 'cached', timings: [] } });
  for (const [name, content, cached] of [['null', 'null', false], ['array', '[1, 2]', false], ['damaged', '{"a": ', false], ['unknown backend', entry('tpu'), false], ['good', entry('wasm'), true]] as const) {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, content);
    const { model, choice } = await chooseBackend(options, work, { budgetMs: 50, gpu: await webgpuBackend(), cache: fileChoiceCache(path) });
    assert.is(choice.cached, cached, name);
    assert.ok(['wasm', 'webgpu'].includes(model.backend), `${name}: ${model.backend}`);
    model.dispose();
    assert.ok(JSON.parse(readFileSync(path, 'utf8')) !== null, `${name}: replaced by a good cache`);
  }
  const folder = join(dir, 'folder');
  mkdirSync(folder);
  const { model } = await chooseBackend(options, work, { budgetMs: 50, gpu: await webgpuBackend(), cache: fileChoiceCache(folder) });
  model.dispose();
  const saved = process.env.XDG_CACHE_HOME;
  try {
    for (const value of ['', 'relative/cache']) {
      process.env.XDG_CACHE_HOME = value;
      assert.ok(isAbsolute(choiceCachePath()) && choiceCachePath().startsWith(homedir()), `XDG_CACHE_HOME '${value}': ${choiceCachePath()}`);
    }
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  }
});
const packageVersion = () => (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

test('no backend can run the model: one error naming each backend and why', async () => {
  const options = { config, layout, parameters: params, optimizer: DEFAULT_ADAMW, memoryBudget: 1024 };
  const error = await chooseBackend(options, { mode: 'train', batch: 2 }, { budgetMs: 50, gpu: await webgpuBackend() }).then(() => undefined, (e: Error) => e);
  assert.instance(error, BackendUnavailableError);
  assert.match(error!.message, /^no backend ran this model: .*wasm: not available \(a step at batch 2 \(context 16\) needs [\d.]+ MiB on wasm .*js: not available \(a step at batch 2/);
});

test('a software adapter is not timed unless asked; what is timed is said as it starts', async () => {
  const gpu = await webgpuBackend();
  const options = { config, layout, parameters: params, optimizer: DEFAULT_ADAMW };
  const messages: string[] = [];
  const { model, choice } = await chooseBackend(options, { mode: 'train', batch: 2 }, { budgetMs: 50, gpu, onTiming: (m) => messages.push(m) });
  model.dispose();
  assert.ok(messages.some((m) => /^timing wasm \(WebAssembly (relaxed SIMD \(fused multiply-add\)|SIMD), one thread\): a step of this model at batch 2, about 0\.1 s$/.test(m)), messages.join('\n'));
  const webgpu = choice.timings.find((t) => t.backend === 'webgpu')!;
  if (gpu?.adapter.software) {
    assert.is(webgpu.ms, null);
    assert.match(webgpu.note, /^not timed \(.*: a software adapter, slower than wasm; --backend webgpu uses it\)$/);
    assert.not.ok(messages.some((m) => m.startsWith('timing webgpu')));
    const asked = await chooseBackend(options, { mode: 'train', batch: 2 }, { budgetMs: 50, gpu, timeSoftwareAdapter: true });
    asked.model.dispose();
    assert.ok(asked.choice.timings.find((t) => t.backend === 'webgpu')!.ms! > 0, 'timed when asked');
  }
});

test('backend names: one list, checked with the option named', () => {
  assert.is(checkBackendName('wasm', '--backend'), 'wasm');
  assert.throws(() => checkBackendName('cuda', '--backend'), /--backend: expected auto, webgpu, wasm or js, found 'cuda'/);
  assert.throws(() => checkBackendName('auto', 'backend', false), /backend: expected webgpu, wasm or js, found 'auto'/);
});

test.run();
