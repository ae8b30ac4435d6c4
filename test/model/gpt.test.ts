// The js backend (reference kernels, hand-written backward passes) running the GPT's network
// description, against TensorFlow.js autodiff of the same description from the same parameters:
// the loss and every parameter's gradient, for the baseline and each wavelet form.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import { checkConfig, presetConfig, type GPTConfig } from '../../src/model/config.js';
import { initialParameters, parameterLayout, slice } from '../../src/model/parameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { JsModel } from '../../src/backends/js/model.js';
import { DEFAULT_ADAMW } from '../../src/kernels/optimizer/ref.js';
import { useTfjsBackend } from '../../src/tfjs/backends.js';
import { tfjsLoss, tfjsParameters } from '../../src/tfjs/network.js';
import { registerWaveletOp } from '../../src/tfjs/wavelet_op.js';
import { assertClose, redrawWeights } from '../helpers.js';
import { TEST_BASE as base, TEST_CONFIGS } from './configs.js';

const CONFIGS = TEST_CONFIGS;

for (const [name, config] of CONFIGS) {
  test(`js backend GPT (${name}): loss and every parameter gradient equal tfjs autodiff`, async () => {
    await registerWaveletOp();
    await useTfjsBackend('cpu');
    const layout = parameterLayout(config);
    const params = initialParameters(config, layout, 42);
    // Larger than GPT-2's 0.02 so that every path carries gradient well above rounding.
    const random = new SeededRandom(7);
    redrawWeights(params, layout, random, 0.3);
    const [B, T] = [2, 9];
    const tokens = Int32Array.from({ length: B * T }, () => random.below(config.vocabSize));
    // the second sequence as classification: its targets ignored (-1) but the last
    const targets = Int32Array.from({ length: B * T }, (_, i) => (i >= T && i < 2 * T - 1 ? -1 : random.below(config.vocabSize)));

    const model = new JsModel({ config, layout, parameters: params, optimizer: DEFAULT_ADAMW });
    const loss = await model.forwardBackward(tokens, targets, B, T, 1);
    const grads = await model.gradients();

    const vars = tfjsParameters(layout, params, `${name}/`);
    const { value, grads: expected } = tf.variableGrads(() => tfjsLoss(config, vars, tokens, targets, B, T));
    assertClose([loss], [(await value.data())[0]], 1e-5, `${name} loss`);
    for (const t of layout.tensors) {
      const tfGrad = expected[`${name}/${t.name}`];
      assert.ok(tfGrad, `tfjs has a gradient for ${t.name}`);
      assertClose(slice(grads, layout, t.name), await tfGrad.data(), 2e-4, `${name} d${t.name}`);
    }
    tf.dispose([value, ...Object.values(expected), ...vars.values()]);
  });
}

test('presets and config errors', () => {
  const paper = presetConfig('paper-text8', { form: 'haar' });
  assert.is(paper.layers, 10);
  assert.is(parameterLayout(paper).count, parameterLayout(presetConfig('paper-text8', null)).count, 'the fixed form adds no parameter');
  assert.throws(() => presetConfig('huge', null), /unknown preset 'huge': expected one of paper-text8, tiny/);
  assert.throws(() => checkConfig({ ...base, width: 13, heads: 1, wavelet: { form: 'haar' } }), /width must be even, found 13/);
  assert.throws(() => checkConfig({ ...base, heads: 5, wavelet: null }), /width 12 is not a multiple of heads 5/);
  assert.throws(() => checkConfig({ ...base, layers: 0, wavelet: null }), /'layers': expected an integer from 1 to 1,024, found 0/);
  // sizes only a damaged or hostile file declares are refused before anything is allocated
  assert.throws(() => checkConfig({ ...base, context: 1e9, wavelet: null }), /'context': expected an integer from 1 to 1,048,576, found 1000000000/);
  assert.throws(() => checkConfig(null as unknown as GPTConfig), /model config: expected an object, found null/);
  assert.throws(() => checkConfig({ ...base, wavelet: { form: 'haar', maxWindow: 1e9 } }), /'wavelet.maxWindow': expected an integer from 2 to 1,048,576/);
  assert.throws(() => checkConfig({ ...base, wavelet: { form: 'wiggly' as 'haar' } }), /form/);
  assert.throws(() => checkConfig({ ...base, wavelet: 'haar' as unknown as null }), /'wavelet': expected an object or null, found "haar"/);
});

test.run();
