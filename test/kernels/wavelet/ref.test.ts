// The reference against mathematics: finite differences for the gradients (the op is linear in x
// and in the taps, so a central difference is exact up to rounding), closed forms on constant
// signals, and causality.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haarInitialTaps, planWavelet, type WaveletForm } from '../../../src/model/wavelet_plan.js';
import { waveletBackwardRef, waveletForwardRef } from '../../../src/kernels/wavelet/ref.js';
import { assertClose, randomArray, seededRandom } from '../../helpers.js';

const FORMS: WaveletForm[] = ['haar', 'learnable', 'ema'];

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

for (const form of FORMS) {
  test(`${form}: gradients equal central finite differences of <dy, y>`, () => {
    const random = seededRandom(7);
    const shape = { batch: 2, time: 9, channels: 6 };
    const plan = planWavelet(6, { form, maxWindow: 8 });
    const n = 2 * 9 * 6;
    const x = randomArray(n, random);
    const dy = randomArray(n, random);
    const taps = form === 'learnable' ? randomArray(plan.tapCount, random) : undefined;
    const loss = (xs: Float32Array, hs?: Float32Array) => dot(waveletForwardRef(plan, shape, xs, hs), dy);
    const { dx, dTaps } = waveletBackwardRef(plan, shape, x, dy, taps);
    const step = 0.5;
    const numeric = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const plus = x.slice();
      const minus = x.slice();
      plus[i] += step;
      minus[i] -= step;
      numeric[i] = (loss(plus, taps) - loss(minus, taps)) / (2 * step);
    }
    assertClose(dx, numeric, 1e-5, 'dx');
    if (taps) {
      const numericTaps = new Float32Array(plan.tapCount);
      for (let i = 0; i < plan.tapCount; i++) {
        const plus = taps.slice();
        const minus = taps.slice();
        plus[i] += step;
        minus[i] -= step;
        numericTaps[i] = (loss(x, plus) - loss(x, minus)) / (2 * step);
      }
      assertClose(dTaps, numericTaps, 1e-5, 'dTaps');
    } else {
      assert.is(dTaps.length, 0, 'no parameters, no parameter gradient');
    }
  });

  test(`${form}: causal, changing x at t' changes no output before t'`, () => {
    const random = seededRandom(11);
    const shape = { batch: 1, time: 20, channels: 8 };
    const plan = planWavelet(8, { form, maxWindow: 16 });
    const taps = form === 'learnable' ? randomArray(plan.tapCount, random) : undefined;
    const x = randomArray(160, random);
    const y = waveletForwardRef(plan, shape, x, taps);
    const changed = x.slice();
    for (let c = 0; c < 8; c++) changed[12 * 8 + c] += 5;
    const y2 = waveletForwardRef(plan, shape, changed, taps);
    assert.equal(Array.from(y2.subarray(0, 12 * 8)), Array.from(y.subarray(0, 12 * 8)));
    assert.not.equal(Array.from(y2.subarray(12 * 8)), Array.from(y.subarray(12 * 8)));
  });
}

test('constant signal: Haar gives min(t + 1, f) / f, EMA gives 1 - (1 - a)^(t + 1), learnable at init equals Haar', () => {
  const shape = { batch: 1, time: 40, channels: 8 };
  const ones = new Float32Array(320).fill(1);
  const haar = planWavelet(8, { form: 'haar', maxWindow: 32 });
  const ema = planWavelet(8, { form: 'ema', maxWindow: 32 });
  const learnable = planWavelet(8, { form: 'learnable', maxWindow: 32 });
  const yHaar = waveletForwardRef(haar, shape, ones);
  const yEma = waveletForwardRef(ema, shape, ones);
  const yLearnable = waveletForwardRef(learnable, shape, ones, haarInitialTaps(learnable));
  for (let t = 0; t < 40; t++) {
    for (let c = 0; c < 8; c++) {
      const f = haar.windows[c];
      const a = ema.alphas[c];
      const at = t * 8 + c;
      assert.ok(Math.abs(yHaar[at] - (f ? Math.min(t + 1, f) / f : 1)) < 1e-6, `haar t ${t} c ${c}`);
      assert.ok(Math.abs(yEma[at] - (f ? 1 - (1 - a) ** (t + 1) : 1)) < 1e-6, `ema t ${t} c ${c}`);
      assert.ok(Math.abs(yLearnable[at] - yHaar[at]) < 1e-6, `learnable t ${t} c ${c}`);
    }
  }
});

test.run();
