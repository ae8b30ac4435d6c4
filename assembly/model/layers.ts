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
 * out (N, OC) = inp (N, C) @ w^T + bias; w is (OC, C), bias 0 for none. Two rows by four output
 * channels at a time: each load of an input row serves four channels and each load of a weight
 * row two positions. Every output is summed in the same order however the rows are grouped (four
 * lanes over c, their sum, then the tail of c, then the bias): a row gives the same bits alone, in
 * a pair, or in another thread's share of the rows.
 */
export function matmulForward(out: usize, inp: usize, w: usize, bias: usize, N: i32, C: i32, OC: i32): void {
  const rowBytes = <usize>C << 2;
  let n = 0;
  for (; n + 2 <= N; n += 2) {
    const x0 = inp + <usize>n * rowBytes;
    const x1 = x0 + rowBytes;
    const o0 = out + (<usize>(n * OC) << 2);
    const o1 = o0 + (<usize>OC << 2);
    let oc = 0;
    for (; oc + 4 <= OC; oc += 4) {
      const w0 = w + <usize>oc * rowBytes;
      const w1 = w0 + rowBytes;
      const w2 = w1 + rowBytes;
      const w3 = w2 + rowBytes;
      let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a02 = f32x4.splat(0), a03 = f32x4.splat(0);
      let a10 = f32x4.splat(0), a11 = f32x4.splat(0), a12 = f32x4.splat(0), a13 = f32x4.splat(0);
      let c = 0;
      for (; c + 4 <= C; c += 4) {
        const at = <usize>c << 2;
        const xa = v128.load(x0 + at);
        const xb = v128.load(x1 + at);
        const v0 = v128.load(w0 + at);
        const v1 = v128.load(w1 + at);
        const v2 = v128.load(w2 + at);
        const v3 = v128.load(w3 + at);
        a00 = f32x4.add(a00, f32x4.mul(xa, v0));
        a01 = f32x4.add(a01, f32x4.mul(xa, v1));
        a02 = f32x4.add(a02, f32x4.mul(xa, v2));
        a03 = f32x4.add(a03, f32x4.mul(xa, v3));
        a10 = f32x4.add(a10, f32x4.mul(xb, v0));
        a11 = f32x4.add(a11, f32x4.mul(xb, v1));
        a12 = f32x4.add(a12, f32x4.mul(xb, v2));
        a13 = f32x4.add(a13, f32x4.mul(xb, v3));
      }
      setF(o0, oc, finishDot(a00, x0, w0, c, C, bias, oc));
      setF(o0, oc + 1, finishDot(a01, x0, w1, c, C, bias, oc + 1));
      setF(o0, oc + 2, finishDot(a02, x0, w2, c, C, bias, oc + 2));
      setF(o0, oc + 3, finishDot(a03, x0, w3, c, C, bias, oc + 3));
      setF(o1, oc, finishDot(a10, x1, w0, c, C, bias, oc));
      setF(o1, oc + 1, finishDot(a11, x1, w1, c, C, bias, oc + 1));
      setF(o1, oc + 2, finishDot(a12, x1, w2, c, C, bias, oc + 2));
      setF(o1, oc + 3, finishDot(a13, x1, w3, c, C, bias, oc + 3));
    }
    for (; oc < OC; oc++) {
      const wr = w + <usize>oc * rowBytes;
      setF(o0, oc, dot(x0, wr, C) + (bias ? f(bias, oc) : 0));
      setF(o1, oc, dot(x1, wr, C) + (bias ? f(bias, oc) : 0));
    }
  }
  for (; n < N; n++) {
    const x = inp + <usize>n * rowBytes;
    const o = out + (<usize>(n * OC) << 2);
    for (let oc = 0; oc < OC; oc++) setF(o, oc, dot(x, w + <usize>oc * rowBytes, C) + (bias ? f(bias, oc) : 0));
  }
}

/** A dot product's end, as dot() ends it: the lanes' sum, the tail of c from `c`, then the bias. */
@inline
function finishDot(acc: v128, x: usize, w: usize, c: i32, C: i32, bias: usize, oc: i32): f32 {
  let s = hsum(acc);
  for (; c < C; c++) s += f(x, c) * f(w, c);
  return s + (bias ? f(bias, oc) : 0);
}

