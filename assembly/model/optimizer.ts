// The optimizers over all parameters at once (src/kernels/optimizer/ref.ts is their reference):
// the squared norm for clipping, then one fused update that takes the clipping's scale. The
// updates are elementwise: threads share them out by ranges (backends/wasm/parallel.ts).

import { f, setF } from './memory';

/**
 * The squared norm for clipping is summed in float64 by blocks of this many floats (threads share
 * the blocks out), then the blocks' sums in order: fixed, so that the total is the same bits
 * however the blocks are shared out.
 */
const SQUARES_BLOCK: i32 = 1 << 14;

/** Floats a block of sumSquaresBlocks. */
export function squaresBlock(): i32 {
  return SQUARES_BLOCK;
}

/**
 * out[b] (float64) = the sum of squares of x's floats b * SQUARES_BLOCK up to the next block or
 * n, in float64, even and odd floats in two lanes then added; x must start a block.
 */
export function sumSquaresBlocks(x: usize, n: i32, out: usize): void {
  for (let b = 0, start = 0; start < n; b++, start += SQUARES_BLOCK) {
    const end = min(n, start + SQUARES_BLOCK);
    let acc = f64x2.splat(0);
    let i = start;
    for (; i + 4 <= end; i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
      acc = f64x2.add(f64x2.add(acc, f64x2.mul(lo, lo)), f64x2.mul(hi, hi));
    }
    let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
    for (; i < end; i++) {
      const v = <f64>f(x, i);
      s += v * v;
    }
    store<f64>(out + (<usize>b << 3), s);
  }
}

/** One AdamW step (ref.ts's adamwStep), gradients scaled by gradScale. */
export function adamw(params: usize, grads: usize, m: usize, v: usize, mask: usize, n: i32, lr: f32, beta1: f32, beta2: f32, epsilon: f32, weightDecay: f32, correction1: f32, correction2: f32, gradScale: f32): void {
  for (let i = 0; i < n; i++) {
    const g = f(grads, i) * gradScale;
    const mi = beta1 * f(m, i) + (1 - beta1) * g;
    const vi = beta2 * f(v, i) + (1 - beta2) * g * g;
    setF(m, i, mi);
    setF(v, i, vi);
    const update = mi / correction1 / (Mathf.sqrt(vi / correction2) + epsilon);
    const p = f(params, i);
    setF(params, i, p - lr * (update + (load<u8>(mask + i) ? weightDecay * p : 0)));
  }
}

/** One Adagrad step (ref.ts's adagradStep): decay as L2 in the gradient, after its scaling by gradScale. */
export function adagrad(params: usize, grads: usize, sum: usize, mask: usize, n: i32, lr: f32, epsilon: f32, weightDecay: f32, gradScale: f32): void {
  for (let i = 0; i < n; i++) {
    const p = f(params, i);
    const g = f(grads, i) * gradScale + (load<u8>(mask + i) ? weightDecay * p : 0);
    const s = f(sum, i) + g * g;
    setF(sum, i, s);
    setF(params, i, p - lr * g / (Mathf.sqrt(s) + epsilon));
  }
}
