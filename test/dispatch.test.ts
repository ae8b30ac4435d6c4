// The dispatcher times the backends available here, picks the fastest, says why, caches the
// decision, and hands back an engine holding the initial parameters.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispatch, dispatchCachePath, engineOptions } from '../src/dispatch.js';
import { checkConfig } from '../src/model/config.js';
import { initialParameters, parameterLayout } from '../src/model/parameters.js';
import { DEFAULT_ADAMW } from '../src/kernels/adamw/ref.js';

test('picks the fastest measured backend, explains, caches, and returns the initial parameters', async () => {
  process.env.XDG_CACHE_HOME = mkdtempSync(join(tmpdir(), 'wavelet-gpt-cache-'));
  const config = checkConfig({ vocabSize: 20, context: 16, layers: 2, width: 16, heads: 2, feedForward: 32, headDense: 16, wavelet: { form: 'haar' } });
  const params = initialParameters(config, parameterLayout(config), 9);
  const first = await dispatch(engineOptions(config, params, DEFAULT_ADAMW), 4, 200);
  const ran = first.decision.timings.filter((t) => t.msPerStep !== null);
  assert.ok(ran.length >= 2, 'wasm and js run everywhere the tests do');
  const fastest = ran.reduce((a, b) => (b.msPerStep! < a.msPerStep! ? b : a));
  assert.is(first.decision.backend, fastest.backend);
  assert.is(first.engine.backend, fastest.backend);
  assert.match(first.decision.reason, new RegExp(`^${fastest.backend}: [\\d.]+ ms a step of this model at batch 4`));
  assert.not.ok(first.decision.cached);
  assert.equal(Array.from(await first.engine.parameters()), Array.from(params), 'the timing steps are undone');
  assert.ok(existsSync(dispatchCachePath()));
  const second = await dispatch(engineOptions(config, params, DEFAULT_ADAMW), 4, 200);
  assert.ok(second.decision.cached);
  assert.is(second.decision.backend, first.decision.backend);
});

test.run();
