// WaveletLM's own layers on the CPU with 128-bit SIMD: the functions of
// src/kernels/wavelet_lm/ref.ts (the oracle, which test/backends/layers.test.ts holds these to),
// same arguments and shapes. Activations are (B, T, W) row-major; pointers are byte offsets of
// float32 arrays in this module's memory; backward functions add (+=) into their gradients.

import { at, f, setF } from './memory';

/** out (N, to) = [x (N, from), 0]. */
export function padForward(out: usize, x: usize, N: i32, from: i32, to: i32): void {
  for (let n = 0; n < N; n++) {
    memory.copy(at(out, n * to), at(x, n * from), <usize>from << 2);
    memory.fill(at(out, n * to + from), 0, <usize>(to - from) << 2);
  }
}

export function padBackward(dx: usize, dout: usize, N: i32, from: i32, to: i32): void {
  for (let n = 0; n < N; n++) addInto(at(dx, n * from), at(dout, n * to), 1, from);
}

/** y[0..n) += a * x[0..n). */
@inline
function addInto(y: usize, x: usize, a: f32, n: i32): void {
  const av = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.add(v128.load(at(y, i)), f32x4.mul(av, v128.load(at(x, i)))));
  for (; i < n; i++) setF(y, i, f(y, i) + a * f(x, i));
}

/** out[b, t] = (x[b, t - delay] - predicted[b, t]) / sqrt 2, x before 0 taken as 0. */
export function liftingPredictForward(out: usize, x: usize, predicted: usize, B: i32, T: i32, W: i32, delay: i32): void {
  const half = f32x4.splat(<f32>Math.SQRT1_2);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * W;
      const past = row - delay * W;
      let c = 0;
      if (t >= delay) {
        for (; c + 4 <= W; c += 4) v128.store(at(out, row + c), f32x4.mul(f32x4.sub(v128.load(at(x, past + c)), v128.load(at(predicted, row + c))), half));
        for (; c < W; c++) setF(out, row + c, (f(x, past + c) - f(predicted, row + c)) * <f32>Math.SQRT1_2);
      } else {
        for (; c + 4 <= W; c += 4) v128.store(at(out, row + c), f32x4.mul(f32x4.neg(v128.load(at(predicted, row + c))), half));
        for (; c < W; c++) setF(out, row + c, -f(predicted, row + c) * <f32>Math.SQRT1_2);
      }
    }
  }
}

export function liftingPredictBackward(dx: usize, dpredicted: usize, dout: usize, B: i32, T: i32, W: i32, delay: i32): void {
  const half: f32 = <f32>Math.SQRT1_2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * W;
      if (t >= delay) addInto(at(dx, row - delay * W), at(dout, row), half, W);
      addInto(at(dpredicted, row), at(dout, row), -half, W);
    }
  }
}

/** out = fa * a + fb * b (n floats). */
export function scaledSum(out: usize, a: usize, b: usize, fa: f32, fb: f32, n: i32): void {
  const av = f32x4.splat(fa);
  const bv = f32x4.splat(fb);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(out, i), f32x4.add(f32x4.mul(av, v128.load(at(a, i))), f32x4.mul(bv, v128.load(at(b, i)))));
  for (; i < n; i++) setF(out, i, fa * f(a, i) + fb * f(b, i));
}

/** The dot product of two arrays of n floats, summed in float64 by lanes (a learned factor's gradient). */
export function dotProduct(a: usize, b: usize, n: i32): f64 {
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = f32x4.mul(v128.load(at(a, i)), v128.load(at(b, i)));
    acc = f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(p), f64x2.promote_low_f32x4(v128.shuffle<f32>(p, p, 2, 3, 0, 1))));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; i < n; i++) s += <f64>f(a, i) * <f64>f(b, i);
  return s;
}

/** out (N, W) = x * gain (W). */
export function channelScaleForward(out: usize, x: usize, gain: usize, N: i32, W: i32): void {
  for (let n = 0; n < N; n++) {
    const row = n * W;
    let c = 0;
    for (; c + 4 <= W; c += 4) v128.store(at(out, row + c), f32x4.mul(v128.load(at(x, row + c)), v128.load(at(gain, c))));
    for (; c < W; c++) setF(out, row + c, f(x, row + c) * f(gain, c));
  }
}

