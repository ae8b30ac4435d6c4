// The optimizers over all parameters at once (src/kernels/optimizer/ref.ts is their reference):
// the squared norm for clipping, then one fused update that takes the clipping's scale. The
// updates are elementwise: threads share them out by ranges (backends/wasm/parallel.ts).

import { f, setF } from './memory';

/** sum of squares of n floats, in float64 (for the global gradient norm). */
export function sumSquares(x: usize, n: i32): f64 {
  let s: f64 = 0;
  for (let i = 0; i < n; i++) {
    const v = <f64>f(x, i);
    s += v * v;
  }
  return s;
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
