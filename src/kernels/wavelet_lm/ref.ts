// WaveletLM's own layers in plain TypeScript: the oracle of every backend's kernels. Activations
// are (B, T, W) row-major (row n = b * T + t); backward functions add (+=) into gradients, as the
// GPT's reference (kernels/gpt/ref.ts). Sums along time and over rows run in float64.

/** out (N, to) = [x (N, from), 0]. */
export function padForward(out: Float32Array, x: Float32Array, N: number, from: number, to: number): void {
  out.fill(0);
  for (let n = 0; n < N; n++) out.set(x.subarray(n * from, n * from + from), n * to);
}

export function padBackward(dx: Float32Array, dout: Float32Array, N: number, from: number, to: number): void {
  for (let n = 0; n < N; n++) for (let c = 0; c < from; c++) dx[n * from + c] += dout[n * to + c];
}

/** out[b, t] = (x[b, t - delay] - predicted[b, t]) / sqrt 2, x before 0 taken as 0. */
export function liftingPredictForward(out: Float32Array, x: Float32Array, predicted: Float32Array, B: number, T: number, W: number, delay: number): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * W;
      const past = (b * T + t - delay) * W;
      for (let c = 0; c < W; c++) out[row + c] = ((t >= delay ? x[past + c] : 0) - predicted[row + c]) * Math.SQRT1_2;
    }
  }
}

export function liftingPredictBackward(dx: Float32Array, dpredicted: Float32Array, dout: Float32Array, B: number, T: number, W: number, delay: number): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * W;
      const past = (b * T + t - delay) * W;
      for (let c = 0; c < W; c++) {
        const d = dout[row + c] * Math.SQRT1_2;
        if (t >= delay) dx[past + c] += d;
        dpredicted[row + c] -= d;
      }
    }
  }
}

/** out = fa * a + fb * b. */
export function sumForward(out: Float32Array, a: Float32Array, b: Float32Array, fa: number, fb: number): void {
  for (let i = 0; i < out.length; i++) out[i] = fa * a[i] + fb * b[i];
}

/** The dot product of two activations: a learned factor's gradient. */
export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** into += factor * from. */
export function addScaled(into: Float32Array, from: Float32Array, factor: number): void {
  for (let i = 0; i < into.length; i++) into[i] += factor * from[i];
}

/** out (N, W) = x * gain (W). */
export function channelScaleForward(out: Float32Array, x: Float32Array, gain: Float32Array, N: number, W: number): void {
  for (let n = 0; n < N; n++) for (let c = 0; c < W; c++) out[n * W + c] = x[n * W + c] * gain[c];
}

export function channelScaleBackward(dx: Float32Array, dgain: Float32Array, dout: Float32Array, x: Float32Array, gain: Float32Array, N: number, W: number): void {
  for (let c = 0; c < W; c++) {
    let sum = 0;
    for (let n = 0; n < N; n++) {
      dx[n * W + c] += dout[n * W + c] * gain[c];
      sum += dout[n * W + c] * x[n * W + c];
    }
    dgain[c] += sum;
  }
}

/** The orthonormal Walsh-Hadamard transform of each row (W a power of two), in natural (Sylvester) order. */
export function hadamardForward(out: Float32Array, x: Float32Array, N: number, W: number): void {
  if (W & (W - 1)) throw new Error(`hadamard: width ${W} is not a power of two`);
  const scale = 1 / Math.sqrt(W);
  const row = new Float64Array(W);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < W; c++) row[c] = x[n * W + c];
    for (let h = 1; h < W; h *= 2) {
      for (let start = 0; start < W; start += 2 * h) {
        for (let c = start; c < start + h; c++) {
          const [u, v] = [row[c], row[c + h]];
          row[c] = u + v;
          row[c + h] = u - v;
        }
      }
    }
    for (let c = 0; c < W; c++) out[n * W + c] = row[c] * scale;
  }
}

