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

/** Rows walked by one channel group before moving to the next: the block stays in L2. */
const ROW_BLOCK = 64;

/**
 * Fixed Haar moving average (ema = false) or EMA (ema = true), forward or (reverse) backward.
 * state: f64[E] scratch for the running sums between row blocks.
 *
 * Loop order: rows in blocks of ROW_BLOCK; within a block, each group of four filtered channels
 * walks the block's rows with its running state, windows and scales in registers. Walking a
 * whole column at once (no blocks) thrashes L2 and the TLB when a row is kilobytes long (rows
 * E * 4 bytes apart map to few cache sets); walking row by row reloads every table each step.
 */
export function streamingFilter(ema: bool, reverse: bool, plan: Plan, x: usize, y: usize, B: i32, T: i32, state: usize): void {
  const E = plan.channels;
  const rowBytes = <usize>E << 2;
  // One step in time, in bytes: forward walks down the rows, reverse walks up.
  const stride: isize = reverse ? -<isize>rowBytes : <isize>rowBytes;
  for (let b = 0; b < B; b++) {
    memory.fill(state, 0, <usize>E << 3);
    const batchBase = <usize>b * <usize>T * rowBytes;
    for (let block = 0; block < T; block += ROW_BLOCK) {
      const steps = min(ROW_BLOCK, T - block);
      // Walking order i = block .. block + steps - 1 is time t = i forward, T - 1 - i reverse.
      const firstRow = batchBase + <usize>(reverse ? T - 1 - block : block) * rowBytes;
      for (let r = 0; r < plan.runCount; r++) {
        const run = plan.runs + (<usize>r * 12);
        const start = load<i32>(run);
        const end = load<i32>(run, 4);
        if (load<i32>(run, 8) == 0) {
          let offset = firstRow + (<usize>start << 2);
          for (let i = 0; i < steps; i++) {
            memory.copy(y + offset, x + offset, <usize>(end - start) << 2);
            offset = <usize>(<isize>offset + stride);
          }
          continue;
        }
        let c = start;
        for (; c + 4 <= end; c += 4) {
          const cb = <usize>c;
          const w = v128.load(plan.windows + (cb << 2));
          const f = i32x4.extract_lane(w, 0);
          const uniform = v128.all_true<i32>(i32x4.eq(w, i32x4.splat(f)));
          const scale0 = ema ? v128.load(plan.alphas + (cb << 3)) : v128.load(plan.invWindows + (cb << 3));
          const scale1 = ema ? v128.load(plan.alphas + (cb << 3), 16) : v128.load(plan.invWindows + (cb << 3), 16);
          let s0 = v128.load(state + (cb << 3));
          let s1 = v128.load(state + (cb << 3), 16);
          let xp = x + firstRow + (cb << 2);
          let yp = y + firstRow + (cb << 2);
          for (let i = block; i < block + steps; i++) {
            const xv = v128.load(xp);
            const x0 = f64x2.promote_low_f32x4(xv);
            const x1 = f64x2.promote_low_f32x4(v128.shuffle<f32>(xv, xv, 2, 3, 0, 1));
            let out0: v128, out1: v128;
            if (ema) {
              s0 = f64x2.add(s0, f64x2.mul(scale0, f64x2.sub(x0, s0)));
              s1 = f64x2.add(s1, f64x2.mul(scale1, f64x2.sub(x1, s1)));
              out0 = s0;
              out1 = s1;
            } else {
              let lagged = f32x4.splat(0);
              if (uniform) {
                if (i >= f) lagged = v128.load(<usize>(<isize>xp - <isize>f * stride));
              } else {
                lagged = laggedLanes(xp, stride, i, w);
              }
              s0 = f64x2.add(s0, f64x2.sub(x0, f64x2.promote_low_f32x4(lagged)));
              s1 = f64x2.add(s1, f64x2.sub(x1, f64x2.promote_low_f32x4(v128.shuffle<f32>(lagged, lagged, 2, 3, 0, 1))));
              out0 = f64x2.mul(s0, scale0);
              out1 = f64x2.mul(s1, scale1);
            }
            v128.store(yp, v128.shuffle<f32>(f32x4.demote_f64x2_zero(out0), f32x4.demote_f64x2_zero(out1), 0, 1, 4, 5));
            xp = <usize>(<isize>xp + stride);
            yp = <usize>(<isize>yp + stride);
          }
          v128.store(state + (cb << 3), s0);
          v128.store(state + (cb << 3), s1, 16);
        }
        for (; c < end; c++) {
          const cb = <usize>c;
          const f = load<i32>(plan.windows + (cb << 2));
          const scale = ema ? load<f64>(plan.alphas + (cb << 3)) : load<f64>(plan.invWindows + (cb << 3));
          let s = load<f64>(state + (cb << 3));
          let xp = x + firstRow + (cb << 2);
          let yp = y + firstRow + (cb << 2);
          for (let i = block; i < block + steps; i++) {
            const xs = <f64>load<f32>(xp);
            if (ema) {
              s += scale * (xs - s);
              store<f32>(yp, <f32>s);
            } else {
              if (i >= f) s -= <f64>load<f32>(<usize>(<isize>xp - <isize>f * stride));
              s += xs;
              store<f32>(yp, <f32>(s * scale));
            }
            xp = <usize>(<isize>xp + stride);
            yp = <usize>(<isize>yp + stride);
          }
          store<f64>(state + (cb << 3), s);
        }
      }
    }
  }
}

