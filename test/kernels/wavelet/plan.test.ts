import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WaveletInputError } from '../../../src/errors.js';
import { checkActivation, haarInitialTaps, planFromWindows, planWavelet } from '../../../src/model/wavelet_plan.js';

test('linear-level: the upper half is filtered, windows are powers of two from 2 up to the context', () => {
  const plan = planWavelet(128, { form: 'haar', maxWindow: 512 });
  for (let c = 0; c < 64; c++) assert.is(plan.windows[c], 0, `channel ${c} passes through`);
  const windows = Array.from(plan.windows.subarray(64));
  assert.is(windows[0], 2);
  assert.is(windows[63], 512);
  for (const f of windows) assert.ok(Number.isInteger(Math.log2(f)), `window ${f} is a power of two`);
  for (let j = 1; j < 64; j++) assert.ok(windows[j] >= windows[j - 1], 'windows grow with the channel');
  // Levels rise linearly: each of the 9 levels covers floor or ceil of 64 / 9 channels.
  const perLevel = new Map<number, number>();
  for (const f of windows) perLevel.set(f, (perLevel.get(f) ?? 0) + 1);
  assert.is(perLevel.size, 9);
  for (const count of perLevel.values()) assert.ok(count === 7 || count === 8, `${count} channels on a level`);
});

test('linear-size: windows rise linearly from 2 to maxWindow; lower half filters channels below E/2', () => {
  const plan = planWavelet(10, { form: 'haar', maxWindow: 18, mapping: 'linear-size', half: 'lower' });
  assert.equal(Array.from(plan.windows), [2, 6, 10, 14, 18, 0, 0, 0, 0, 0]);
});

test('learnable taps are laid out channel after channel and start at the Haar average', () => {
  const plan = planWavelet(6, { form: 'learnable', maxWindow: 16 });
  assert.equal(Array.from(plan.windows), [0, 0, 0, 2, 4, 8]);
  assert.equal(Array.from(plan.tapOffsets), [0, 0, 0, 0, 2, 6, 14]);
  assert.is(plan.tapCount, 14);
  const taps = haarInitialTaps(plan);
  assert.equal(Array.from(taps.subarray(2, 6)), [0.25, 0.25, 0.25, 0.25]);
  assert.is(planWavelet(6, { form: 'haar', maxWindow: 16 }).tapCount, 0, 'the fixed form has no parameters');
});

test('EMA rates are those of an EMA of span f, within (0, 1)', () => {
  const plan = planWavelet(8, { form: 'ema', maxWindow: 64 });
  for (let c = 4; c < 8; c++) {
    assert.ok(Math.abs(plan.alphas[c] - 2 / (plan.windows[c] + 1)) < 1e-7);
    assert.ok(plan.alphas[c] > 0 && plan.alphas[c] < 1);
  }
});

test('bad options and shapes give errors that name the field, expected and found', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => planWavelet(7, { form: 'haar', maxWindow: 16 }), /even integer.*found 7/],
    [() => planWavelet(8, { form: 'haar', maxWindow: 0 }), /maxWindow.*found 0/],
    [() => planWavelet(8, { form: 'wavelet' as never, maxWindow: 8 }), /'form'.*haar, learnable, ema.*found 'wavelet'/],
    [() => planWavelet(8, { form: 'haar', maxWindow: 8, mapping: 'log' as never }), /'mapping'.*found 'log'/],
    [() => planFromWindows('haar', Int32Array.from([2, -1])), /channel 1.*found -1/],
  ];
  for (const [call, message] of cases) {
    try {
      call();
      assert.unreachable(`no error for ${message}`);
    } catch (error) {
      assert.instance(error, WaveletInputError);
      assert.match((error as Error).message, message);
    }
  }
  const plan = planWavelet(8, { form: 'learnable', maxWindow: 8 });
  const shape = { batch: 2, time: 3, channels: 8 };
  assert.throws(() => checkActivation(plan, shape, 47), /expected 48 values.*found 47/);
  assert.throws(() => checkActivation(plan, { ...shape, channels: 6 }, 36), /expected 8 channels.*found 6/);
  assert.throws(() => checkActivation(plan, { ...shape, time: 0 }, 0), /'time' must be a positive integer, found 0/);
  assert.throws(() => checkActivation(plan, shape, 48), /learnable form needs its taps/);
  assert.throws(() => checkActivation(plan, shape, 48, 'x', new Float32Array(3)), /taps: expected 16 values.*found 3/);
});

test.run();
