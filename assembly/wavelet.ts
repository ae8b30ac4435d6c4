// The causal wavelet filter bank of WaveletGPT on the CPU, with 128-bit SIMD.
//
// Activations are (B, T, E) float32, channel fastest. Time is the outer loop and channels the
// inner one, four channels to a v128, so every pass streams through memory once, row after row.
// Each channel has its own window f(c) (0 = pass through), so a group's four lanes may look back
// by different lags: the lagged values are one v128 load when the group's windows agree (the
// common case), four scalar loads when they do not.
//
// The backward pass with respect to x is the forward pass run backwards in time (`reverse`):
// the transpose of a causal filter is the same filter made anti-causal. So one kernel per form
// serves both directions.
//
// Drift: the fixed Haar form keeps a running sum s += x[t] - x[t - f]. In float32 its rounding
// error would grow with T; here the running sums (and the EMA states) are float64, so the error
// of every output stays at float32 rounding of the inputs, independent of T (tested at T = 8192).
//
// All pointers are byte offsets into this module's memory; the TypeScript side lays buffers out.

/** Plan tables the TypeScript side writes once per plan. */
@unmanaged
class Plan {
  channels: i32;
  windows: usize; // i32[E]: f(c), 0 = pass through
  invWindows: usize; // f64[E]: 1 / f(c)
  alphas: usize; // f64[E]: EMA rate
  runs: usize; // i32[3 * runCount]: [start, end, filtered] of channel runs
  runCount: i32;
}

/** Splits channels into maximal runs of pass-through or filtered channels; returns the run count. */
export function planRuns(windows: usize, channels: i32, runsOut: usize): i32 {
  let count = 0;
  let c = 0;
  while (c < channels) {
    const filtered = load<i32>(windows + (<usize>c << 2)) != 0;
    let end = c + 1;
    while (end < channels && (load<i32>(windows + (<usize>end << 2)) != 0) == filtered) end++;
    const at = runsOut + (<usize>count * 12);
    store<i32>(at, c);
    store<i32>(at, end, 4);
    store<i32>(at, filtered ? 1 : 0, 8);
    count++;
    c = end;
  }
  return count;
}

function copyRun(src: usize, dst: usize, start: i32, end: i32): void {
  let c = start;
  for (; c + 4 <= end; c += 4) v128.store(dst + (<usize>c << 2), v128.load(src + (<usize>c << 2)));
  for (; c < end; c++) store<f32>(dst + (<usize>c << 2), load<f32>(src + (<usize>c << 2)));
}

// @inline keeps the per-lane branches out of the hot loop's call overhead.
@inline
function laggedLane(x: usize, rowBase: usize, t: i32, step: i32, f: i32, T: i32, c: i32, E: i32): f32 {
  const lag = t - step * f;
  if (lag < 0 || lag >= T) return 0;
  return load<f32>(x + (((rowBase + <usize>lag) * <usize>E + <usize>c) << 2));
}

/**
 * Fixed Haar moving average (ema = false) or EMA (ema = true), forward or (reverse) backward.
 * state: f64[E] scratch.
 */