/** Both gradients of matmulForward (dinp += dout @ w, dw += dout^T @ inp, dbias += column sums of dout). */
export function matmulBackward(dinp: usize, dw: usize, dbias: usize, dout: usize, inp: usize, w: usize, N: i32, C: i32, OC: i32): void {
  matmulBackwardInput(dinp, dout, w, N, C, OC);
  matmulBackwardWeights(dw, dbias, dout, inp, N, C, OC, 0, OC);
}

/**
 * A thread's share of matmulBackward: the rows nStart..nEnd of dinp, and the output channels
 * ocStart..ocEnd of dw and dbias (each thread writes its own, so no two threads touch a float).
 */
export function matmulBackwardShare(dinp: usize, dw: usize, dbias: usize, dout: usize, inp: usize, w: usize, N: i32, C: i32, OC: i32, nStart: i32, nEnd: i32, ocStart: i32, ocEnd: i32): void {
  if (nEnd > nStart) matmulBackwardInput(dinp + (<usize>(nStart * C) << 2), dout + (<usize>(nStart * OC) << 2), w, nEnd - nStart, C, OC);
  if (ocEnd > ocStart) matmulBackwardWeights(dw, dbias, dout, inp, N, C, OC, ocStart, ocEnd);
}

/**
 * dinp (N, C) += dout (N, OC) @ w (OC, C). Four rows by eight channels kept in registers while
 * the output channels pass; each element adds its terms in the order of oc, whatever the grouping.
 */
export function matmulBackwardInput(dinp: usize, dout: usize, w: usize, N: i32, C: i32, OC: i32): void {
  const rowBytes = <usize>C << 2;
  const doutRow = <usize>OC << 2;
  let n = 0;
  for (; n + 4 <= N; n += 4) {
    const d0 = dout + <usize>n * doutRow;
    const i0 = dinp + <usize>n * rowBytes;
    let c = 0;
    for (; c + 8 <= C; c += 8) {
      const at = <usize>c << 2;
      // dinp[n + r, c..c + 8) += sum over oc of dout[n + r, oc] w[oc, c..c + 8)
      outer4x8(i0 + at, rowBytes, d0, 4, doutRow, w + at, rowBytes, OC);
    }
    for (let r = 0; r < 4; r++) inputGradientTail(dinp + <usize>(n + r) * rowBytes, dout + <usize>(n + r) * doutRow, w, c, C, OC);
  }
  for (; n < N; n++) inputGradientTail(dinp + <usize>n * rowBytes, dout + <usize>n * doutRow, w, 0, C, OC);
}

/**
 * A block of four rows by eight floats, dst + r * dstStride (r < 4), plus the sum over k < count
 * of g_r(k) x(k): g_r(k) at g + k * gStep + r * gLane, x(k) eight floats at x + k * xStep. Both
 * matmul gradients are this rank-1 accumulation, over the output channels (the input's gradient)
 * or over the rows (the weights'); the block stays in registers and each element adds its terms
 * in the order of k.
 */
@inline
function outer4x8(dst: usize, dstStride: usize, g: usize, gStep: usize, gLane: usize, x: usize, xStep: usize, count: i32): void {
  const d1 = dst + dstStride;
  const d2 = d1 + dstStride;
  const d3 = d2 + dstStride;
  let a0 = v128.load(dst), b0 = v128.load(dst + 16);
  let a1 = v128.load(d1), b1 = v128.load(d1 + 16);
  let a2 = v128.load(d2), b2 = v128.load(d2 + 16);
  let a3 = v128.load(d3), b3 = v128.load(d3 + 16);
  for (let k = 0; k < count; k++) {
    const gk = g + <usize>k * gStep;
    const xk = x + <usize>k * xStep;
    const xa = v128.load(xk);
    const xb = v128.load(xk + 16);
    const g0 = v128.load32_splat(gk), g1 = v128.load32_splat(gk + gLane), g2 = v128.load32_splat(gk + 2 * gLane), g3 = v128.load32_splat(gk + 3 * gLane);
    a0 = f32x4.add(a0, f32x4.mul(g0, xa));
    b0 = f32x4.add(b0, f32x4.mul(g0, xb));
    a1 = f32x4.add(a1, f32x4.mul(g1, xa));
    b1 = f32x4.add(b1, f32x4.mul(g1, xb));
    a2 = f32x4.add(a2, f32x4.mul(g2, xa));
    b2 = f32x4.add(b2, f32x4.mul(g2, xb));
    a3 = f32x4.add(a3, f32x4.mul(g3, xa));
    b3 = f32x4.add(b3, f32x4.mul(g3, xb));
  }
  v128.store(dst, a0);
  v128.store(dst + 16, b0);
  v128.store(d1, a1);
  v128.store(d1 + 16, b1);
  v128.store(d2, a2);
  v128.store(d2 + 16, b2);
  v128.store(d3, a3);
  v128.store(d3 + 16, b3);
}

