// The layers of a GPT on the CPU with 128-bit SIMD: the same functions, argument orders and
// shapes as src/kernels/gpt/ref.ts (the oracle, which the tests hold these to). Backward
// functions accumulate (+=) into their gradients. All pointers are byte offsets of float32
// arrays (int32 for tokens) in this module's memory, laid out by src/backends/wasm/model.ts;
// encoderForward/Backward take wpe 0 for a network without positions.

import { f, setF } from './memory';
import { madd } from './simd';

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
    v128.store(y + at, madd(av, v128.load(x + at), v128.load(y + at)));
  }
  for (; i < n; i++) setF(y, i, f(y, i) + a * f(x, i));
}

/** sum of x[i] * y[i], i < n. */
@inline
function dot(x: usize, y: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = madd(v128.load(x + (<usize>i << 2)), v128.load(y + (<usize>i << 2)), acc);
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
  layernormBackwardShare(dinp, dw, db, dout, inp, w, mean, rstd, N, C, 0, N, 0, C);
}

/**
 * A thread's share of layernormBackward: the rows nStart..nEnd of dinp, and the channels
 * cStart..cEnd of dw and db (their sums over every row, in the order of the rows), so that no two
 * threads touch a float and each gets the bits of one thread's pass.
 */
export function layernormBackwardShare(dinp: usize, dw: usize, db: usize, dout: usize, inp: usize, w: usize, mean: usize, rstd: usize, N: i32, C: i32, nStart: i32, nEnd: i32, cStart: i32, cEnd: i32): void {
  for (let n = nStart; n < nEnd; n++) {
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
      setF(di, c, f(di, c) + s * (dnorm - dnormMean - norm * dnormNormMean));
    }
  }
  // dw and db a block of 16 channels at a time, summed over the rows in registers and stored once:
  // adding into memory row by row made two threads whose channels share a cache line pass it back
  // and forth N times (16 threads on the paper's model: 59 ms a step against 8 at 8 threads).
  let c0 = cStart;
  for (; c0 + 16 <= cEnd; c0 += 16) {
    const at = <usize>c0 << 2;
    let w0 = v128.load(dw + at), w1 = v128.load(dw + at + 16), w2 = v128.load(dw + at + 32), w3 = v128.load(dw + at + 48);
    let b0 = v128.load(db + at), b1 = v128.load(db + at + 16), b2 = v128.load(db + at + 32), b3 = v128.load(db + at + 48);
    for (let n = 0; n < N; n++) {
      const x = inp + (<usize>(n * C) << 2) + at;
      const d = dout + (<usize>(n * C) << 2) + at;
      const m = f32x4.splat(f(mean, n));
      const s = f32x4.splat(f(rstd, n));
      const d0 = v128.load(d), d1 = v128.load(d + 16), d2 = v128.load(d + 32), d3 = v128.load(d + 48);
      b0 = f32x4.add(b0, d0);
      b1 = f32x4.add(b1, d1);
      b2 = f32x4.add(b2, d2);
      b3 = f32x4.add(b3, d3);
      // (x - m) * s * d, rounded as the scalar tail below rounds it
      w0 = f32x4.add(w0, f32x4.mul(f32x4.mul(f32x4.sub(v128.load(x), m), s), d0));
      w1 = f32x4.add(w1, f32x4.mul(f32x4.mul(f32x4.sub(v128.load(x + 16), m), s), d1));
      w2 = f32x4.add(w2, f32x4.mul(f32x4.mul(f32x4.sub(v128.load(x + 32), m), s), d2));
      w3 = f32x4.add(w3, f32x4.mul(f32x4.mul(f32x4.sub(v128.load(x + 48), m), s), d3));
    }
    v128.store(dw + at, w0);
    v128.store(dw + at + 16, w1);
    v128.store(dw + at + 32, w2);
    v128.store(dw + at + 48, w3);
    v128.store(db + at, b0);
    v128.store(db + at + 16, b1);
    v128.store(db + at + 32, b2);
    v128.store(db + at + 48, b3);
  }
  for (let c = c0; c < cEnd; c++) {
    let sw = f(dw, c);
    let sb = f(db, c);
    for (let n = 0; n < N; n++) {
      const at = <usize>(n * C + c) << 2;
      const d = load<f32>(dout + at);
      sb += d;
      sw += (load<f32>(inp + at) - f(mean, n)) * f(rstd, n) * d;
    }
    setF(dw, c, sw);
    setF(db, c, sb);
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
        a00 = madd(xa, v0, a00);
        a01 = madd(xa, v1, a01);
        a02 = madd(xa, v2, a02);
        a03 = madd(xa, v3, a03);
        a10 = madd(xb, v0, a10);
        a11 = madd(xb, v1, a11);
        a12 = madd(xb, v2, a12);
        a13 = madd(xb, v3, a13);
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

/**
 * Output channels a packed panel of the matmul gradients holds (a thread's scratch: see
 * matmulScratchFloats). Strided reads of a power-of-two stride (C or OC floats) fall into a few
 * sets of the L1 cache and evict each other; the gradients copy what the inner loop reads into
 * contiguous panels first, each copy read many times.
 */
const PANEL_CHANNELS = 512;
/** Rows of inp and dout a block of dw's accumulation reads before moving on (kept in the fastest caches). */
const WEIGHT_GRADIENT_ROWS = 64;

/** Floats of scratch a thread's matmulBackward needs (the weights' gradient's panels and its last channels' block). */
export function matmulScratchFloats(): i32 {
  return WEIGHT_GRADIENT_ROWS * PANEL_CHANNELS + WEIGHT_GRADIENT_ROWS * 8 + WEIGHT_GRADIENT_ROWS * 4 + 32;
}

/**
 * Both gradients of matmulForward (dinp += dout @ w, dw += dout^T @ inp, dbias += column sums of
 * dout); scratch: matmulScratchFloats(). freshInput: dinp = dout @ w instead, dinp not read (the
 * same bits as adding into zeros: each sum starts from zero).
 */
export function matmulBackward(dinp: usize, dw: usize, dbias: usize, dout: usize, inp: usize, w: usize, N: i32, C: i32, OC: i32, scratch: usize, freshInput: bool): void {
  matmulBackwardInput(dinp, dout, w, N, C, OC, scratch, freshInput);
  matmulBackwardWeights(dw, dbias, dout, inp, N, C, OC, 0, OC, 0, C, scratch);
}

/**
 * A thread's share of matmulBackward: the rows nStart..nEnd of dinp, and the block of dw
 * ocStart..ocEnd by cStart..cEnd (with dbias's ocStart..ocEnd where cStart is 0), with the
 * thread's scratch. Each thread writes its own floats.
 */
export function matmulBackwardShare(dinp: usize, dw: usize, dbias: usize, dout: usize, inp: usize, w: usize, N: i32, C: i32, OC: i32, nStart: i32, nEnd: i32, ocStart: i32, ocEnd: i32, cStart: i32, cEnd: i32, scratch: usize, freshInput: bool): void {
  if (nEnd > nStart) matmulBackwardInput(dinp + (<usize>(nStart * C) << 2), dout + (<usize>(nStart * OC) << 2), w, nEnd - nStart, C, OC, scratch, freshInput);
  if (ocEnd > ocStart && cEnd > cStart) matmulBackwardWeights(dw, cStart == 0 ? dbias : 0, dout, inp, N, C, OC, ocStart, ocEnd, cStart, cEnd, scratch);
}

/**
 * dinp (N, C) += dout (N, OC) @ w (OC, C). For each eight input channels and up to
 * PANEL_CHANNELS output channels, w's columns are packed into a contiguous panel; then four rows
 * by eight channels of dinp stay in registers while the panel's channels pass. Each element adds
 * its terms in the order of oc, whatever the grouping. fresh: dinp = dout @ w, its sums started
 * from zero rather than from what dinp holds.
 */
export function matmulBackwardInput(dinp: usize, dout: usize, w: usize, N: i32, C: i32, OC: i32, scratch: usize, fresh: bool): void {
  const rowBytes = <usize>C << 2;
  const doutRow = <usize>OC << 2;
  const fullRows = N & ~3;
  let c = 0;
  for (; c + 8 <= C; c += 8) {
    const at = <usize>c << 2;
    for (let oc0 = 0; oc0 < OC; oc0 += PANEL_CHANNELS) {
      const count = min(PANEL_CHANNELS, OC - oc0);
      // panel[k] = w[oc0 + k, c..c + 8)
      for (let k = 0; k < count; k++) {
        const from = w + <usize>(oc0 + k) * rowBytes + at;
        const to = scratch + (<usize>k << 5);
        v128.store(to, v128.load(from));
        v128.store(to + 16, v128.load(from + 16));
      }
      for (let n = 0; n < fullRows; n += 4) {
        // dinp[n + r, c..c + 8) += sum over oc of dout[n + r, oc] w[oc, c..c + 8)
        outer4x8(dinp + <usize>n * rowBytes + at, rowBytes, dout + <usize>n * doutRow + (<usize>oc0 << 2), 4, doutRow, scratch, 32, count, fresh && oc0 == 0);
      }
    }
  }
  // the last C % 8 channels and N % 4 rows add into dinp: fresh, into zeros
  if (fresh && c < C) for (let n = 0; n < fullRows; n++) memory.fill(dinp + <usize>n * rowBytes + (<usize>c << 2), 0, <usize>(C - c) << 2);
  if (fresh && fullRows < N) memory.fill(dinp + <usize>fullRows * rowBytes, 0, <usize>(N - fullRows) * rowBytes);
  for (let n = 0; n < fullRows; n++) inputGradientTail(dinp + <usize>n * rowBytes, dout + <usize>n * doutRow, w, c, C, OC);
  for (let n = fullRows; n < N; n++) inputGradientTail(dinp + <usize>n * rowBytes, dout + <usize>n * doutRow, w, 0, C, OC);
}

/**
 * A block of four rows by eight floats, dst + r * dstStride (r < 4), plus the sum over k < count
 * of g_r(k) x(k): g_r(k) at g + k * gStep + r * gLane, x(k) eight floats at x + k * xStep (fresh:
 * the sum alone, dst not read). Both matmul gradients and every product of attention are this
 * rank-1 accumulation; the block stays in registers and each element adds its terms in the order
 * of k.
 */
@inline
function outer4x8(dst: usize, dstStride: usize, g: usize, gStep: usize, gLane: usize, x: usize, xStep: usize, count: i32, fresh: bool = false): void {
  const d1 = dst + dstStride;
  const d2 = d1 + dstStride;
  const d3 = d2 + dstStride;
  const zero = f32x4.splat(0);
  let a0 = fresh ? zero : v128.load(dst), b0 = fresh ? zero : v128.load(dst + 16);
  let a1 = fresh ? zero : v128.load(d1), b1 = fresh ? zero : v128.load(d1 + 16);
  let a2 = fresh ? zero : v128.load(d2), b2 = fresh ? zero : v128.load(d2 + 16);
  let a3 = fresh ? zero : v128.load(d3), b3 = fresh ? zero : v128.load(d3 + 16);
  // running pointers: no multiply in the loop's addressing
  const lane2 = gLane << 1, lane3 = lane2 + gLane;
  let gk = g, xk = x;
  for (let k = 0; k < count; k++) {
    const xa = v128.load(xk);
    const xb = v128.load(xk + 16);
    const g0 = v128.load32_splat(gk), g1 = v128.load32_splat(gk + gLane), g2 = v128.load32_splat(gk + lane2), g3 = v128.load32_splat(gk + lane3);
    a0 = madd(g0, xa, a0);
    b0 = madd(g0, xb, b0);
    a1 = madd(g1, xa, a1);
    b1 = madd(g1, xb, b1);
    a2 = madd(g2, xa, a2);
    b2 = madd(g2, xb, b2);
    a3 = madd(g3, xa, a3);
    b3 = madd(g3, xb, b3);
    gk += gStep;
    xk += xStep;
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

/**
 * dw (OC, C) += dout^T @ inp over the block of output channels ocStart..ocEnd by input channels
 * cStart..cEnd (a thread's share; ocStart a multiple of 4, cStart of 8), and dbias[ocStart..ocEnd)
 * += dout's column sums (dbias 0: not). For each block of rows and up to PANEL_CHANNELS channels,
 * dout's columns are packed by four channels, and for each eight input channels inp's block of
 * rows too; four channels by eight inputs stay in registers over the block's rows. Each element
 * adds its terms in the order of n, whatever the grouping. A packed block serves the block's
 * channels a group of four at a time: a share of few output channels by every input channel packs
 * all of inp for few uses, so shares are cut by both.
 */
export function matmulBackwardWeights(dw: usize, dbias: usize, dout: usize, inp: usize, N: i32, C: i32, OC: i32, ocStart: i32, ocEnd: i32, cStart: i32, cEnd: i32, scratch: usize): void {
  const rowBytes = <usize>C << 2;
  const doutRow = <usize>OC << 2;
  if (dbias) columnSums(dbias, dout, N, OC, ocStart, ocEnd, scratch);
  const wholeEnd = ocStart + ((ocEnd - ocStart) & ~3);
  const inputs = scratch + (<usize>(WEIGHT_GRADIENT_ROWS * PANEL_CHANNELS) << 2);
  for (let n0 = 0; n0 < N; n0 += WEIGHT_GRADIENT_ROWS) {
    const rows = min(WEIGHT_GRADIENT_ROWS, N - n0);
    for (let oc0 = ocStart; oc0 < wholeEnd; oc0 += PANEL_CHANNELS) {
      const channels = min(PANEL_CHANNELS, wholeEnd - oc0);
      // the panel of channels oc0 + 4j..: [j][k][r] = dout[n0 + k, oc0 + 4j + r]
      for (let k = 0; k < rows; k++) {
        const from = dout + <usize>(n0 + k) * doutRow + (<usize>oc0 << 2);
        for (let j = 0; j < channels >> 2; j++) v128.store(scratch + (<usize>(j * rows + k) << 4), v128.load(from + (<usize>j << 4)));
      }
      let c = cStart;
      for (; c + 8 <= cEnd; c += 8) {
        const at = <usize>c << 2;
        packInputs(inputs, inp, rowBytes, n0, rows, at);
        // dw[oc + r, c..c + 8) += sum over n of dout[n, oc + r] inp[n, c..c + 8)
        for (let j = 0; j < channels >> 2; j++) outer4x8(dw + <usize>(oc0 + 4 * j) * rowBytes + at, rowBytes, scratch + (<usize>(j * rows) << 4), 16, 4, inputs, 32, rows);
      }
      for (let oc = oc0; oc < oc0 + channels; oc++) weightGradientTail(dw, dout, inp, oc, c, cEnd, C, OC, n0, n0 + rows);
    }
    if (wholeEnd < ocEnd) lastChannelsGradient(dw, dout, inp, C, OC, wholeEnd, ocEnd, cStart, cEnd, n0, rows, inputs);
  }
}

/** inputs[k] = inp[n0 + k, c..c + 8) for k < rows, eight floats a row (at: c's byte offset). */
@inline
function packInputs(inputs: usize, inp: usize, rowBytes: usize, n0: i32, rows: i32, at: usize): void {
  for (let k = 0; k < rows; k++) {
    const from = inp + <usize>(n0 + k) * rowBytes + at;
    v128.store(inputs + (<usize>k << 5), v128.load(from));
    v128.store(inputs + (<usize>k << 5) + 16, v128.load(from + 16));
  }
}

/**
 * dw's last one to three channels (wholeEnd..ocEnd) over rows n0..n0 + rows: as a group of four
 * padded with zero channels, through a 4 x 8 block of scratch that holds those rows of dw. Read
 * down their columns one at a time instead, inp's rows (a power-of-two stride) fell into a few
 * sets of the L1 cache: a share of the three last channels of the paper model's head (27 of them)
 * took 11 ms where one of four whole channels took 2. Each element's terms in the order of n.
 */
function lastChannelsGradient(dw: usize, dout: usize, inp: usize, C: i32, OC: i32, wholeEnd: i32, ocEnd: i32, cStart: i32, cEnd: i32, n0: i32, rows: i32, inputs: usize): void {
  const rowBytes = <usize>C << 2;
  const count = ocEnd - wholeEnd;
  const panel = inputs + (<usize>(WEIGHT_GRADIENT_ROWS * 8) << 2); // [k][r] = dout[n0 + k, wholeEnd + r], zero for r >= count
  const block = panel + (<usize>(WEIGHT_GRADIENT_ROWS * 4) << 2); // [r][0..8) = dw[wholeEnd + r, c..c + 8), zero for r >= count
  for (let k = 0; k < rows; k++) {
    for (let r = 0; r < 4; r++) setF(panel, k * 4 + r, r < count ? f(dout, (n0 + k) * OC + wholeEnd + r) : 0);
  }
  memory.fill(block, 0, 32 << 2);
  let c = cStart;
  for (; c + 8 <= cEnd; c += 8) {
    const at = <usize>c << 2;
    packInputs(inputs, inp, rowBytes, n0, rows, at);
    for (let r = 0; r < count; r++) {
      const row = dw + <usize>(wholeEnd + r) * rowBytes + at;
      v128.store(block + (<usize>r << 5), v128.load(row));
      v128.store(block + (<usize>r << 5) + 16, v128.load(row + 16));
    }
    outer4x8(block, 32, panel, 16, 4, inputs, 32, rows);
    for (let r = 0; r < count; r++) {
      const row = dw + <usize>(wholeEnd + r) * rowBytes + at;
      v128.store(row, v128.load(block + (<usize>r << 5)));
      v128.store(row + 16, v128.load(block + (<usize>r << 5) + 16));
    }
  }
  for (let oc = wholeEnd; oc < ocEnd; oc++) weightGradientTail(dw, dout, inp, oc, c, cEnd, C, OC, n0, n0 + rows);
}

/** dbias[ocStart..ocEnd) += the sums over n of dout[n, oc], each summed from zero in the order of n, up to PANEL_CHANNELS at a time in scratch. */
function columnSums(dbias: usize, dout: usize, N: i32, OC: i32, ocStart: i32, ocEnd: i32, scratch: usize): void {
  const doutRow = <usize>OC << 2;
  for (let oc0 = ocStart; oc0 < ocEnd; oc0 += PANEL_CHANNELS) {
    const count = min(PANEL_CHANNELS, ocEnd - oc0);
    const whole = count & ~3;
    memory.fill(scratch, 0, <usize>count << 2);
    for (let n = 0; n < N; n++) {
      const row = dout + <usize>n * doutRow + (<usize>oc0 << 2);
      let i = 0;
      for (; i < whole; i += 4) v128.store(scratch + (<usize>i << 2), f32x4.add(v128.load(scratch + (<usize>i << 2)), v128.load(row + (<usize>i << 2))));
      for (; i < count; i++) setF(scratch, i, f(scratch, i) + f(row, i));
    }
    for (let i = 0; i < count; i++) setF(dbias, oc0 + i, f(dbias, oc0 + i) + f(scratch, i));
  }
}

/** One row of dw over input channels c..cEnd and rows n0..n1: each element its terms in the order of n. */
@inline
function weightGradientTail(dw: usize, dout: usize, inp: usize, oc: i32, c: i32, cEnd: i32, C: i32, OC: i32, n0: i32, n1: i32): void {
  const rowBytes = <usize>C << 2;
  const r = dw + <usize>oc * rowBytes;
  for (; c + 4 <= cEnd; c += 4) {
    const at = <usize>c << 2;
    let a = v128.load(r + at);
    for (let n = n0; n < n1; n++) a = madd(f32x4.splat(f(dout, n * OC + oc)), v128.load(inp + <usize>n * rowBytes + at), a);
    v128.store(r + at, a);
  }
  for (; c < cEnd; c++) {
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
        a0 = madd(qv, v128.load(k0 + at), a0);
        a1 = madd(qv, v128.load(k1 + at), a1);
        a2 = madd(qv, v128.load(k2 + at), a2);
        a3 = madd(qv, v128.load(k3 + at), a3);
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
      a0 = madd(wv, v128.load(r), a0);
      a1 = madd(wv, v128.load(r + 16), a1);
      a2 = madd(wv, v128.load(r + 32), a2);
      a3 = madd(wv, v128.load(r + 48), a3);
    }
    v128.store(out + at, a0);
    v128.store(out + at + 16, a1);
    v128.store(out + at + 32, a2);
    v128.store(out + at + 48, a3);
  }
  for (; d + 4 <= hs; d += 4) {
    const at = <usize>d << 2;
    let acc = v128.load(out + at);
    for (let u = 0; u < n; u++) acc = madd(f32x4.splat(f(w, u)), v128.load(rows + <usize>u * rowBytes + at), acc);
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

/** T rounded up to whole blocks of eight: the columns of a head's keys or values transposed, and of a block of score rows. */
@inline
function paddedLength(T: i32): i32 {
  return (T + 7) & ~7;
}

/** Floats of attention's scratch a thread: a head's keys (or values) transposed, and a block of four score rows. */
export function attentionScratchFloats(T: i32, C: i32, NH: i32): i32 {
  return (C / NH + 4) * paddedLength(T);
}

/**
 * dst[r][c] += sum over k < count of g(k, r) x(k, c), for r < rows (at most 4) and c < cols:
 * g(k, r) at g + k gStep + r gLane, x(k, c) at x + k xStep + 4c, dst[r][c] at dst + r dstStride +
 * 4c (strides in bytes); fresh: dst = the sum, its old values not read. Every product of
 * attention is one of these. Four rows by eight columns stay in registers over k (outer4x8); the
 * rest a row at a time, four columns, then one. Each element adds its terms in the order of k,
 * whatever the blocking.
 */
function accumulateRows(dst: usize, dstStride: usize, g: usize, gStep: usize, gLane: usize, x: usize, xStep: usize, rows: i32, cols: i32, count: i32, fresh: bool): void {
  let c = 0;
  if (rows == 4) for (; c + 8 <= cols; c += 8) outer4x8(dst + (<usize>c << 2), dstStride, g, gStep, gLane, x + (<usize>c << 2), xStep, count, fresh);
  for (let r = 0; r < rows; r++) {
    const d = dst + <usize>r * dstStride;
    const gr = g + <usize>r * gLane;
    let cc = c;
    for (; cc + 4 <= cols; cc += 4) {
      const at = <usize>cc << 2;
      let acc = fresh ? f32x4.splat(0) : v128.load(d + at);
      for (let k = 0; k < count; k++) acc = madd(v128.load32_splat(gr + <usize>k * gStep), v128.load(x + <usize>k * xStep + at), acc);
      v128.store(d + at, acc);
    }
    for (; cc < cols; cc++) {
      const at = <usize>cc << 2;
      let s: f32 = fresh ? 0 : load<f32>(d + at);
      for (let k = 0; k < count; k++) s += load<f32>(gr + <usize>k * gStep) * load<f32>(x + <usize>k * xStep + at);
      store<f32>(d + at, s);
    }
  }
}

/**
 * dst (hs, paddedLength(T)) = the rows src + u stride (u < count <= T, hs floats each)
 * transposed; columns count..paddedLength(count) zero (a block of eight's padding).
 */
function transposeHead(dst: usize, src: usize, stride: i32, T: i32, count: i32, hs: i32): void {
  const padded = paddedLength(T);
  for (let d = 0; d < hs; d++) {
    const row = dst + (<usize>(d * padded) << 2);
    for (let u = 0; u < count; u++) setF(row, u, f(src + (<usize>(u * stride) << 2), d));
    memory.fill(row + (<usize>count << 2), 0, <usize>(paddedLength(count) - count) << 2);
  }
}

/**
 * Causal multi-head attention; qkv (B, T, 3C), out (B, T, C), att (B, NH, T, T): the
 * probabilities, zero above the diagonal. scratch: attentionScratchFloats(T, C, NH).
 */
export function attentionForward(out: usize, att: usize, qkv: usize, B: i32, T: i32, C: i32, NH: i32, scratch: usize): void {
  attentionForwardHeads(out, att, qkv, B, T, C, NH, scratch, 0, B * NH, 0, T);
}

/**
 * attentionForward for the (sequence, head) pairs bhStart..bhEnd (b * NH + h), each at the query
 * positions tStart..tEnd (tStart a multiple of 4; tEnd too, or T): a thread's share, with its own
 * scratch. Each query writes its own row of att and of its head's columns of out. Queries go four
 * at a time (the same fours in any share, so a query's result is too): their scores against the
 * keys before tEnd transposed, the softmax a row at a time, then their outputs as the
 * probabilities times the values.
 */
export function attentionForwardHeads(out: usize, att: usize, qkv: usize, B: i32, T: i32, C: i32, NH: i32, scratch: usize, bhStart: i32, bhEnd: i32, tStart: i32, tEnd: i32): void {
  const hs = C / NH;
  const scale: f32 = 1 / Mathf.sqrt(<f32>hs);
  const padded = paddedLength(T);
  const keysT = scratch;
  const scores = scratch + (<usize>(hs * padded) << 2);
  const qkvRow = <usize>(3 * C) << 2;
  const outRow = <usize>C << 2;
  const attRow = <usize>T << 2;
  for (let bh = bhStart; bh < bhEnd; bh++) {
    const b = bh / NH, h = bh % NH;
    const queries = qkv + (<usize>(b * T * 3 * C + h * hs) << 2);
    const values = queries + (<usize>(2 * C) << 2);
    const probabilities = att + (<usize>bh * <usize>T * <usize>T << 2);
    transposeHead(keysT, queries + (<usize>C << 2), 3 * C, T, tEnd, hs);
    for (let t0 = tStart; t0 < tEnd; t0 += 4) {
      const rows = min(4, tEnd - t0);
      const keys = t0 + rows;
      const cols = (keys + 7) & ~7; // whole blocks of eight: the padding's scores are zeros, never read
      accumulateRows(scores, <usize>padded << 2, queries + <usize>t0 * qkvRow, 4, qkvRow, keysT, <usize>padded << 2, rows, cols, hs, true);
      for (let r = 0; r < rows; r++) {
        const n = t0 + r + 1;
        const row = probabilities + <usize>(t0 + r) * attRow;
        const max = scaledCopy(row, scores + (<usize>(r * padded) << 2), n, scale);
        scaleInPlace(row, n, 1 / exponentiate(row, n, max));
        memory.fill(row + (<usize>n << 2), 0, <usize>(T - n) << 2);
      }
      const o = out + (<usize>((b * T + t0) * C + h * hs) << 2);
      accumulateRows(o, outRow, probabilities + <usize>t0 * attRow, 4, attRow, values, qkvRow, rows, hs, keys, true);
    }
  }
}

/** dst[i] = scale * src[i] for i < n; returns the largest. */
@inline
function scaledCopy(dst: usize, src: usize, n: i32, scale: f32): f32 {
  const sv = f32x4.splat(scale);
  let maxv = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = f32x4.mul(v128.load(src + (<usize>i << 2)), sv);
    v128.store(dst + (<usize>i << 2), v);
    maxv = f32x4.max(maxv, v);
  }
  let max = Mathf.max(Mathf.max(f32x4.extract_lane(maxv, 0), f32x4.extract_lane(maxv, 1)), Mathf.max(f32x4.extract_lane(maxv, 2), f32x4.extract_lane(maxv, 3)));
  for (; i < n; i++) {
    const v = f(src, i) * scale;
    setF(dst, i, v);
    max = Mathf.max(max, v);
  }
  return max;
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

/**
 * scratch: attentionScratchFloats(T, C, NH). Overwrites att with the gradient of the scores (before
 * the softmax). freshInput: dqkv is written, not added into (as into zeros).
 */
export function attentionBackward(dqkv: usize, dout: usize, qkv: usize, att: usize, B: i32, T: i32, C: i32, NH: i32, scratch: usize, freshInput: bool): void {
  attentionBackwardHeads(dqkv, dout, qkv, att, B, T, C, NH, scratch, 0, B * NH, freshInput);
}

/**
 * attentionBackward for the pairs bhStart..bhEnd, with a thread's scratch; each writes only its
 * head's columns of dqkv and its own rows of att. Three products a pair, in blocks of four rows:
 * dv += p^T dy (attentionBackwardKeys), then dq and the scores' gradient over p
 * (attentionBackwardQueries), last dk += ds^T q. Each gradient adds its terms in ascending
 * positions, as the reference does. Each row of dq, dk and dv is reached once: fresh starts its
 * sum from zero instead of from dqkv.
 */
export function attentionBackwardHeads(dqkv: usize, dout: usize, qkv: usize, att: usize, B: i32, T: i32, C: i32, NH: i32, scratch: usize, bhStart: i32, bhEnd: i32, fresh: bool): void {
  for (let bh = bhStart; bh < bhEnd; bh++) {
    attentionBackwardKeys(dqkv, dout, qkv, att, B, T, C, NH, bh, bh + 1, 0, T, false, fresh);
    attentionBackwardQueries(dqkv, dout, qkv, att, B, T, C, NH, scratch, bh, bh + 1, 0, T, fresh);
    attentionBackwardKeys(dqkv, dout, qkv, att, B, T, C, NH, bh, bh + 1, 0, T, true, fresh);
  }
}

/**
 * The keys' side of attention's backward for the pairs bhStart..bhEnd at key positions
 * uStart..uEnd (uStart a multiple of 4; uEnd too, or T): keys false, dv += p^T dy, with att
 * holding the probabilities; keys true, dk += ds^T q, once attentionBackwardQueries has left the
 * scores' gradient in att. A key's rows are reached by the queries from it on, four keys at a time
 * (the same fours in any share).
 */
export function attentionBackwardKeys(dqkv: usize, dout: usize, qkv: usize, att: usize, B: i32, T: i32, C: i32, NH: i32, bhStart: i32, bhEnd: i32, uStart: i32, uEnd: i32, keys: bool, fresh: bool): void {
  const hs = C / NH;
  const qkvRow = <usize>(3 * C) << 2;
  const doutRow = <usize>C << 2;
  for (let bh = bhStart; bh < bhEnd; bh++) {
    const b = bh / NH, h = bh % NH;
    const head = <usize>(b * T * 3 * C + h * hs) << 2;
    const m = att + (<usize>bh * <usize>T * <usize>T << 2);
    if (keys) addTransposedLower(dqkv + head + (<usize>C << 2), qkvRow, m, T, uStart, uEnd, qkv + head, qkvRow, hs, fresh);
    else addTransposedLower(dqkv + head + (<usize>(2 * C) << 2), qkvRow, m, T, uStart, uEnd, dout + (<usize>(b * T * C + h * hs) << 2), doutRow, hs, fresh);
  }
}

/**
 * The queries' side of attention's backward for the pairs bhStart..bhEnd at query positions
 * tStart..tEnd (tStart a multiple of 4; tEnd too, or T), att holding the probabilities: for four
 * queries at a time, dp = dy v^T against the values before tEnd transposed, ds = p (dp - sum p dp)
 * scale written over p, and dq += ds k. scratch: attentionScratchFloats, a thread's.
 */
export function attentionBackwardQueries(dqkv: usize, dout: usize, qkv: usize, att: usize, B: i32, T: i32, C: i32, NH: i32, scratch: usize, bhStart: i32, bhEnd: i32, tStart: i32, tEnd: i32, fresh: bool): void {
  const hs = C / NH;
  const scale: f32 = 1 / Mathf.sqrt(<f32>hs);
  const padded = paddedLength(T);
  const valuesT = scratch;
  const dp = scratch + (<usize>(hs * padded) << 2);
  const qkvRow = <usize>(3 * C) << 2;
  const doutRow = <usize>C << 2;
  const attRow = <usize>T << 2;
  for (let bh = bhStart; bh < bhEnd; bh++) {
    const b = bh / NH, h = bh % NH;
    const head = <usize>(b * T * 3 * C + h * hs) << 2;
    const keys = qkv + head + (<usize>C << 2), values = qkv + head + (<usize>(2 * C) << 2);
    const dq = dqkv + head;
    const dy = dout + (<usize>(b * T * C + h * hs) << 2);
    const p = att + (<usize>bh * <usize>T * <usize>T << 2);
    transposeHead(valuesT, values, 3 * C, T, tEnd, hs);
    for (let t0 = tStart; t0 < tEnd; t0 += 4) {
      const rows = min(4, tEnd - t0);
      const n = t0 + rows;
      accumulateRows(dp, <usize>padded << 2, dy + <usize>t0 * doutRow, 4, doutRow, valuesT, <usize>padded << 2, rows, (n + 7) & ~7, hs, true);
      for (let r = 0; r < rows; r++) scoresGradient(p + <usize>(t0 + r) * attRow, dp + (<usize>(r * padded) << 2), t0 + r + 1, scale);
      accumulateRows(dq + <usize>t0 * qkvRow, qkvRow, p + <usize>t0 * attRow, 4, attRow, keys, qkvRow, rows, hs, n, fresh);
    }
  }
}

/**
 * dst[u] += sum over t >= u of m[t][u] src[t] for uStart <= u < uEnd (hs floats a row, rows dstRow
 * and srcRow bytes apart), m a T x T matrix zero above its diagonal: attention's dv = p^T dy and
 * dk = ds^T q, four keys at a time over the queries from the first of them on.
 */
function addTransposedLower(dst: usize, dstRow: usize, m: usize, T: i32, uStart: i32, uEnd: i32, src: usize, srcRow: usize, hs: i32, fresh: bool): void {
  const mRow = <usize>T << 2;
  for (let u0 = uStart; u0 < uEnd; u0 += 4) {
    const diagonal = m + <usize>u0 * mRow + (<usize>u0 << 2);
    accumulateRows(dst + <usize>u0 * dstRow, dstRow, diagonal, mRow, 4, src + <usize>u0 * srcRow, srcRow, min(4, uEnd - u0), hs, T - u0, fresh);
  }
}

/** One row: p[u] = p[u] (dp[u] - sum over u of p dp) scale for u < n, the softmax's gradient in place of the probabilities. */
@inline
function scoresGradient(p: usize, dp: usize, n: i32, scale: f32): void {
  const w = f32x4.splat(dot(p, dp, n));
  const sv = f32x4.splat(scale);
  let u = 0;
  for (; u + 4 <= n; u += 4) {
    const at = <usize>u << 2;
    v128.store(p + at, f32x4.mul(f32x4.mul(v128.load(p + at), f32x4.sub(v128.load(dp + at), w)), sv));
  }
  const rest = n - u;
  if (rest > 0) {
    const at = <usize>u << 2;
    storeTail(p + at, f32x4.mul(f32x4.mul(loadTail(p + at, rest), f32x4.sub(loadTail(dp + at, rest), w)), sv), rest);
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
  const n = f32x4.floor(madd(x, f32x4.splat(1.44269504088896341), f32x4.splat(0.5)));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375))), f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  p = f32x4.add(madd(f32x4.mul(p, r), r, r), f32x4.splat(1));
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
  const th = tanhv(f32x4.mul(f32x4.splat(GELU_SCALE), madd(f32x4.splat(0.044715), x3, x)));
  return f32x4.mul(f32x4.mul(f32x4.splat(0.5), x), f32x4.add(f32x4.splat(1), th));
}

/** GELU's derivative times dout, of four values. */
@inline
function geluGradientv(x: v128, d: v128): v128 {
  const xx = f32x4.mul(x, x);
  const th = tanhv(f32x4.mul(f32x4.splat(GELU_SCALE), madd(f32x4.splat(0.044715), f32x4.mul(xx, x), x)));
  const du = f32x4.mul(f32x4.splat(GELU_SCALE), madd(f32x4.splat(3 * 0.044715), xx, f32x4.splat(1)));
  const half = f32x4.splat(0.5);
  const slope = madd(f32x4.mul(f32x4.mul(half, x), f32x4.sub(f32x4.splat(1), f32x4.mul(th, th))), du, f32x4.mul(half, f32x4.add(f32x4.splat(1), th)));
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

/** dinp += GELU'(inp) dout; fresh: dinp = 0 + GELU'(inp) dout, dinp not read (the same bits as adding into zeros). */
export function geluBackward(dinp: usize, inp: usize, dout: usize, n: i32, fresh: bool): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    v128.store(dinp + at, f32x4.add(fresh ? zero : v128.load(dinp + at), geluGradientv(v128.load(inp + at), v128.load(dout + at))));
  }
  const at = <usize>i << 2;
  const rest = n - i;
  storeTail(dinp + at, f32x4.add(fresh ? zero : loadTail(dinp + at, rest), geluGradientv(loadTail(inp + at, rest), loadTail(dout + at, rest))), rest);
}

/** n floats from ptr set to zero: a gradient's buffer before its layers add into it. */
export function zeroFloats(ptr: usize, n: i32): void {
  memory.fill(ptr, 0, <usize>n << 2);
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
