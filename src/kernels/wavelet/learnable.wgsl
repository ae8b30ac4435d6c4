// The learnable causal kernel of WaveletGPT: y[t, c] = sum_{k < f(c)} h_c[k] x[t - k, c].
// Layout: (B, T, E) f32, channel fastest; channel c's taps are taps[tap_offsets[c] + k].
// As in streaming.wgsl, `reverse` runs the filter backwards in time: that is dL/dx.

struct Params {
  batch: u32,
  time: u32,
  channels: u32,
  tap_count: u32,
  reverse: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;       // x (filter) or x (tap_gradient)
@group(0) @binding(2) var<storage, read> upstream: array<f32>;    // dy (tap_gradient only)
@group(0) @binding(3) var<storage, read_write> output: array<f32>; // y / dx (filter), dtaps (tap_gradient)
@group(0) @binding(4) var<storage, read> windows: array<u32>;
@group(0) @binding(5) var<storage, read> tap_offsets: array<u32>;
@group(0) @binding(6) var<storage, read> taps: array<f32>;

fn at(b: u32, i: u32, c: u32) -> u32 {
  let t = select(i, params.time - 1u - i, params.reverse == 1u);
  return (b * params.time + t) * params.channels + c;
}

// A workgroup of the learnable kernels: 128 invocations, each owning four outputs (four
// neighbouring times of `convolve`; lags 128 apart of `tap_gradient`, so that one staged value read
// serves four multiply-adds), and STAGE values of the other axis (lags of `convolve`, times of
// `tap_gradient`) through workgroup memory a round. An invocation's four sums are one vec4.
const THREADS = 128u;
const SPAN = 512u;  // 4 * THREADS: the outputs a workgroup owns
const STAGE = 128u;
var<workgroup> staged_x: array<f32, 640>;   // tap_gradient: SPAN + STAGE of x over the round's reach, zero outside 0..T
var<workgroup> staged_row: array<f32, 128>; // STAGE: the round's taps (convolve) or dy (tap_gradient)
// convolve: the same x with position q at (q % 4) * PLANE + q / 4: the invocations reading the
// positions 4 * lane + n of one n read neighbouring floats (no bank conflicts), and a plane of 161
// puts the four planes' starts in different banks for the staging's stores.
const PLANE = 161u;
var<workgroup> staged_planes: array<f32, 644>;

fn plane_index(q: u32) -> u32 { return q % 4u * PLANE + q / 4u; }

// x at time start + j (times as at() reads them: reversed for dL/dx), zero outside 0..T: a staged
// position of either kernel.
fn x_staged(b: u32, c: u32, start: i32, j: u32) -> f32 {
  let t = start + i32(j);
  if (t < 0 || t >= i32(params.time)) { return 0.0; }
  return input[at(b, u32(t), c)];
}

// tap_gradient's staging: staged_x[j] = x_staged(.., j) for j from `lowest` on; the workgroup's
// invocations take every THREADS-th j.
fn stage_input(b: u32, c: u32, start: i32, lowest: u32, lane: u32) {
  for (var j = lowest + lane; j < SPAN + STAGE; j += THREADS) { staged_x[j] = x_staged(b, c, start, j); }
}

// A workgroup for each (channel, block of SPAN times, batch row). A channel's window and taps pass
// through workgroup memory STAGE lags a round, and each output's taps run in the order of k, as the
// reference adds them. An invocation's four times are neighbours, so from one lag to the next three
// of its four values of x are the ones it holds, shifted: one read of workgroup memory for four
// multiply-adds instead of four (times 128 apart took 1.39 ms of a paper-model step on the H200,
// these 1.13). (One invocation an output, looping over its window in global memory, was
// latency-bound, its 512-tap channels sharing warps with 2-tap ones: with the tap gradient of
// then, the learnable form cost +45 % of a paper-model step, now +8 %.)
@compute @workgroup_size(THREADS)
fn convolve(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let c = group.x;
  let first = group.y * SPAN;
  let b = group.z;
  let f = windows[c];
  if (f == 0u) {
    for (var i = first + lane; i < min(first + SPAN, params.time); i += THREADS) { output[at(b, i, c)] = input[at(b, i, c)]; }
    return;
  }
  let h = tap_offsets[c];
  let reach = min(f, first + SPAN); // lags past this reach before t = 0 for every output here
  var acc = vec4<f32>(0.0); // the outputs first + 4 * lane + n, n < 4
  let base = 4u * lane + STAGE - 1u;
  for (var k0 = 0u; k0 < reach; k0 += STAGE) {
    // staged position q holds x[first - k0 - (STAGE - 1) + q]
    let start = i32(first) - i32(k0) - i32(STAGE - 1u);
    for (var q = lane; q < SPAN + STAGE; q += THREADS) { staged_planes[plane_index(q)] = x_staged(b, c, start, q); }
    var tap = 0.0;
    if (k0 + lane < f) { tap = taps[h + k0 + lane]; }
    staged_row[lane] = tap;
    workgroupBarrier();
    // x[first + 4 * lane + n - k0 - k] is at position base + n - k: w holds it for n = 0..3
    var w = vec4<f32>(staged_planes[plane_index(base)], staged_planes[plane_index(base + 1u)], staged_planes[plane_index(base + 2u)], staged_planes[plane_index(base + 3u)]);
    acc += staged_row[0] * w;
    for (var k = 1u; k < STAGE; k++) {
      w = vec4<f32>(staged_planes[plane_index(base - k)], w.x, w.y, w.z);
      acc += staged_row[k] * w;
    }
    workgroupBarrier();
  }
  for (var n = 0u; n < 4u; n++) {
    let i = first + 4u * lane + n;
    if (i < params.time) { output[at(b, i, c)] = acc[n]; }
  }
}

// Batch row b's part of dh_c[k] = sum_{b, t >= k} dy[t, c] x[t - k, c], summed over t in order,
// into output[b * tap_count + tap_offsets[c] + k]; tap_gradient_total sums the rows. A workgroup
// for each (channel, block of SPAN lags, batch row); rounds of STAGE times pass through workgroup
// memory, dy read once for all the workgroup's lags. (One workgroup looping over the batch left
// most of the GPU idle: 85 workgroups for the paper model, 0.22 ms a layer.)
@compute @workgroup_size(THREADS)
fn tap_gradient(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let c = group.x;
  let first_lag = group.y * SPAN;
  let b = group.z;
  let f = windows[c];
  if (first_lag >= f) { return; }
  var acc = vec4<f32>(0.0); // the lags first_lag + lane + r * THREADS, r < 4
  // Lags of the window here: the staged x below SPAN - lags is never read, and with no more lags
  // than invocations only the first of each invocation's four is (a 2-tap channel: 130 values
  // staged a round instead of 640, one multiply-add a time instead of four).
  let lags = min(SPAN, f - first_lag);
  for (var t0 = first_lag; t0 < params.time; t0 += STAGE) {
    var dy = 0.0;
    if (t0 + lane < params.time) { dy = upstream[(b * params.time + t0 + lane) * params.channels + c]; }
    staged_row[lane] = dy;
    stage_input(b, c, i32(t0) - i32(first_lag) - i32(SPAN - 1u), SPAN - lags, lane);
    workgroupBarrier();
    if (first_lag + lane < f) { // lags of this invocation in the window (the warp's last ones skip)
      // x[t0 + tt - (first_lag + lane + r * THREADS)] = staged_x[tt + SPAN - 1 - lane - r * THREADS]
      if (lags <= THREADS) {
        for (var tt = 0u; tt < STAGE; tt++) { acc.x += staged_row[tt] * staged_x[tt + SPAN - 1u - lane]; }
      } else {
        for (var tt = 0u; tt < STAGE; tt++) {
          let j = tt + SPAN - 1u - lane;
          acc += staged_row[tt] * vec4<f32>(staged_x[j], staged_x[j - THREADS], staged_x[j - 2u * THREADS], staged_x[j - 3u * THREADS]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let k = first_lag + lane + r * THREADS;
    if (k < f) { output[b * params.tap_count + tap_offsets[c] + k] = acc[r]; }
  }
}

// dTaps[j] = the sum of tap_gradient's batch rows (input), in the order of the rows.
@compute @workgroup_size(256)
fn tap_gradient_total(@builtin(global_invocation_id) id: vec3<u32>) {
  let j = id.x;
  if (j >= params.tap_count) { return; }
  var sum = 0.0;
  for (var b = 0u; b < params.batch; b++) { sum += input[b * params.tap_count + j]; }
  output[j] = sum;
}
