// The wavelet op's state for generation one position at a time (the reference, in plain
// TypeScript; the wasm backend runs it on views of its memory): per channel, a ring of its last f
// inputs; the Haar form keeps their running sum (O(1) a token), the learnable form takes the dot
// product with its taps (O(f)), EMA keeps its one running value (O(1)). B sequences, each its own
// row. Running values in float64, as the op's other kernels.

import type { WaveletPlan } from '../../model/wavelet_plan.js';

/** The state of one wavelet op, for B sequences. */
export class WaveletState {
  private readonly depth: number; // ring length: the longest window
  private readonly ring: Float64Array; // (B, depth, C)
  private readonly sums: Float64Array; // (B, C): Haar's running sum, EMA's running value
  constructor(private readonly plan: WaveletPlan, private taps: Float32Array | undefined, private readonly B: number) {
    this.depth = Math.max(1, ...plan.windows);
    this.ring = new Float64Array(B * this.depth * plan.channels);
    this.sums = new Float64Array(B * plan.channels);
  }

  /** The learnable taps to read from now on (a view that the caller re-took). */
  useTaps(taps: Float32Array | undefined): void {
    this.taps = taps;
  }

  reset(): void {
    this.ring.fill(0);
    this.sums.fill(0);
  }

  /** y = the filter's output at position t given x at t, for each sequence; x, y (B, C). */
  step(x: Float32Array, y: Float32Array, t: number): void {
    const { windows, alphas, tapOffsets, form, channels: C } = this.plan;
    const D = this.depth;
    for (let b = 0; b < this.B; b++) {
      for (let c = 0; c < C; c++) {
        const value = x[b * C + c];
        const f = windows[c];
        const s = b * C + c;
        if (f === 0) {
          y[s] = value;
          continue;
        }
        if (form === 'ema') {
          y[s] = this.sums[s] = alphas[c] * value + (1 - alphas[c]) * this.sums[s];
          continue;
        }
        const ring = (k: number) => (b * D + ((t - k) % D + D) % D) * C + c; // x[t - k]
        if (form === 'haar') {
          // The mean of the last f inputs (fewer at the start, still over f, as the op defines).
          // x[t - f] is read before x[t] is stored: with f = D they share a slot.
          this.sums[s] += value - (t >= f ? this.ring[ring(f)] : 0);
          this.ring[ring(0)] = value;
          y[s] = this.sums[s] / f;
        } else {
          this.ring[ring(0)] = value;
          let sum = 0;
          const h0 = tapOffsets[c];
          for (let k = 0; k < f && k <= t; k++) sum += this.taps![h0 + k] * this.ring[ring(k)];
          y[s] = sum;
        }
      }
    }
  }
}
