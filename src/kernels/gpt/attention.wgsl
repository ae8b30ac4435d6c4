// Causal multi-head attention, tiled in the manner of FlashAttention: no (T x T) matrix is ever
// stored. qkv (B, T, 3C): q, k, v side by side; out (B, T, C).
//   forward: a workgroup of 64 queries of one (b, h) walks the keys in blocks held in workgroup
//     memory with an online softmax; it keeps each query's log-sum-exp (lse) for backward.
//   backward_query: recomputes each probability from lse; delta = dy . y (the softmax's
//     row sum of p * dp), kept for backward_key_value; dq = sum_u dpre k.
//   backward_key_value: a workgroup of 64 keys walks the queries t >= u in blocks:
//     dk = sum_t dpre q, dv = sum_t p dy.
// with p = softmax(q k / sqrt(hs)), dp = dy . v, dpre = p (dp - delta) / sqrt(hs).

struct Params { B: u32, T: u32, C: u32, NH: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;   // forward: y; backward: dqkv (+=)
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;   // (B, NH, T): forward writes, backward reads
@group(0) @binding(4) var<storage, read> dout: array<f32>;        // backward: dy (B, T, C)
@group(0) @binding(5) var<storage, read> y: array<f32>;           // backward: the forward's output
@group(0) @binding(6) var<storage, read_write> delta: array<f32>; // backward: (B, NH, T)

const QUERIES = 64u;
const BLOCK = 16u;
const MAX_HEAD = 64u;
var<workgroup> block_a: array<array<f32, 64>, 16>; // keys (forward) or queries (key-value pass)
var<workgroup> block_b: array<array<f32, 64>, 16>; // values or dy
var<workgroup> block_lse: array<f32, 16>;
var<workgroup> block_delta: array<f32, 16>;

fn at(b: u32, t: u32, h: u32, part: u32) -> u32 { return (b * p.T + t) * 3u * p.C + part * p.C + h * (p.C / p.NH); }
fn row(b: u32, h: u32, t: u32) -> u32 { return (b * p.NH + h) * p.T + t; }

// Loads rows first..first+BLOCK of two (B, T, *) tensors (qkv parts, or dy) into workgroup memory.
fn load_block(lane: u32, b: u32, h: u32, first: u32, part_a: u32, part_b: u32, b_from_dout: bool) {
  let hs = p.C / p.NH;
  for (var i = lane; i < BLOCK * hs; i += QUERIES) {
    let j = i / hs;
    let c = i % hs;
    let t = first + j;
    if (t < p.T) {
      block_a[j][c] = qkv[at(b, t, h, part_a) + c];
      block_b[j][c] = select(qkv[at(b, t, h, part_b) + c], dout[(b * p.T + t) * p.C + h * hs + c], b_from_dout);
    }
  }
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.z;
  let h = group.y;
  let t = group.x * QUERIES + lane;
  let valid = t < p.T;
  let hs = p.C / p.NH;
  let scale = inverseSqrt(f32(hs));
  var q: array<f32, MAX_HEAD>;
  var acc: array<f32, MAX_HEAD>;
  if (valid) { for (var c = 0u; c < hs; c++) { q[c] = qkv[at(b, t, h, 0u) + c]; } }
  var m = -3.4e38;
  var l = 0.0;
  let last = min(p.T, group.x * QUERIES + QUERIES); // keys the block's queries can see
  for (var first = 0u; first < last; first += BLOCK) {
    load_block(lane, b, h, first, 1u, 2u, false);
    workgroupBarrier();
    for (var j = 0u; j < BLOCK; j++) {
      let u = first + j;
      if (!valid || u > t) { break; }
      var s = 0.0;
      for (var c = 0u; c < hs; c++) { s += q[c] * block_a[j][c]; }
      s *= scale;
      let m_new = max(m, s);
      let correction = exp(m - m_new);
      let w = exp(s - m_new);
      l = l * correction + w;
      for (var c = 0u; c < hs; c++) { acc[c] = acc[c] * correction + w * block_b[j][c]; }
      m = m_new;
    }
    workgroupBarrier();
  }
  if (valid) {
    let o = (b * p.T + t) * p.C + h * hs;
    for (var c = 0u; c < hs; c++) { out[o + c] = acc[c] / l; }
    lse[row(b, h, t)] = m + log(l);
  }
}

@compute @workgroup_size(64)
fn backward_query(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.z;
  let h = group.y;
  let t = group.x * QUERIES + lane;
  let valid = t < p.T;
  let hs = p.C / p.NH;
  let scale = inverseSqrt(f32(hs));
  var q: array<f32, MAX_HEAD>;
  var dy: array<f32, MAX_HEAD>;
  var dq: array<f32, MAX_HEAD>;
  var d = 0.0;
  var lse_t = 0.0;
  if (valid) {
    let o = (b * p.T + t) * p.C + h * hs;
    for (var c = 0u; c < hs; c++) {
      q[c] = qkv[at(b, t, h, 0u) + c];
      dy[c] = dout[o + c];
      d += dy[c] * y[o + c];
    }
    lse_t = lse[row(b, h, t)];
    delta[row(b, h, t)] = d;
  }
  let last = min(p.T, group.x * QUERIES + QUERIES);
  for (var first = 0u; first < last; first += BLOCK) {
    load_block(lane, b, h, first, 1u, 2u, false);
    workgroupBarrier();
    for (var j = 0u; j < BLOCK; j++) {
      let u = first + j;
      if (!valid || u > t) { break; }
      var s = 0.0;
      var dp = 0.0;
      for (var c = 0u; c < hs; c++) { s += q[c] * block_a[j][c]; dp += dy[c] * block_b[j][c]; }
      let pre = exp(s * scale - lse_t) * (dp - d) * scale;
      for (var c = 0u; c < hs; c++) { dq[c] += pre * block_a[j][c]; }
    }
    workgroupBarrier();
  }
  if (valid) { for (var c = 0u; c < hs; c++) { out[at(b, t, h, 0u) + c] += dq[c]; } }
}

@compute @workgroup_size(64)
fn backward_key_value(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.z;
  let h = group.y;
  let u = group.x * QUERIES + lane;
  let valid = u < p.T;
  let hs = p.C / p.NH;
  let scale = inverseSqrt(f32(hs));
  var k: array<f32, MAX_HEAD>;
  var v: array<f32, MAX_HEAD>;
  var dk: array<f32, MAX_HEAD>;
  var dv: array<f32, MAX_HEAD>;
  if (valid) { for (var c = 0u; c < hs; c++) { k[c] = qkv[at(b, u, h, 1u) + c]; v[c] = qkv[at(b, u, h, 2u) + c]; } }
  for (var first = group.x * QUERIES; first < p.T; first += BLOCK) {
    load_block(lane, b, h, first, 0u, 0u, true); // queries, and dy
    if (lane < BLOCK && first + lane < p.T) {
      block_lse[lane] = lse[row(b, h, first + lane)];
      block_delta[lane] = delta[row(b, h, first + lane)];
    }
    workgroupBarrier();
    for (var j = 0u; j < BLOCK; j++) {
      let t = first + j;
      if (!valid || t >= p.T) { break; }
      if (t < u) { continue; }
      var s = 0.0;
      var dp = 0.0;
      for (var c = 0u; c < hs; c++) { s += block_a[j][c] * k[c]; dp += block_b[j][c] * v[c]; }
      let prob = exp(s * scale - block_lse[j]);
      let pre = prob * (dp - block_delta[j]) * scale;
      for (var c = 0u; c < hs; c++) {
        dk[c] += pre * block_a[j][c];
        dv[c] += prob * block_b[j][c];
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    for (var c = 0u; c < hs; c++) {
      out[at(b, u, h, 1u) + c] += dk[c];
      out[at(b, u, h, 2u) + c] += dv[c];
    }
  }
}
