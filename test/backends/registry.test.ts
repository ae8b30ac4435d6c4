// The chooser times the backends available here (js, the fallback, only where nothing faster runs) on the workload itself (training steps or
// decoded tokens), picks the fastest, says why, caches the choice, and hands back a model holding
// the initial parameters; the models that lost are disposed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBackendName, chooseBackend } from '../../src/backends/registry.js';
import { fileChoiceCache } from '../../src/io/choice_cache.js';
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
    assert.match(first.choice.reason, new RegExp(`^${fastest.backend}: [\\d.]+ ms ${unit} of this model at batch ${work.batch}`));
    assert.not.ok(first.choice.cached);
    assert.equal(Array.from(await first.model.parameters()), Array.from(params), 'the timing steps are undone');
    assert.ok(existsSync(path));
    first.model.dispose();
    const second = await chooseBackend(options, work, { budgetMs: 200, cache, gpu });
    assert.ok(second.choice.cached);
    assert.is(second.choice.backend, first.choice.backend);
    second.model.dispose();
  });
}

test('backend names: one list, checked with the option named', () => {
  assert.is(checkBackendName('wasm', '--backend'), 'wasm');
  assert.throws(() => checkBackendName('cuda', '--backend'), /--backend: expected auto, webgpu, wasm or js, found 'cuda'/);
  assert.throws(() => checkBackendName('auto', 'backend', false), /backend: expected webgpu, wasm or js, found 'auto'/);
});

test.run();
