// The layers of a GPT on the CPU with 128-bit SIMD: the same functions, argument orders and
// shapes as src/kernels/gpt/ref.ts (the oracle, which the tests hold these to). Backward
// functions accumulate (+=) into their gradients. All pointers are byte offsets of float32
// arrays (int32 for tokens) in this module's memory, laid out by src/backends/wasm/model.ts;
// encoderForward/Backward take wpe 0 for a network without positions.

import { f, setF } from './memory';

@inline
function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** y[0..n) += a * x[0..n). */
@inline
function axpy(y: usize, a: f32, x: usize, n: i32): void {
  const av = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    v128.store(y + at, f32x4.add(v128.load(y + at), f32x4.mul(av, v128.load(x + at))));
  }
  for (; i < n; i++) setF(y, i, f(y, i) + a * f(x, i));
}

/** sum of x[i] * y[i], i < n. */
@inline
function dot(x: usize, y: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(x + (<usize>i << 2)), v128.load(y + (<usize>i << 2))));
  let s = hsum(acc);
  for (; i < n; i++) s += f(x, i) * f(y, i);
  return s;
}

export function encoderForward(out: usize, tokens: usize, wte: usize, wpe: usize, B: i32, T: i32, C: i32): void {
  for (let bt = 0; bt < B * T; bt++) {
    const token = load<i32>(tokens + (<usize>bt << 2));
    const o = out + (<usize>(bt * C) << 2);
    const e = wte + (<usize>(token * C) << 2);
    if (wpe == 0) {
      memory.copy(o, e, <usize>C << 2); // a network without positions (WaveletLM)
      continue;
    }
    const p = wpe + (<usize>((bt % T) * C) << 2);
    for (let c = 0; c < C; c++) setF(o, c, f(e, c) + f(p, c));
  }
}

export function encoderBackward(dwte: usize, dwpe: usize, dout: usize, tokens: usize, B: i32, T: i32, C: i32): void {
  for (let bt = 0; bt < B * T; bt++) {
    const token = load<i32>(tokens + (<usize>bt << 2));
    const d = dout + (<usize>(bt * C) << 2);
    axpy(dwte + (<usize>(token * C) << 2), 1, d, C);
    if (dwpe != 0) axpy(dwpe + (<usize>((bt % T) * C) << 2), 1, d, C);
  }
}

const LAYERNORM_EPSILON: f32 = 1e-5;

export function layernormForward(out: usize, mean: usize, rstd: usize, inp: usize, w: usize, b: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) {
    const x = inp + (<usize>(n * C) << 2);
    const o = out + (<usize>(n * C) << 2);
    let m: f32 = 0;
    for (let c = 0; c < C; c++) m += f(x, c);
    m /= <f32>C;
    let v: f32 = 0;
    for (let c = 0; c < C; c++) {
      const d = f(x, c) - m;
      v += d * d;
    }
    v /= <f32>C;
    const s: f32 = 1 / Mathf.sqrt(v + LAYERNORM_EPSILON);
    for (let c = 0; c < C; c++) setF(o, c, (f(x, c) - m) * s * f(w, c) + f(b, c));
    setF(mean, n, m);
    setF(rstd, n, s);
  }
}

export function layernormBackward(dinp: usize, dw: usize, db: usize, dout: usize, inp: usize, w: usize, mean: usize, rstd: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) {
    const x = inp + (<usize>(n * C) << 2);
    const d = dout + (<usize>(n * C) << 2);
    const di = dinp + (<usize>(n * C) << 2);
    const m = f(mean, n);
    const s = f(rstd, n);
    let dnormMean: f32 = 0;
    let dnormNormMean: f32 = 0;
    for (let c = 0; c < C; c++) {
      const dnorm = f(d, c) * f(w, c);
      dnormMean += dnorm;
      dnormNormMean += dnorm * (f(x, c) - m) * s;
    }
    dnormMean /= <f32>C;
    dnormNormMean /= <f32>C;
    for (let c = 0; c < C; c++) {
      const norm = (f(x, c) - m) * s;
      const dnorm = f(d, c) * f(w, c);
      setF(db, c, f(db, c) + f(d, c));
      setF(dw, c, f(dw, c) + norm * f(d, c));
      setF(di, c, f(di, c) + s * (dnorm - dnormMean - norm * dnormNormMean));
    }
  }
}

/**
 * out (N, OC) = inp (N, C) @ w^T + bias; w is (OC, C), bias 0 for none. Four output channels at
 * a time share each load of the input row.
 */
