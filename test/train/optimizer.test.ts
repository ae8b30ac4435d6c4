// AdamW against tfjs's Adam (no weight decay: the same update), decoupled weight decay by its
// identity, clipping by the global norm; Adagrad against tfjs's Adagrad and a closed form; the
// schedules' shapes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import { useTfjsBackend } from '../../src/tfjs/backends.js';
import { adagradStep, adamwStep, globalNorm } from '../../src/kernels/optimizer/ref.js';
import { initialPlateau, learningRate, plateauAfterEvaluation, type ScheduleSettings } from '../../src/train/schedule.js';
import { assertClose, randomArray, seededRandom } from '../helpers.js';

test('AdamW without weight decay equals tfjs Adam over 5 steps', async () => {
  await useTfjsBackend('cpu');
  const random = seededRandom(3);
  const start = randomArray(50, random);
  const gradients = Array.from({ length: 5 }, () => randomArray(50, random));
  const settings = { kind: 'adamw' as const, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0, clipNorm: 0 };
  const params = start.slice();
  const [m, v] = [new Float32Array(50), new Float32Array(50)];
  gradients.forEach((g, t) => adamwStep(params, g, m, v, new Uint8Array(50).fill(1), t + 1, 0.01, settings));
  const variable = tf.variable(tf.tensor1d(start));
  const adam = tf.train.adam(0.01, 0.9, 0.95, 1e-8);
  for (const g of gradients) adam.applyGradients([{ name: variable.name, tensor: tf.tensor1d(g) }]);
  assertClose(params, await variable.data(), 1e-5, 'parameters after 5 steps');
});

test('weight decay is decoupled and masked; clipping scales to the global norm', () => {
  const params = Float32Array.of(2, 2);
  const settings = { kind: 'adamw' as const, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1, clipNorm: 0 };
  adamwStep(params, new Float32Array(2), new Float32Array(2), new Float32Array(2), Uint8Array.of(1, 0), 1, 0.5, settings);
  assert.ok(Math.abs(params[0] - 2 * (1 - 0.5 * 0.1)) < 1e-6, 'decayed by lr * wd * p with a zero gradient');
  assert.is(params[1], 2, 'not decayed where the mask is 0');
  // With clipping, a gradient and the same gradient scaled up take identical steps.
  const run = (scale: number) => {
    const p = Float32Array.of(1, -1, 0.5);
    const g = Float32Array.of(3, 4, 12).map((x) => x * scale);
    const norm = adamwStep(p, g, new Float32Array(3), new Float32Array(3), new Uint8Array(3), 1, 0.1, { ...settings, clipNorm: 1 });
    return { p, norm };
  };
  assert.is(run(1).norm, globalNorm(Float32Array.of(3, 4, 12)));
  assertClose(run(1).p, run(100).p, 1e-6, 'clipped steps');
});

test('Adagrad equals tfjs Adagrad over 5 steps (its accumulator started at 1e-12, its epsilon inside the root)', async () => {
  await useTfjsBackend('cpu');
  const random = seededRandom(4);
  const start = randomArray(40, random);
  // Gradients away from 0, where tfjs's epsilon (1e-7, inside the root) would weigh.
  const gradients = Array.from({ length: 5 }, () => randomArray(40, random).map((x) => Math.sign(x) * (0.5 + Math.abs(x))));
  const params = start.slice();
  const sum = new Float32Array(40);
  for (const g of gradients) adagradStep(params, g, sum, new Uint8Array(40).fill(1), 0.05, { kind: 'adagrad', epsilon: 1e-10, weightDecay: 0, clipNorm: 0 });
  const variable = tf.variable(tf.tensor1d(start));
  const adagrad = tf.train.adagrad(0.05, 1e-12);
  for (const g of gradients) adagrad.applyGradients([{ name: variable.name, tensor: tf.tensor1d(g) }]);
  assertClose(params, await variable.data(), 1e-5, 'parameters after 5 steps');
});

test('Adagrad: a constant gradient moves by lr * sign(g) / sqrt(k) at step k; L2 decay only where masked; clipping', () => {
  const params = Float32Array.of(1, 1);
  const sum = new Float32Array(2);
  const steps = 6;
  for (let k = 0; k < steps; k++) adagradStep(params, Float32Array.of(0.3, -2), sum, new Uint8Array(2), 0.1, { kind: 'adagrad', epsilon: 0, weightDecay: 0, clipNorm: 0 });
  let moved = 0;
  for (let k = 1; k <= steps; k++) moved += 0.1 / Math.sqrt(k);
  assertClose(params, Float32Array.of(1 - moved, 1 + moved), 1e-6, 'closed form');
  // With a zero gradient, L2 decay makes the gradient wd * p: the first step is lr * sign(p).
  const decayed = Float32Array.of(2, 2);
  adagradStep(decayed, new Float32Array(2), new Float32Array(2), Uint8Array.of(1, 0), 0.5, { kind: 'adagrad', epsilon: 1e-10, weightDecay: 0.01, clipNorm: 0 });
  assertClose(decayed, Float32Array.of(1.5, 2), 1e-6, 'decay as L2 where masked, nothing elsewhere');
  const run = (scale: number) => {
    const p = Float32Array.of(1, -1, 0.5);
    const s = Float32Array.of(0.5, 0.5, 0.5); // a running sum: the step then depends on the gradient's size
    const norm = adagradStep(p, Float32Array.of(3, 4, 12).map((x) => x * scale), s, new Uint8Array(3), 0.1, { kind: 'adagrad', epsilon: 1e-10, weightDecay: 0, clipNorm: 1 });
    return { p, norm };
  };
  assert.is(run(10).norm, 10 * globalNorm(Float32Array.of(3, 4, 12)));
  assertClose(run(10).p, run(100).p, 1e-6, 'clipped steps');
});

test('schedules: warmup, cosine to the floor, plateau divides after patience', () => {
  const s: ScheduleSettings = { kind: 'cosine', peak: 1, floor: 0.1, warmupSteps: 10, totalSteps: 110, patience: 2, factor: 3 };
  assert.is(learningRate(s, 0), 0.1);
  assert.is(learningRate(s, 9), 1);
  assert.ok(Math.abs(learningRate(s, 60) - 0.55) < 1e-9, 'half way: the middle');
  assert.ok(Math.abs(learningRate(s, 110) - 0.1) < 1e-9, 'the floor at the end');
  const p = { ...s, kind: 'plateau' as const };
  let state = initialPlateau(p);
  state = plateauAfterEvaluation(p, state, 2);
  state = plateauAfterEvaluation(p, state, 2.5);
  assert.is(learningRate(p, 50, state), 1, 'one evaluation without improvement: still the peak');
  state = plateauAfterEvaluation(p, state, 2.1);
  assert.ok(Math.abs(learningRate(p, 50, state) - 1 / 3) < 1e-12, 'lowered after patience');
});

test.run();
