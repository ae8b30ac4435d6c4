// The oracle: the wavelet structure written as its definition, direct O(T * f) sums in float64,
// with no trick shared with the fast kernels (they run the backward pass as the forward pass
// reversed in time; here the backward pass is the transpose scattered term by term, and for EMA
// its adjoint recurrence). The finite-difference tests hold this file to the mathematics.
// Layout everywhere: x[(b * T + t) * E + c], channel fastest.

import { checkActivation, type ActivationShape, type WaveletPlan } from '../../model/wavelet_plan.js';

export interface WaveletGradients {
  /** dL/dx, same layout as x. */
  dx: Float32Array;
  /** dL/dtaps for the learnable form (empty for the others, which have no parameters). */
  dTaps: Float32Array;
}

export function waveletForwardRef(plan: WaveletPlan, shape: ActivationShape, x: Float32Array, taps?: Float32Array): Float32Array {
  checkActivation(plan, shape, x.length, 'x', taps);
  const { batch: B, time: T, channels: E } = shape;
  const y = new Float32Array(x.length);
  for (let b = 0; b < B; b++) {
    const row = (t: number, c: number) => (b * T + t) * E + c;
    for (let c = 0; c < E; c++) {
      const f = plan.windows[c];
      if (f === 0) {
        for (let t = 0; t < T; t++) y[row(t, c)] = x[row(t, c)];
      } else if (plan.form === 'ema') {
        const a = plan.alphas[c];
        let s = 0;
        for (let t = 0; t < T; t++) y[row(t, c)] = s = a * x[row(t, c)] + (1 - a) * s;
      } else {
        const h0 = plan.tapOffsets[c];
        for (let t = 0; t < T; t++) {
          let sum = 0;
          for (let k = 0; k < f && k <= t; k++) {
            const weight = plan.form === 'haar' ? 1 / f : taps![h0 + k];
            sum += weight * x[row(t - k, c)];
          }
          y[row(t, c)] = sum;
        }
      }
    }
  }
  return y;
}

export function waveletBackwardRef(
  plan: WaveletPlan,
  shape: ActivationShape,
  x: Float32Array,
  dy: Float32Array,
  taps?: Float32Array,
): WaveletGradients {
  checkActivation(plan, shape, x.length, 'x', taps);
  checkActivation(plan, shape, dy.length, 'dy', taps);
  const { batch: B, time: T, channels: E } = shape;
  const dx = new Float64Array(x.length);
  const dTaps = new Float64Array(plan.tapCount);
  for (let b = 0; b < B; b++) {
    const row = (t: number, c: number) => (b * T + t) * E + c;
    for (let c = 0; c < E; c++) {
      const f = plan.windows[c];
      if (f === 0) {
        for (let t = 0; t < T; t++) dx[row(t, c)] = dy[row(t, c)];
      } else if (plan.form === 'ema') {
        // y[t] = sum_{m <= t} a (1 - a)^(t - m) x[m], so dx[m] = a g[m] with g[m] = sum_{t >= m} (1 - a)^(t - m) dy[t],
        // which satisfies g[m] = dy[m] + (1 - a) g[m + 1].
        const a = plan.alphas[c];
        let g = 0;
        for (let m = T - 1; m >= 0; m--) {
          g = dy[row(m, c)] + (1 - a) * g;
          dx[row(m, c)] = a * g;
        }
      } else {
        const h0 = plan.tapOffsets[c];
        for (let t = 0; t < T; t++) {
          const g = dy[row(t, c)];
          for (let k = 0; k < f && k <= t; k++) {
            const weight = plan.form === 'haar' ? 1 / f : taps![h0 + k];
            dx[row(t - k, c)] += weight * g;
            if (plan.form === 'learnable') dTaps[h0 + k] += g * x[row(t - k, c)];
          }
        }
      }
    }
  }
  return { dx: Float32Array.from(dx), dTaps: Float32Array.from(dTaps) };
}