/** dx += dout * gain; dgain += the sum over rows of dout * x. */
export function channelScaleBackward(dx: usize, dgain: usize, dout: usize, x: usize, gain: usize, N: i32, W: i32): void {
  for (let n = 0; n < N; n++) {
    const row = n * W;
    let c = 0;
    for (; c + 4 <= W; c += 4) {
      const d = v128.load(at(dout, row + c));
      v128.store(at(dx, row + c), f32x4.add(v128.load(at(dx, row + c)), f32x4.mul(d, v128.load(at(gain, c)))));
      v128.store(at(dgain, c), f32x4.add(v128.load(at(dgain, c)), f32x4.mul(d, v128.load(at(x, row + c)))));
    }
    for (; c < W; c++) {
      setF(dx, row + c, f(dx, row + c) + f(dout, row + c) * f(gain, c));
      setF(dgain, c, f(dgain, c) + f(dout, row + c) * f(x, row + c));
    }
  }
}

/**
 * The orthonormal Walsh-Hadamard transform of each row (W a power of two), natural order; with
 * accumulate, added into out rather than written. scratch: W floats.
 */
export function hadamard(out: usize, x: usize, N: i32, W: i32, accumulate: bool, scratch: usize): void {
  const scale: f32 = <f32>(1 / Math.sqrt(<f64>W));
  for (let n = 0; n < N; n++) {
    memory.copy(scratch, at(x, n * W), <usize>W << 2);
    let h = 1;
    // Pairs h apart: for h < 4 within a vector (scalar), from h = 4 on whole vectors.
    for (; h < W && h < 4; h <<= 1) {
      for (let start = 0; start < W; start += 2 * h) {
        for (let c = start; c < start + h; c++) {
          const u = f(scratch, c), v = f(scratch, c + h);
          setF(scratch, c, u + v);
          setF(scratch, c + h, u - v);
        }
      }
    }
    for (; h < W; h <<= 1) {
      for (let start = 0; start < W; start += 2 * h) {
        for (let c = start; c < start + h; c += 4) {
          const u = v128.load(at(scratch, c)), v = v128.load(at(scratch, c + h));
          v128.store(at(scratch, c), f32x4.add(u, v));
          v128.store(at(scratch, c + h), f32x4.sub(u, v));
        }
      }
    }
    if (accumulate) addInto(at(out, n * W), scratch, scale, W);
    else {
      memory.fill(at(out, n * W), 0, <usize>W << 2);
      addInto(at(out, n * W), scratch, scale, W);
    }
  }
}

/** out = x * silu(gate) (n floats). */
export function siluGateForward(out: usize, x: usize, gate: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const g = f(gate, i);
    setF(out, i, f(x, i) * g / (1 + Mathf.exp(-g)));
  }
}

export function siluGateBackward(dx: usize, dgate: usize, dout: usize, x: usize, gate: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const g = f(gate, i);
    const s: f32 = 1 / (1 + Mathf.exp(-g));
    const d = f(dout, i);
    setF(dx, i, f(dx, i) + d * g * s);
    setF(dgate, i, f(dgate, i) + d * f(x, i) * s * (1 + g * (1 - s)));
  }
}

/** out[b, t] = mean of x[b, 0..t]; sums: W float64 of scratch. */
export function runningMeanForward(out: usize, x: usize, B: i32, T: i32, W: i32, sums: usize): void {
  for (let b = 0; b < B; b++) {
    memory.fill(sums, 0, <usize>W << 3);
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * W;
      const inv: f64 = 1 / <f64>(t + 1);
      for (let c = 0; c < W; c++) {
        const s = load<f64>(sums + (<usize>c << 3)) + <f64>f(x, row + c);
        store<f64>(sums + (<usize>c << 3), s);
        setF(out, row + c, <f32>(s * inv));
      }
    }
  }
}

/** dx[b, u] += sum over t >= u of dout[b, t] / (t + 1). */
export function runningMeanBackward(dx: usize, dout: usize, B: i32, T: i32, W: i32, sums: usize): void {
  for (let b = 0; b < B; b++) {
    memory.fill(sums, 0, <usize>W << 3);
    for (let t = T - 1; t >= 0; t--) {
      const row = (b * T + t) * W;
      const inv: f64 = 1 / <f64>(t + 1);
      for (let c = 0; c < W; c++) {
        const s = load<f64>(sums + (<usize>c << 3)) + <f64>f(dout, row + c) * inv;
        store<f64>(sums + (<usize>c << 3), s);
        setF(dx, row + c, f(dx, row + c) + <f32>s);
      }
    }
  }
}