/** One row of dinp from channel c on, sum over oc of d[oc] w[oc, c..]: attention's weighted sum of rows, in the order of oc. */
@inline
function inputGradientTail(di: usize, d: usize, w: usize, c: i32, C: i32, OC: i32): void {
  weightedSum(di + (<usize>c << 2), d, w + (<usize>c << 2), C, OC, C - c);
}

/** Rows of inp a block of dw's accumulation reads before moving on (kept in the fastest caches). */
const WEIGHT_GRADIENT_ROWS = 64;

/**
 * dw[ocStart..ocEnd) (OC, C) += dout^T @ inp and dbias += dout's column sums, for the output
 * channels ocStart..ocEnd (a thread's share). Four channels by eight inputs kept in registers over
 * a block of rows; each element adds its terms in the order of n, whatever the grouping.
 */
export function matmulBackwardWeights(dw: usize, dbias: usize, dout: usize, inp: usize, N: i32, C: i32, OC: i32, ocStart: i32, ocEnd: i32): void {
  const rowBytes = <usize>C << 2;
  const doutRow = <usize>OC << 2;
  if (dbias) {
    for (let oc = ocStart; oc < ocEnd; oc++) {
      let db: f32 = 0;
      for (let n = 0; n < N; n++) db += f(dout, n * OC + oc);
      setF(dbias, oc, f(dbias, oc) + db);
    }
  }
  for (let n0 = 0; n0 < N; n0 += WEIGHT_GRADIENT_ROWS) {
    const n1 = min(N, n0 + WEIGHT_GRADIENT_ROWS);
    let oc = ocStart;
    for (; oc + 4 <= ocEnd; oc += 4) {
      const r0 = dw + <usize>oc * rowBytes;
      let c = 0;
      for (; c + 8 <= C; c += 8) {
        const at = <usize>c << 2;
        // dw[oc + r, c..c + 8) += sum over n of dout[n, oc + r] inp[n, c..c + 8)
        outer4x8(r0 + at, rowBytes, dout + <usize>n0 * doutRow + (<usize>oc << 2), doutRow, 4, inp + <usize>n0 * rowBytes + at, rowBytes, n1 - n0);
      }
      for (let r = 0; r < 4; r++) weightGradientTail(dw, dout, inp, oc + r, c, C, OC, n0, n1);
    }
    for (; oc < ocEnd; oc++) weightGradientTail(dw, dout, inp, oc, 0, C, OC, n0, n1);
  }
}

/** One row of dw from input channel c on, over rows n0..n1: each element its terms in the order of n. */
@inline
function weightGradientTail(dw: usize, dout: usize, inp: usize, oc: i32, c: i32, C: i32, OC: i32, n0: i32, n1: i32): void {
  const rowBytes = <usize>C << 2;
  const r = dw + <usize>oc * rowBytes;
  for (; c + 4 <= C; c += 4) {
    const at = <usize>c << 2;
    let a = v128.load(r + at);
    for (let n = n0; n < n1; n++) a = f32x4.add(a, f32x4.mul(f32x4.splat(f(dout, n * OC + oc)), v128.load(inp + <usize>n * rowBytes + at)));
    v128.store(r + at, a);
  }
  for (; c < C; c++) {
    let s = f(r, c);
    for (let n = n0; n < n1; n++) s += f(dout, n * OC + oc) * f(inp + <usize>n * rowBytes, c);
    setF(r, c, s);
  }
}

/**
 * out[u] = scale * (q . k_u) for u < n, k_u at keys + u * stride floats (hs floats each); four
 * keys at a time, their four sums gathered into one vector; returns the largest.
 */
