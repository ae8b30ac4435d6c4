// Int8 weights: each element within half a step of its row's scale (the rounding bound), vectors
// untouched; an int8 checkpoint reads back as exactly the dequantized weights, loads for
// generation, and is refused (with the reason) where training would resume from it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECKPOINT_FORMAT, parseCheckpoint } from '../../src/io/checkpoint.js';
import { WaveletGPT } from '../../src/infer/model.js';
import { quantizeInt8, roundTripInt8 } from '../../src/io/int8.js';
import { checkConfig, presetConfig } from '../../src/model/config.js';
import { initialParameters, parameterLayout, slice } from '../../src/model/parameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { CharacterTokenizer } from '../../src/tokenizers/characters.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { redrawWeights } from '../helpers.js';

const tokenizer = await CharacterTokenizer.fromCorpus('abcdefgh .', 'error');
const config = checkConfig({ vocabSize: tokenizer.vocabSize, context: 12, layers: 2, width: 8, heads: 2, feedForward: 16, headDense: 8, wavelet: { form: 'learnable' } });
const layout = parameterLayout(config);
const params = initialParameters(config, layout, 3);
const random = new SeededRandom(8);
redrawWeights(params, layout, random, 1);

test('every weight within half a step of its row scale; vectors exact', () => {
  const back = roundTripInt8(layout, params);
  for (const t of layout.tensors) {
    const [a, b] = [slice(params, layout, t.name), slice(back, layout, t.name)];
    if (t.shape.length !== 2) {
      assert.equal(b, a, `${t.name} is kept as float32`);
      continue;
    }
    const cols = t.shape[1];
    for (let r = 0; r < t.shape[0]; r++) {
      const row = a.subarray(r * cols, (r + 1) * cols);
      const step = Math.max(...Array.from(row, Math.abs)) / 127;
      for (let c = 0; c < cols; c++) assert.ok(Math.abs(b[r * cols + c] - row[c]) <= step / 2 + 1e-7, `${t.name}[${r}, ${c}]`);
    }
  }
});

test("at the paper's size the int8 tensors hold about a quarter of the float32 bytes", () => {
  const paper = presetConfig('paper-text8', { form: 'haar' });
  const paperLayout = parameterLayout(paper);
  const tensors = quantizeInt8(paperLayout, initialParameters(paper, paperLayout, 1));
  const bytes = tensors.reduce((sum, t) => sum + t.data.byteLength, 0);
  const ratio = bytes / (4 * paperLayout.count);
  assert.ok(ratio > 0.25 && ratio < 0.27, `int8 / float32 bytes = ${ratio}`);
});

test('an int8 checkpoint reads back as the dequantized weights, generates, and cannot resume training', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-int8-'));
  const metadata = { format: CHECKPOINT_FORMAT, config: JSON.stringify(config), tokenizer: JSON.stringify(tokenizer.toJSON()), training: JSON.stringify({ step: 1 }) };
  const bytes = writeSafetensors(quantizeInt8(layout, params), metadata);
  const parsed = parseCheckpoint(bytes, 'int8');
  assert.ok(parsed.quantized);
  assert.equal(parsed.parameters, roundTripInt8(layout, params));
  const model = await WaveletGPT.load(bytes);
  assert.is((await model.complete('ab', { maxTokens: 5, seed: 2 })).length, 5);
  writeFileSync(join(dir, 'checkpoint.safetensors'), bytes);
  assert.throws(() => loadCheckpoint(dir), /optimizer state is missing.*an inference-only checkpoint, int8, cannot be resumed/);
});

test.run();