export function matmulForward(out: usize, inp: usize, w: usize, bias: usize, N: i32, C: i32, OC: i32): void {
  const rowBytes = <usize>C << 2;
  for (let n = 0; n < N; n++) {
    const x = inp + <usize>n * rowBytes;
    const o = out + (<usize>(n * OC) << 2);
    let oc = 0;
    for (; oc + 4 <= OC; oc += 4) {
      const w0 = w + <usize>oc * rowBytes;
      const w1 = w0 + rowBytes;
      const w2 = w1 + rowBytes;
      const w3 = w2 + rowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let c = 0;
      for (; c + 4 <= C; c += 4) {
        const at = <usize>c << 2;
        const xv = v128.load(x + at);
        a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(w0 + at)));
        a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(w1 + at)));
        a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(w2 + at)));
        a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(w3 + at)));
      }
      let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      for (; c < C; c++) {
        const xc = f(x, c);
        s0 += xc * f(w0, c);
        s1 += xc * f(w1, c);
        s2 += xc * f(w2, c);
        s3 += xc * f(w3, c);
      }
      if (bias) {
        s0 += f(bias, oc);
        s1 += f(bias, oc + 1);
        s2 += f(bias, oc + 2);
        s3 += f(bias, oc + 3);
      }
      setF(o, oc, s0);
      setF(o, oc + 1, s1);
      setF(o, oc + 2, s2);
      setF(o, oc + 3, s3);
    }
    for (; oc < OC; oc++) setF(o, oc, dot(x, w + <usize>oc * rowBytes, C) + (bias ? f(bias, oc) : 0));
  }
}

export function matmulBackward(dinp: usize, dw: usize, dbias: usize, dout: usize, inp: usize, w: usize, N: i32, C: i32, OC: i32): void {
  const rowBytes = <usize>C << 2;
  for (let n = 0; n < N; n++) {
    const d = dout + (<usize>(n * OC) << 2);
    const di = dinp + <usize>n * rowBytes;
    for (let oc = 0; oc < OC; oc++) axpy(di, f(d, oc), w + <usize>oc * rowBytes, C);
  }
  for (let oc = 0; oc < OC; oc++) {
    const dwRow = dw + <usize>oc * rowBytes;
    let db: f32 = 0;
    for (let n = 0; n < N; n++) {
      const g = f(dout, n * OC + oc);
      db += g;
      axpy(dwRow, g, inp + <usize>n * rowBytes, C);
    }
    if (dbias) setF(dbias, oc, f(dbias, oc) + db);
  }
}

/** Causal multi-head attention; qkv (B, T, 3C), out (B, T, C), att (B, NH, T, T). */
export function attentionForward(out: usize, att: usize, qkv: usize, B: i32, T: i32, C: i32, NH: i32): void {
  const hs = C / NH;
  const scale: f32 = 1 / Mathf.sqrt(<f32>hs);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const q = qkv + (<usize>((b * T + t) * 3 * C + h * hs) << 2);
        const row = att + (<usize>(((b * NH + h) * T + t) * T) << 2);
        let max: f32 = -Infinity;
        for (let u = 0; u <= t; u++) {
          const s = dot(q, qkv + (<usize>((b * T + u) * 3 * C + C + h * hs) << 2), hs) * scale;
          setF(row, u, s);
          max = Mathf.max(max, s);
        }
        let sum: f32 = 0;
        for (let u = 0; u <= t; u++) {
          const e = Mathf.exp(f(row, u) - max);
          setF(row, u, e);
          sum += e;
        }
        const inv: f32 = 1 / sum;
        for (let u = 0; u < T; u++) setF(row, u, u <= t ? f(row, u) * inv : 0);
        const o = out + (<usize>((b * T + t) * C + h * hs) << 2);
        memory.fill(o, 0, <usize>hs << 2);
        for (let u = 0; u <= t; u++) axpy(o, f(row, u), qkv + (<usize>((b * T + u) * 3 * C + 2 * C + h * hs) << 2), hs);
      }
    }
  }
}

/**
 * Attention of one new position t per sequence over the cached keys and values of positions
 * 0..t (cached generation): qkv (B, 3C) the new position's, keys and values (B, T, C), out (B, C);
 * scores: t + 1 floats of scratch.
 */
export function decodeAttention(out: usize, qkv: usize, keys: usize, values: usize, B: i32, T: i32, t: i32, C: i32, NH: i32, scores: usize): void {
  const hs = C / NH;
  const scale: f32 = 1 / Mathf.sqrt(<f32>hs);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const q = qkv + (<usize>(b * 3 * C + h * hs) << 2);
      let max: f32 = -Infinity;
      for (let u = 0; u <= t; u++) {
        const s = dot(q, keys + (<usize>((b * T + u) * C + h * hs) << 2), hs) * scale;
        setF(scores, u, s);
        max = Mathf.max(max, s);
      }
      let sum: f32 = 0;
      for (let u = 0; u <= t; u++) {
        const e = Mathf.exp(f(scores, u) - max);
        setF(scores, u, e);
        sum += e;
      }
      const inv: f32 = 1 / sum;
      const o = out + (<usize>(b * C + h * hs) << 2);
      memory.fill(o, 0, <usize>hs << 2);
      for (let u = 0; u <= t; u++) axpy(o, f(scores, u) * inv, values + (<usize>((b * T + u) * C + h * hs) << 2), hs);
    }
  }
}

