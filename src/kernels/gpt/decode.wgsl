// The steps of cached generation that the training kernels do not cover, one new position t per
// sequence (B sequences): the embedding of the new tokens, storing their keys and values in the
// cache, attention of the new query over the cache, and the wavelet structure's running state.
// `step` holds t, then the B tokens: written once a step, read by every launch.

struct Params {
  B: u32, T: u32, C: u32, NH: u32,
  a_offset: u32,   // embed: wte's offset in params; wavelet: the taps' offset (learnable)
  b_offset: u32,   // embed: wpe's offset
  depth: u32,      // wavelet: the ring's length (the longest window); embed: 1 with positions, 0 without
  form: u32,       // wavelet: 0 haar, 1 learnable, 2 ema
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> step: array<u32>;           // [t, token_0 .. token_{B-1}]
@group(0) @binding(3) var<storage, read> src: array<f32>;            // qkv (B, 3C), or the wavelet's input (B, C)
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;      // x (B, C) or the attention's output (B, C)
@group(0) @binding(5) var<storage, read_write> cache: array<f32>;    // keys (B, T, C) then values (B, T, C)
@group(0) @binding(6) var<storage, read_write> state: array<f32>;    // wavelet: ring (B, depth, C) then sums (B, C); attention: scores (B, NH, T)
@group(0) @binding(7) var<storage, read> plan: array<u32>;           // windows (C), tap offsets (C), alphas (C, as bits)

fn flat(id: vec3<u32>, grid: vec3<u32>) -> u32 { return id.y * grid.x * 64u + id.x; }

// x[b, c] = wte[token_b, c] + wpe[t, c] (without wpe where the network has no positions)
@compute @workgroup_size(64)
fn embed(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = flat(id, grid);
  if (i >= p.B * p.C) { return; }
  let b = i / p.C;
  let c = i % p.C;
  var v = params[p.a_offset + step[1u + b] * p.C + c];
  if (p.depth != 0u) { v += params[p.b_offset + step[0] * p.C + c]; }
  dst[i] = v;
}

// keys[b, t] = k, values[b, t] = v of the new position
@compute @workgroup_size(64)
fn store_kv(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = flat(id, grid);
  if (i >= p.B * p.C) { return; }
  let b = i / p.C;
  let c = i % p.C;
  let at = (b * p.T + step[0]) * p.C + c;
  cache[at] = src[b * 3u * p.C + p.C + c];
  cache[p.B * p.T * p.C + at] = src[b * 3u * p.C + 2u * p.C + c];
}

//! include "include/reduce64.wgsl.inc"

// One workgroup a (sequence, head): the scores of the new query against positions 0..t, their
// softmax, and the weighted sum of the values (a thread a channel of the head).
@compute @workgroup_size(64)
fn attend(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.y;
  let h = group.x;
  let t = step[0];
  let hs = p.C / p.NH;
  let scale = inverseSqrt(f32(hs));
  let q = b * 3u * p.C + h * hs;
  let scores = (b * p.NH + h) * p.T;
  var m = -3.4e38;
  for (var u = lane; u <= t; u += THREADS) {
    let k = (b * p.T + u) * p.C + h * hs;
    var s = 0.0;
    for (var i = 0u; i < hs; i++) { s += src[q + i] * cache[k + i]; }
    s *= scale;
    state[scores + u] = s;
    m = max(m, s);
  }
  let maximum = reduce(lane, m, true);
  var z = 0.0;
  for (var u = lane; u <= t; u += THREADS) {
    let e = exp(state[scores + u] - maximum);
    state[scores + u] = e;
    z += e;
  }
  let total = reduce(lane, z, false);
  storageBarrier();
  for (var i = lane; i < hs; i += THREADS) {
    var acc = 0.0;
    for (var u = 0u; u <= t; u++) { acc += state[scores + u] * cache[p.B * p.T * p.C + (b * p.T + u) * p.C + h * hs + i]; }
    dst[b * p.C + h * hs + i] = acc / total;
  }
}

// The wavelet structure at position t: y (dst) from x (src) and each channel's running state.
@compute @workgroup_size(64)
fn wavelet_step(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = flat(id, grid);
  if (i >= p.B * p.C) { return; }
  let b = i / p.C;
  let c = i % p.C;
  let t = step[0];
  let f = plan[c];
  let value = src[i];
  let sums = p.B * p.depth * p.C;
  if (f == 0u) {
    dst[i] = value;
    return;
  }
  if (p.form == 2u) {
    let a = bitcast<f32>(plan[2u * p.C + c]);
    let s = a * value + (1.0 - a) * state[sums + i];
    state[sums + i] = s;
    dst[i] = s;
    return;
  }
  // ring slot of x[t - k]
  let slot = (b * p.depth + t % p.depth) * p.C + c;
  if (p.form == 0u) {
    var old = 0.0;
    if (t >= f) { old = state[(b * p.depth + (t - f) % p.depth) * p.C + c]; }
    state[slot] = value;
    let s = state[sums + i] + value - old;
    state[sums + i] = s;
    dst[i] = s / f32(f);
    return;
  }
  state[slot] = value;
  let h0 = plan[p.C + c];
  var acc = 0.0;
  for (var k = 0u; k < f && k <= t; k++) {
    acc += params[p.a_offset + h0 + k] * state[(b * p.depth + (t - k) % p.depth) * p.C + c];
  }
  dst[i] = acc;
}