@inline
function attentionScores(out: usize, q: usize, keys: usize, stride: i32, n: i32, hs: i32, scale: f32): f32 {
  const rowBytes = <usize>stride << 2;
  const sv = f32x4.splat(scale);
  let maxv = f32x4.splat(-Infinity);
  let u = 0;
  if ((hs & 3) == 0) {
    for (; u + 4 <= n; u += 4) {
      const k0 = keys + <usize>u * rowBytes;
      const k1 = k0 + rowBytes;
      const k2 = k1 + rowBytes;
      const k3 = k2 + rowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let d = 0; d < hs; d += 4) {
        const at = <usize>d << 2;
        const qv = v128.load(q + at);
        a0 = f32x4.add(a0, f32x4.mul(qv, v128.load(k0 + at)));
        a1 = f32x4.add(a1, f32x4.mul(qv, v128.load(k1 + at)));
        a2 = f32x4.add(a2, f32x4.mul(qv, v128.load(k2 + at)));
        a3 = f32x4.add(a3, f32x4.mul(qv, v128.load(k3 + at)));
      }
      // [sum a0, sum a1, sum a2, sum a3] by two rounds of pairwise adds
      const lo = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
      const hi = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
      const sums = f32x4.mul(f32x4.add(v128.shuffle<f32>(lo, hi, 0, 1, 4, 5), v128.shuffle<f32>(lo, hi, 2, 3, 6, 7)), sv);
      v128.store(out + (<usize>u << 2), sums);
      maxv = f32x4.max(maxv, sums);
    }
  }
  let max = Mathf.max(Mathf.max(f32x4.extract_lane(maxv, 0), f32x4.extract_lane(maxv, 1)), Mathf.max(f32x4.extract_lane(maxv, 2), f32x4.extract_lane(maxv, 3)));
  for (; u < n; u++) {
    const s = dot(q, keys + <usize>u * rowBytes, hs) * scale;
    setF(out, u, s);
    max = Mathf.max(max, s);
  }
  return max;
}

/**
 * out[d] += sum over u < n of w[u] * rows[u * stride + d], d < hs: four of out's floats held in
 * registers while u passes; each element adds its terms in the order of u (as axpy over u would).
 */
@inline
function weightedSum(out: usize, w: usize, rows: usize, stride: i32, n: i32, hs: i32): void {
  const rowBytes = <usize>stride << 2;
  let d = 0;
  // sixteen floats (a cache line of each row) a pass over the rows
  for (; d + 16 <= hs; d += 16) {
    const at = <usize>d << 2;
    let a0 = v128.load(out + at), a1 = v128.load(out + at + 16), a2 = v128.load(out + at + 32), a3 = v128.load(out + at + 48);
    for (let u = 0; u < n; u++) {
      const wv = f32x4.splat(f(w, u));
      const r = rows + <usize>u * rowBytes + at;
      a0 = f32x4.add(a0, f32x4.mul(wv, v128.load(r)));
      a1 = f32x4.add(a1, f32x4.mul(wv, v128.load(r + 16)));
      a2 = f32x4.add(a2, f32x4.mul(wv, v128.load(r + 32)));
      a3 = f32x4.add(a3, f32x4.mul(wv, v128.load(r + 48)));
    }
    v128.store(out + at, a0);
    v128.store(out + at + 16, a1);
    v128.store(out + at + 32, a2);
    v128.store(out + at + 48, a3);
  }
  for (; d + 4 <= hs; d += 4) {
    const at = <usize>d << 2;
    let acc = v128.load(out + at);
    for (let u = 0; u < n; u++) acc = f32x4.add(acc, f32x4.mul(f32x4.splat(f(w, u)), v128.load(rows + <usize>u * rowBytes + at)));
    v128.store(out + at, acc);
  }
  for (; d < hs; d++) {
    let acc = f(out, d);
    for (let u = 0; u < n; u++) acc += f(w, u) * f(rows + <usize>u * rowBytes, d);
    setF(out, d, acc);
  }
}

/** x[i] = e^(x[i] - max) for i < n, in four lanes (expv); returns their sum. */
@inline
function exponentiate(x: usize, n: i32, max: f32): f32 {
  const m = f32x4.splat(max);
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    const e = expv(f32x4.sub(v128.load(x + at), m));
    v128.store(x + at, e);
    acc = f32x4.add(acc, e);
  }
  let sum = hsum(acc);
  const rest = n - i;
  if (rest > 0) {
    const at = <usize>i << 2;
    const e = expv(f32x4.sub(loadTail(x + at, rest), m));
    storeTail(x + at, e, rest);
    sum += f32x4.extract_lane(e, 0) + (rest > 1 ? f32x4.extract_lane(e, 1) : 0) + (rest > 2 ? f32x4.extract_lane(e, 2) : 0);
  }
  return sum;
}