/** scratch: T floats. */
export function attentionBackward(dqkv: usize, dout: usize, qkv: usize, att: usize, B: i32, T: i32, C: i32, NH: i32, scratch: usize): void {
  const hs = C / NH;
  const scale: f32 = 1 / Mathf.sqrt(<f32>hs);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const row = att + (<usize>(((b * NH + h) * T + t) * T) << 2);
        const dy = dout + (<usize>((b * T + t) * C + h * hs) << 2);
        for (let u = 0; u <= t; u++) {
          const offset = (b * T + u) * 3 * C + 2 * C + h * hs;
          setF(scratch, u, dot(dy, qkv + (<usize>offset << 2), hs));
          axpy(dqkv + (<usize>offset << 2), f(row, u), dy, hs);
        }
        let weighted: f32 = 0;
        for (let u = 0; u <= t; u++) weighted += f(row, u) * f(scratch, u);
        const q = (b * T + t) * 3 * C + h * hs;
        for (let u = 0; u <= t; u++) {
          const dpre = f(row, u) * (f(scratch, u) - weighted) * scale;
          const k = (b * T + u) * 3 * C + C + h * hs;
          axpy(dqkv + (<usize>q << 2), dpre, qkv + (<usize>k << 2), hs);
          axpy(dqkv + (<usize>k << 2), dpre, qkv + (<usize>q << 2), hs);
        }
      }
    }
  }
}

const GELU_SCALE: f32 = 0.7978845608028654; // sqrt(2 / pi)

export function geluForward(out: usize, inp: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const x = f(inp, i);
    setF(out, i, 0.5 * x * (1 + Mathf.tanh(GELU_SCALE * (x + 0.044715 * x * x * x))));
  }
}

export function geluBackward(dinp: usize, inp: usize, dout: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const x = f(inp, i);
    const th = Mathf.tanh(GELU_SCALE * (x + 0.044715 * x * x * x));
    const du = GELU_SCALE * (1 + 3 * 0.044715 * x * x);
    setF(dinp, i, f(dinp, i) + f(dout, i) * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * du));
  }
}

/** out = a + b (n floats). */
export function residualForward(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    v128.store(out + at, f32x4.add(v128.load(a + at), v128.load(b + at)));
  }
  for (; i < n; i++) setF(out, i, f(a, i) + f(b, i));
}

/** dst += scale * src (n floats). */
export function addScaled(dst: usize, src: usize, scale: f32, n: i32): void {
  axpy(dst, scale, src, n);
}

/** Positions whose target is not -1 (ignored: left out of the loss). */
function countedTargets(targets: usize, N: i32): i32 {
  let count = 0;
  for (let n = 0; n < N; n++) if (load<i32>(targets + (<usize>n << 2)) >= 0) count++;
  return max(1, count);
}

/** probs = softmax(logits) per row; returns the mean cross-entropy (nats) over targets not -1. */
export function crossEntropyForward(probs: usize, logits: usize, targets: usize, N: i32, V: i32): f64 {
  let total: f64 = 0;
  for (let n = 0; n < N; n++) {
    const l = logits + (<usize>(n * V) << 2);
    const p = probs + (<usize>(n * V) << 2);
    let max: f32 = -Infinity;
    for (let v = 0; v < V; v++) max = Mathf.max(max, f(l, v));
    let sum: f32 = 0;
    for (let v = 0; v < V; v++) {
      const e = Mathf.exp(f(l, v) - max);
      setF(p, v, e);
      sum += e;
    }
    const inv: f32 = 1 / sum;
    for (let v = 0; v < V; v++) setF(p, v, f(p, v) * inv);
    const target = load<i32>(targets + (<usize>n << 2));
    if (target >= 0) total -= <f64>(f(l, target) - max) - Math.log(<f64>sum);
  }
  return total / <f64>countedTargets(targets, N);
}

/** dlogits += (probs - onehot(target)) / counted, nothing at ignored (-1) targets. */
export function crossEntropyBackward(dlogits: usize, probs: usize, targets: usize, N: i32, V: i32): void {
  const inv: f32 = 1 / <f32>countedTargets(targets, N);
  for (let n = 0; n < N; n++) {
    const target = load<i32>(targets + (<usize>n << 2));
    if (target < 0) continue;
    for (let v = 0; v < V; v++) {
      const i = n * V + v;
      setF(dlogits, i, f(dlogits, i) + (f(probs, i) - (v == target ? <f32>1 : <f32>0)) * inv);
    }
  }
}