/** The transform is symmetric and orthonormal: its gradient is itself applied to dout. */
export function hadamardBackward(dx: Float32Array, dout: Float32Array, N: number, W: number): void {
  const through = new Float32Array(N * W);
  hadamardForward(through, dout, N, W);
  addScaled(dx, through, 1);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** out = x * silu(gate), silu(g) = g * sigmoid(g). */
export function siluGateForward(out: Float32Array, x: Float32Array, gate: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = x[i] * gate[i] * sigmoid(gate[i]);
}

export function siluGateBackward(dx: Float32Array, dgate: Float32Array, dout: Float32Array, x: Float32Array, gate: Float32Array): void {
  for (let i = 0; i < dout.length; i++) {
    const g = gate[i];
    const s = sigmoid(g);
    dx[i] += dout[i] * g * s;
    dgate[i] += dout[i] * x[i] * s * (1 + g * (1 - s));
  }
}

/** out = sum_s matrix[row, s] * ins[s], matrix (S, S). */
export function scaleRouteForward(out: Float32Array, ins: Float32Array[], matrix: Float32Array, row: number): void {
  const S = ins.length;
  out.fill(0);
  for (let s = 0; s < S; s++) addScaled(out, ins[s], matrix[row * S + s]);
}

export function scaleRouteBackward(dins: Float32Array[], dmatrix: Float32Array, dout: Float32Array, ins: Float32Array[], matrix: Float32Array, row: number): void {
  const S = ins.length;
  for (let s = 0; s < S; s++) {
    addScaled(dins[s], dout, matrix[row * S + s]);
    dmatrix[row * S + s] += dot(ins[s], dout);
  }
}

/** out[b, t] = mean of x[b, 0..t]. */
export function runningMeanForward(out: Float32Array, x: Float32Array, B: number, T: number, W: number): void {
  const sum = new Float64Array(W);
  for (let b = 0; b < B; b++) {
    sum.fill(0);
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * W;
      for (let c = 0; c < W; c++) {
        sum[c] += x[row + c];
        out[row + c] = sum[c] / (t + 1);
      }
    }
  }
}

/** dx[b, u] += sum over t >= u of dout[b, t] / (t + 1): a reversed running sum. */
export function runningMeanBackward(dx: Float32Array, dout: Float32Array, B: number, T: number, W: number): void {
  const sum = new Float64Array(W);
  for (let b = 0; b < B; b++) {
    sum.fill(0);
    for (let t = T - 1; t >= 0; t--) {
      const row = (b * T + t) * W;
      for (let c = 0; c < W; c++) {
        sum[c] += dout[row + c] / (t + 1);
        dx[row + c] += sum[c];
      }
    }
  }
}

/**
 * Decoding state of the two layers that look along time, for B sequences one position at a time:
 * lifting_predict keeps a ring of its last `delay` inputs, running_mean its running sum.
 */
export class LiftingPredictState {
  private readonly ring: Float32Array; // (B, delay, W)
  constructor(private readonly B: number, private readonly W: number, private readonly delay: number) {
    this.ring = new Float32Array(B * delay * W);
  }
  reset(): void {
    this.ring.fill(0); // positions before 0 read as 0, as in the full pass
  }
  /** out (B, W) at position t from x and predicted (B, W). */
  step(out: Float32Array, x: Float32Array, predicted: Float32Array, t: number): void {
    const { B, W, delay } = this;
    const slot = t % delay; // holds x at t - delay, or 0 before the sequence
    for (let b = 0; b < B; b++) {
      const at = (b * delay + slot) * W;
      for (let c = 0; c < W; c++) {
        out[b * W + c] = (this.ring[at + c] - predicted[b * W + c]) * Math.SQRT1_2;
        this.ring[at + c] = x[b * W + c];
      }
    }
  }
}

export class RunningMeanState {
  private readonly sum: Float64Array; // (B, W)
  constructor(private readonly B: number, private readonly W: number) {
    this.sum = new Float64Array(B * W);
  }
  reset(): void {
    this.sum.fill(0);
  }
  step(out: Float32Array, x: Float32Array, t: number): void {
    for (let i = 0; i < this.B * this.W; i++) {
      this.sum[i] += x[i];
      out[i] = this.sum[i] / (t + 1);
    }
  }
}