/** x[i] *= a for i < n. */
@inline
function scaleInPlace(x: usize, n: i32, a: f32): void {
  const av = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(x + (<usize>i << 2), f32x4.mul(v128.load(x + (<usize>i << 2)), av));
  for (; i < n; i++) setF(x, i, f(x, i) * a);
}

/** Causal multi-head attention; qkv (B, T, 3C), out (B, T, C), att (B, NH, T, T). */
export function attentionForward(out: usize, att: usize, qkv: usize, B: i32, T: i32, C: i32, NH: i32): void {
  attentionForwardHeads(out, att, qkv, B, T, C, NH, 0, B * NH);
}

/**
 * attentionForward for the (sequence, head) pairs bhStart..bhEnd (b * NH + h): a thread's share.
 * Each pair writes its own rows of att and its own columns of out.
 */
export function attentionForwardHeads(out: usize, att: usize, qkv: usize, B: i32, T: i32, C: i32, NH: i32, bhStart: i32, bhEnd: i32): void {
  const hs = C / NH;
  const scale: f32 = 1 / Mathf.sqrt(<f32>hs);
  for (let bh = bhStart; bh < bhEnd; bh++) {
    const b = bh / NH, h = bh % NH;
    {
      for (let t = 0; t < T; t++) {
        const q = qkv + (<usize>((b * T + t) * 3 * C + h * hs) << 2);
        const row = att + (<usize>(((b * NH + h) * T + t) * T) << 2);
        const max = attentionScores(row, q, qkv + (<usize>(b * T * 3 * C + C + h * hs) << 2), 3 * C, t + 1, hs, scale);
        const inv: f32 = 1 / exponentiate(row, t + 1, max);
        scaleInPlace(row, t + 1, inv);
        memory.fill(row + (<usize>(t + 1) << 2), 0, <usize>(T - t - 1) << 2);
        const o = out + (<usize>((b * T + t) * C + h * hs) << 2);
        memory.fill(o, 0, <usize>hs << 2);
        weightedSum(o, row, qkv + (<usize>(b * T * 3 * C + 2 * C + h * hs) << 2), 3 * C, t + 1, hs);
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
      const max = attentionScores(scores, q, keys + (<usize>(b * T * C + h * hs) << 2), C, t + 1, hs, scale);
      const inv: f32 = 1 / exponentiate(scores, t + 1, max);
      const o = out + (<usize>(b * C + h * hs) << 2);
      memory.fill(o, 0, <usize>hs << 2);
      for (let u = 0; u <= t; u++) axpy(o, f(scores, u) * inv, values + (<usize>((b * T + u) * C + h * hs) << 2), hs);
    }
  }
}

/** scratch: T floats. */
export function attentionBackward(dqkv: usize, dout: usize, qkv: usize, att: usize, B: i32, T: i32, C: i32, NH: i32, scratch: usize): void {
  attentionBackwardHeads(dqkv, dout, qkv, att, B, T, C, NH, scratch, 0, B * NH);
}

/** attentionBackward for the pairs bhStart..bhEnd; each writes only its head's columns of dqkv. scratch: T floats. */
export function attentionBackwardHeads(dqkv: usize, dout: usize, qkv: usize, att: usize, B: i32, T: i32, C: i32, NH: i32, scratch: usize, bhStart: i32, bhEnd: i32): void {
  const hs = C / NH;
  const scale: f32 = 1 / Mathf.sqrt(<f32>hs);
  for (let bh = bhStart; bh < bhEnd; bh++) {
    const b = bh / NH, h = bh % NH;
    {
      for (let t = 0; t < T; t++) {
        const row = att + (<usize>(((b * NH + h) * T + t) * T) << 2);
        const dy = dout + (<usize>((b * T + t) * C + h * hs) << 2);
        // scratch[u] = dy . v_u (the scores' form, scale 1); dv_u += p_u dy
        attentionScores(scratch, dy, qkv + (<usize>(b * T * 3 * C + 2 * C + h * hs) << 2), 3 * C, t + 1, hs, 1);
        for (let u = 0; u <= t; u++) axpy(dqkv + (<usize>((b * T + u) * 3 * C + 2 * C + h * hs) << 2), f(row, u), dy, hs);
        let weighted: f32 = 0;
        for (let u = 0; u <= t; u++) weighted += f(row, u) * f(scratch, u);
        const q = (b * T + t) * 3 * C + h * hs;
        for (let u = 0; u <= t; u++) {
          const dpre = f(row, u) * (f(scratch, u) - weighted) * scale;
          setF(scratch, u, dpre);
          axpy(dqkv + (<usize>((b * T + u) * 3 * C + C + h * hs) << 2), dpre, qkv + (<usize>q << 2), hs);
        }
        // dq_t += sum_u dpre_u k_u, held in registers over u
        weightedSum(dqkv + (<usize>q << 2), scratch, qkv + (<usize>(b * T * 3 * C + C + h * hs) << 2), 3 * C, t + 1, hs);
      }
    }
  }
}

const GELU_SCALE: f32 = 0.7978845608028654; // sqrt(2 / pi)

/**
 * e^x in four lanes (Cephes' expf: x = n ln2 + r with ln2 in two parts, a degree-6 polynomial in
 * r, times 2^n through the exponent bits); relative error about 1e-7, x clamped to +-88.
 */
@inline
function expv(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-88)), f32x4.splat(88));
  const n = f32x4.floor(f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(0.5)));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375))), f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