/** The values `w` (per lane) steps back in walking order, 0 where that is before the start. */
@inline
function laggedLanes(xp: usize, stride: isize, i: i32, w: v128): v128 {
  let lagged = f32x4.splat(0);
  const f0 = i32x4.extract_lane(w, 0);
  const f1 = i32x4.extract_lane(w, 1);
  const f2 = i32x4.extract_lane(w, 2);
  const f3 = i32x4.extract_lane(w, 3);
  if (i >= f0) lagged = f32x4.replace_lane(lagged, 0, load<f32>(<usize>(<isize>xp - <isize>f0 * stride)));
  if (i >= f1) lagged = f32x4.replace_lane(lagged, 1, load<f32>(<usize>(<isize>xp - <isize>f1 * stride), 4));
  if (i >= f2) lagged = f32x4.replace_lane(lagged, 2, load<f32>(<usize>(<isize>xp - <isize>f2 * stride), 8));
  if (i >= f3) lagged = f32x4.replace_lane(lagged, 3, load<f32>(<usize>(<isize>xp - <isize>f3 * stride), 12));
  return lagged;
}

/**
 * Moves learnable taps between the flat per-channel layout (taps[tapOffsets[c] + k]) and the
 * packed one: four channels to a v128, per group of each filtered run, so that the convolution
 * loads one vector of taps per lag. pack: flat -> packed (lanes past a channel's window get 0);
 * otherwise packed -> flat. Returns the number of v128 in the packed layout. Groups are taken in
 * the order learnableFilter walks them.
 */
export function packTaps(plan: Plan, flat: usize, tapOffsets: usize, packed: usize, pack: bool): i32 {
  let written = 0;
  for (let r = 0; r < plan.runCount; r++) {
    const run = plan.runs + (<usize>r * 12);
    if (load<i32>(run, 8) == 0) continue;
    const end = load<i32>(run, 4);
    for (let c = load<i32>(run); c + 4 <= end; c += 4) {
      const longest = groupLongestWindow(plan, c);
      for (let lane = 0; lane < 4; lane++) {
        const ch = c + lane;
        const f = load<i32>(plan.windows + (<usize>ch << 2));
        const h = flat + (<usize>load<i32>(tapOffsets + (<usize>ch << 2)) << 2);
        for (let k = 0; k < longest; k++) {
          const at = packed + (<usize>(written + k) << 4) + (<usize>lane << 2);
          if (pack) store<f32>(at, k < f ? load<f32>(h + (<usize>k << 2)) : 0);
          else if (k < f) store<f32>(h + (<usize>k << 2), load<f32>(at));
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
  packTaps(plan, dTaps, tapOffsets, packedGrad, false);
}
