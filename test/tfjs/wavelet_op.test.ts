// The tfjs op on each tfjs backend: values against the reference, and tf.variableGrads through a
// small tfjs model (a matmul into the wavelet layer) against gradients assembled by hand from
// the reference: dL/dW = X^T dZ where dZ = filter^T(R), dL/dtaps from the reference.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import { planWavelet, haarInitialTaps, type WaveletForm } from '../../src/model/wavelet_plan.js';
import { waveletBackwardRef, waveletForwardRef } from '../../src/kernels/wavelet/ref.js';
import { useTfjsBackend, type TfjsBackendName } from '../../src/tfjs/backends.js';
import { registerWaveletOp, waveletFilter } from '../../src/tfjs/wavelet_op.js';
import { assertClose, randomArray, seededRandom, webgpuBackend } from '../helpers.js';

const BACKENDS: TfjsBackendName[] = ['cpu', 'wasm', 'webgpu'];
const FORMS: WaveletForm[] = ['haar', 'learnable', 'ema'];

for (const backend of BACKENDS) {
  test(`tfjs ${backend}: variableGrads through a model with the wavelet op equals the reference`, async () => {
    if (backend === 'webgpu' && !(await webgpuBackend())) return;
    await registerWaveletOp();
    await useTfjsBackend(backend);
    // Validation errors on tfjs's own device do not throw: collect them and fail on any.
    const deviceErrors: string[] = [];
    const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
    const onError = (event: Event) => deviceErrors.push((event as GPUUncapturedErrorEvent).error.message);
    device?.addEventListener('uncapturederror', onError);
    for (const form of FORMS) {
      const random = seededRandom(17);
      const [B, T, D, E] = [2, 33, 5, 10];
      const plan = planWavelet(E, { form, maxWindow: 32 });
      const shape = { batch: B, time: T, channels: E };
      const input = randomArray(B * T * D, random);
      const weights = randomArray(D * E, random);
      const readout = randomArray(B * T * E, random);
      const taps = form === 'learnable' ? haarInitialTaps(plan).map((h) => h + 0.1 * (random() - 0.5)) : undefined;

      const X = tf.tensor3d(input, [B, T, D]);
      const W = tf.variable(tf.tensor2d(weights, [D, E]), true, `W_${backend}_${form}`);
      const H = taps ? tf.variable(tf.tensor1d(taps), true, `taps_${backend}_${form}`) : undefined;
      const R = tf.tensor3d(readout, [B, T, E]);
      const { value, grads } = tf.variableGrads(() => {
        const Z = tf.reshape(tf.matMul(tf.reshape(X, [B * T, D]), W), [B, T, E]);
        return tf.sum(tf.mul(waveletFilter(Z, plan, H), R)) as tf.Scalar;
      });

      // The same by hand: Z = X W, loss = <filter(Z), R>.
      const Z = new Float32Array(B * T * E);
      for (let r = 0; r < B * T; r++) for (let e = 0; e < E; e++) for (let d = 0; d < D; d++) Z[r * E + e] += input[r * D + d] * weights[d * E + e];
      const Y = waveletForwardRef(plan, shape, Z, taps);
      const expectedLoss = Y.reduce((s, y, i) => s + y * readout[i], 0);
      const { dx: dZ, dTaps } = waveletBackwardRef(plan, shape, Z, readout, taps);
      const dW = new Float32Array(D * E);
      for (let r = 0; r < B * T; r++) for (let d = 0; d < D; d++) for (let e = 0; e < E; e++) dW[d * E + e] += input[r * D + d] * dZ[r * E + e];

      const label = `${backend} ${form}`;
      assertClose([(await value.data())[0]], [expectedLoss], 1e-5, `${label} loss`);
      assertClose(await grads[W.name].data(), dW, 1e-5, `${label} dW`);
      if (H) assertClose(await grads[H.name].data(), dTaps, 1e-5, `${label} dtaps`);
      tf.dispose([X, W, R, value, ...Object.values(grads), ...(H ? [H] : [])]);
    }
    if (device) {
      await device.queue.onSubmittedWorkDone();
      device.removeEventListener('uncapturederror', onError);
    }
    assert.equal(deviceErrors, [], 'no WebGPU errors on the tfjs device');
  });
}

test('tfjs: bad input gives a clear error', async () => {
  await registerWaveletOp();
  await useTfjsBackend('cpu');
  const plan = planWavelet(4, { form: 'learnable', maxWindow: 4 });
  assert.throws(() => waveletFilter(tf.zeros([3, 4]), plan), /rank 3 \(B, T, E\), found rank 2/);
  assert.throws(() => waveletFilter(tf.zeros([1, 3, 6]), plan), /6 channels, the plan was made for 4/);
  assert.throws(() => waveletFilter(tf.zeros([1, 3, 4]), plan), /learnable form needs taps of 6 values, found none/);
  assert.throws(() => waveletFilter(tf.zeros([1, 3, 4], 'int32'), planWavelet(4, { form: 'haar', maxWindow: 4 })), /float32, found int32/);
});

test.run();