/** tanh in four lanes: sign(u) (1 - 2 / (e^(2|u|) + 1)), absolute error about 2e-7. */
@inline
function tanhv(u: v128): v128 {
  const e = expv(f32x4.mul(f32x4.abs(u), f32x4.splat(2)));
  const t = f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(e, f32x4.splat(1))));
  return v128.bitselect(f32x4.neg(t), t, f32x4.lt(u, f32x4.splat(0)));
}

/** GELU (tanh form) of four values. */
@inline
function geluv(x: v128): v128 {
  const x3 = f32x4.mul(f32x4.mul(x, x), x);
  const th = tanhv(f32x4.mul(f32x4.splat(GELU_SCALE), f32x4.add(x, f32x4.mul(f32x4.splat(0.044715), x3))));
  return f32x4.mul(f32x4.mul(f32x4.splat(0.5), x), f32x4.add(f32x4.splat(1), th));
}

/** GELU's derivative times dout, of four values. */
@inline
function geluGradientv(x: v128, d: v128): v128 {
  const xx = f32x4.mul(x, x);
  const th = tanhv(f32x4.mul(f32x4.splat(GELU_SCALE), f32x4.add(x, f32x4.mul(f32x4.splat(0.044715), f32x4.mul(xx, x)))));
  const du = f32x4.mul(f32x4.splat(GELU_SCALE), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(3 * 0.044715), xx)));
  const half = f32x4.splat(0.5);
  const slope = f32x4.add(f32x4.mul(half, f32x4.add(f32x4.splat(1), th)), f32x4.mul(f32x4.mul(f32x4.mul(half, x), f32x4.sub(f32x4.splat(1), f32x4.mul(th, th))), du));
  return f32x4.mul(d, slope);
}

/** The last n % 4 floats at p as a vector (zeros past them), and back: the tail takes the vector path, so every element gets the same arithmetic wherever a share ends. */
@inline
function loadTail(p: usize, count: i32): v128 {
  let v = f32x4.splat(0);
  if (count > 0) v = f32x4.replace_lane(v, 0, f(p, 0));
  if (count > 1) v = f32x4.replace_lane(v, 1, f(p, 1));
  if (count > 2) v = f32x4.replace_lane(v, 2, f(p, 2));
  return v;
}
@inline
function storeTail(p: usize, v: v128, count: i32): void {
  if (count > 0) setF(p, 0, f32x4.extract_lane(v, 0));
  if (count > 1) setF(p, 1, f32x4.extract_lane(v, 1));
  if (count > 2) setF(p, 2, f32x4.extract_lane(v, 2));
}

export function geluForward(out: usize, inp: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), geluv(v128.load(inp + (<usize>i << 2))));
  const at = <usize>i << 2;
  storeTail(out + at, geluv(loadTail(inp + at, n - i)), n - i);
}

export function geluBackward(dinp: usize, inp: usize, dout: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    v128.store(dinp + at, f32x4.add(v128.load(dinp + at), geluGradientv(v128.load(inp + at), v128.load(dout + at))));
  }
  const at = <usize>i << 2;
  const rest = n - i;
  storeTail(dinp + at, f32x4.add(loadTail(dinp + at, rest), geluGradientv(loadTail(inp + at, rest), loadTail(dout + at, rest))), rest);
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