export function streamingFilter(ema: bool, reverse: bool, plan: Plan, x: usize, y: usize, B: i32, T: i32, state: usize): void {
  const E = plan.channels;
  const step = reverse ? -1 : 1;
  for (let b = 0; b < B; b++) {
    memory.fill(state, 0, <usize>E << 3);
    const rowBase = <usize>b * <usize>T;
    for (let i = 0; i < T; i++) {
      const t = reverse ? T - 1 - i : i;
      const rowOffset = (rowBase + <usize>t) * <usize>E << 2;
      const xr = x + rowOffset;
      const yr = y + rowOffset;
      for (let r = 0; r < plan.runCount; r++) {
        const run = plan.runs + (<usize>r * 12);
        const start = load<i32>(run);
        const end = load<i32>(run, 4);
        if (load<i32>(run, 8) == 0) {
          copyRun(xr, yr, start, end);
          continue;
        }
        let c = start;
        for (; c + 4 <= end; c += 4) {
          const cb = <usize>c;
          const xv = v128.load(xr + (cb << 2));
          const s0 = v128.load(state + (cb << 3));
          const s1 = v128.load(state + (cb << 3), 16);
          const x0 = f64x2.promote_low_f32x4(xv);
          const x1 = f64x2.promote_low_f32x4(v128.shuffle<f32>(xv, xv, 2, 3, 0, 1));
          let n0: v128, n1: v128, out0: v128, out1: v128;
          if (ema) {
            const a0 = v128.load(plan.alphas + (cb << 3));
            const a1 = v128.load(plan.alphas + (cb << 3), 16);
            n0 = f64x2.add(s0, f64x2.mul(a0, f64x2.sub(x0, s0)));
            n1 = f64x2.add(s1, f64x2.mul(a1, f64x2.sub(x1, s1)));
            out0 = n0;
            out1 = n1;
          } else {
            const w = v128.load(plan.windows + (cb << 2));
            const f = i32x4.extract_lane(w, 0);
            let lagged: v128;
            if (v128.all_true<i32>(i32x4.eq(w, i32x4.splat(f)))) {
              const lag = t - step * f;
              lagged = lag >= 0 && lag < T ? v128.load(x + (((rowBase + <usize>lag) * <usize>E + cb) << 2)) : f32x4.splat(0);
            } else {
              lagged = f32x4.splat(laggedLane(x, rowBase, t, step, f, T, c, E));
              lagged = f32x4.replace_lane(lagged, 1, laggedLane(x, rowBase, t, step, i32x4.extract_lane(w, 1), T, c + 1, E));
              lagged = f32x4.replace_lane(lagged, 2, laggedLane(x, rowBase, t, step, i32x4.extract_lane(w, 2), T, c + 2, E));
              lagged = f32x4.replace_lane(lagged, 3, laggedLane(x, rowBase, t, step, i32x4.extract_lane(w, 3), T, c + 3, E));
            }
            const l0 = f64x2.promote_low_f32x4(lagged);
            const l1 = f64x2.promote_low_f32x4(v128.shuffle<f32>(lagged, lagged, 2, 3, 0, 1));
            n0 = f64x2.add(s0, f64x2.sub(x0, l0));
            n1 = f64x2.add(s1, f64x2.sub(x1, l1));
            out0 = f64x2.mul(n0, v128.load(plan.invWindows + (cb << 3)));
            out1 = f64x2.mul(n1, v128.load(plan.invWindows + (cb << 3), 16));
          }
          v128.store(state + (cb << 3), n0);
          v128.store(state + (cb << 3), n1, 16);
          const lo = f32x4.demote_f64x2_zero(out0);
          const hi = f32x4.demote_f64x2_zero(out1);
          v128.store(yr + (cb << 2), v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
        }
        for (; c < end; c++) {
          const cb = <usize>c;
          const xs = <f64>load<f32>(xr + (cb << 2));
          let s = load<f64>(state + (cb << 3));
          let out: f64;
          if (ema) {
            s += load<f64>(plan.alphas + (cb << 3)) * (xs - s);
            out = s;
          } else {
            s += xs - <f64>laggedLane(x, rowBase, t, step, load<i32>(plan.windows + (cb << 2)), T, c, E);
            out = s * load<f64>(plan.invWindows + (cb << 3));
          }
          store<f64>(state + (cb << 3), s);
          store<f32>(yr + (cb << 2), <f32>out);
        }
      }
    }
  }
}

/**
 * Packs learnable taps four channels to a v128, per group of each filtered run, so that the
 * convolution loads one vector of taps per lag. Lanes past a channel's window hold 0.
 * Returns the number of v128 written. Groups are taken in the order learnableFilter walks them.
 */
export function packTaps(plan: Plan, taps: usize, tapOffsets: usize, packed: usize): i32 {
  let written = 0;
  for (let r = 0; r < plan.runCount; r++) {
    const run = plan.runs + (<usize>r * 12);
    if (load<i32>(run, 8) == 0) continue;
    const end = load<i32>(run, 4);
    for (let c = load<i32>(run); c + 4 <= end; c += 4) {
      const longest = groupLongestWindow(plan, c);
      for (let k = 0; k < longest; k++) {
        for (let lane = 0; lane < 4; lane++) {
          const ch = c + lane;
          const f = load<i32>(plan.windows + (<usize>ch << 2));
          const value: f32 = k < f ? load<f32>(taps + (<usize>(load<i32>(tapOffsets + (<usize>ch << 2)) + k) << 2)) : 0;
          store<f32>(packed + (<usize>(written + k) << 4) + (<usize>lane << 2), value);
        }
      }
      written += longest;
    }
  }
  return written;
}

@inline
function groupLongestWindow(plan: Plan, c: i32): i32 {
  const w = v128.load(plan.windows + (<usize>c << 2));
  return max(max(i32x4.extract_lane(w, 0), i32x4.extract_lane(w, 1)), max(i32x4.extract_lane(w, 2), i32x4.extract_lane(w, 3)));
}

/**
 * Learnable causal kernel: y[t, c] = sum_{k < f(c)} h_c[k] x[t - k, c] (reverse: x[t + k, c]).
 * packed: the output of packTaps for these taps.
 */
export function learnableFilter(reverse: bool, plan: Plan, x: usize, y: usize, B: i32, T: i32, taps: usize, tapOffsets: usize, packed: usize): void {
  const E = plan.channels;
  // Moving one lag further back in time (forward) or forward in time (reverse), in bytes.
  const lagStride: isize = (<isize>E << 2) * (reverse ? -1 : 1);
  for (let b = 0; b < B; b++) {
    const rowBase = <usize>b * <usize>T;
    for (let i = 0; i < T; i++) {
      const t = reverse ? T - 1 - i : i;
      const available = reverse ? T - t : t + 1; // lags that stay inside the sequence
      const xr = x + ((rowBase + <usize>t) * <usize>E << 2);
      const yr = y + ((rowBase + <usize>t) * <usize>E << 2);
      let group: usize = packed;
      for (let r = 0; r < plan.runCount; r++) {
        const run = plan.runs + (<usize>r * 12);
        const start = load<i32>(run);
        const end = load<i32>(run, 4);
        if (load<i32>(run, 8) == 0) {
          copyRun(xr, yr, start, end);
          continue;
        }
        let c = start;
        for (; c + 4 <= end; c += 4) {
          const longest = groupLongestWindow(plan, c);
          const taken = min(longest, available);
          let acc = f32x4.splat(0);
          let src = xr + (<usize>c << 2);
          for (let k = 0; k < taken; k++) {
            acc = f32x4.add(acc, f32x4.mul(v128.load(group + (<usize>k << 4)), v128.load(src)));
            src = <usize>(<isize>src - lagStride);
          }
          v128.store(yr + (<usize>c << 2), acc);
          group += <usize>longest << 4;
        }
        for (; c < end; c++) {
          const f = min(load<i32>(plan.windows + (<usize>c << 2)), available);
          const h = taps + (<usize>load<i32>(tapOffsets + (<usize>c << 2)) << 2);
          let acc: f32 = 0;
          let src = xr + (<usize>c << 2);
          for (let k = 0; k < f; k++) {
            acc += load<f32>(h + (<usize>k << 2)) * load<f32>(src);
            src = <usize>(<isize>src - lagStride);
          }
          store<f32>(yr + (<usize>c << 2), acc);
        }
      }
    }
  }
}

/**
 * Gradient of the learnable taps: dh_c[k] = sum_{b, t >= k} dy[t, c] x[t - k, c], written to
 * dTaps in the flat layout. packedGrad: scratch of the packTaps size, zeroed here.
 */
export function learnableTapGradient(plan: Plan, x: usize, dy: usize, B: i32, T: i32, tapOffsets: usize, packedCount: i32, packedGrad: usize, dTaps: usize): void {
  const E = plan.channels;
  const rowBytes = <usize>E << 2;
  memory.fill(packedGrad, 0, <usize>packedCount << 4);
  for (let r = 0; r < plan.runCount; r++) {
    const run = plan.runs + (<usize>r * 12);
    const start = load<i32>(run);
    const end = load<i32>(run, 4);
    if (load<i32>(run, 8) == 0) continue;
    for (let c = start; c < end; c++) {
      const f = load<i32>(plan.windows + (<usize>c << 2));
      memory.fill(dTaps + (<usize>load<i32>(tapOffsets + (<usize>c << 2)) << 2), 0, <usize>f << 2);
    }
  }
  for (let b = 0; b < B; b++) {
    const rowBase = <usize>b * <usize>T;
    for (let t = 0; t < T; t++) {
      const dyr = dy + ((rowBase + <usize>t) * <usize>E << 2);
      const xr = x + ((rowBase + <usize>t) * <usize>E << 2);
      let group: usize = packedGrad;
      for (let r = 0; r < plan.runCount; r++) {
        const run = plan.runs + (<usize>r * 12);
        if (load<i32>(run, 8) == 0) continue;
        const end = load<i32>(run, 4);
        let c = load<i32>(run);
        for (; c + 4 <= end; c += 4) {
          const longest = groupLongestWindow(plan, c);
          const taken = min(longest, t + 1);
          const g = v128.load(dyr + (<usize>c << 2));
          let src = xr + (<usize>c << 2);
          for (let k = 0; k < taken; k++) {
            const at = group + (<usize>k << 4);
            v128.store(at, f32x4.add(v128.load(at), f32x4.mul(g, v128.load(src))));
            src -= rowBytes;
          }
          group += <usize>longest << 4;
        }
        for (; c < end; c++) {
          const f = min(load<i32>(plan.windows + (<usize>c << 2)), t + 1);
          const dh = dTaps + (<usize>load<i32>(tapOffsets + (<usize>c << 2)) << 2);
          const g = load<f32>(dyr + (<usize>c << 2));
          let src = xr + (<usize>c << 2);
          for (let k = 0; k < f; k++) {
            store<f32>(dh + (<usize>k << 2), load<f32>(dh + (<usize>k << 2)) + g * load<f32>(src));
            src -= rowBytes;
          }
        }
      }
    }
  }
  // Unpack the vector groups into the flat per-channel layout.
  let group: usize = packedGrad;
  for (let r = 0; r < plan.runCount; r++) {
    const run = plan.runs + (<usize>r * 12);
    if (load<i32>(run, 8) == 0) continue;
    const end = load<i32>(run, 4);
    for (let c = load<i32>(run); c + 4 <= end; c += 4) {
      const longest = groupLongestWindow(plan, c);
      for (let lane = 0; lane < 4; lane++) {
        const ch = c + lane;
        const f = load<i32>(plan.windows + (<usize>ch << 2));
        const dh = dTaps + (<usize>load<i32>(tapOffsets + (<usize>ch << 2)) << 2);
        for (let k = 0; k < f; k++) store<f32>(dh + (<usize>k << 2), load<f32>(group + (<usize>k << 4) + (<usize>lane << 2)));
      }
      group += <usize>longest << 4;
    }
  }
}
