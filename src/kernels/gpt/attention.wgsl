// Causal multi-head attention. qkv (B, T, 3C): q, k, v side by side; out (B, T, C);
// att (B, NH, T, T): the softmax rows, kept for backward.
// forward and backward_query: one invocation a (b, h, t) query row; backward_key_value: one
// invocation a (b, h, u) key, summing over the queries t >= u that saw it (no atomics needed).
// Sums over a head's channels sit in registers (head size at most MAX_HEAD), so each row of att
// is read once, not once a channel.

struct Params { B: u32, T: u32, C: u32, NH: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> att: array<f32>;   // forward: written; backward: read
@group(0) @binding(3) var<storage, read_write> out: array<f32>;   // forward: y; backward: dqkv
@group(0) @binding(4) var<storage, read> dout: array<f32>;        // backward only
@group(0) @binding(5) var<storage, read_write> dpre: array<f32>;  // backward only: (B, NH, T, T)

const MAX_HEAD = 64u;

fn q_at(b: u32, t: u32, h: u32) -> u32 { return (b * p.T + t) * 3u * p.C + h * (p.C / p.NH); }
fn row_at(b: u32, h: u32, t: u32) -> u32 { return ((b * p.NH + h) * p.T + t) * p.T; }

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) id: vec3<u32>) {
  let t = id.x;
  let h = id.y;
  let b = id.z;
  if (t >= p.T) { return; }
  let hs = p.C / p.NH;
  let scale = inverseSqrt(f32(hs));
  let q = q_at(b, t, h);
  let row = row_at(b, h, t);
  var maximum = -3.4e38;
  for (var u = 0u; u <= t; u++) {
    let k = q_at(b, u, h) + p.C;
    var s = 0.0;
    for (var i = 0u; i < hs; i++) { s += qkv[q + i] * qkv[k + i]; }
    att[row + u] = s * scale;
    maximum = max(maximum, s * scale);
  }
  var sum = 0.0;
  for (var u = 0u; u <= t; u++) { let e = exp(att[row + u] - maximum); att[row + u] = e; sum += e; }
  for (var u = 0u; u < p.T; u++) { att[row + u] = select(0.0, att[row + u] / sum, u <= t); }
  var acc: array<f32, MAX_HEAD>;
  for (var u = 0u; u <= t; u++) {
    let w = att[row + u];
    let v = q_at(b, u, h) + 2u * p.C;
    for (var i = 0u; i < hs; i++) { acc[i] += w * qkv[v + i]; }
  }
  let o = (b * p.T + t) * p.C + h * hs;
  for (var i = 0u; i < hs; i++) { out[o + i] = acc[i]; }
}

// dpre[t, u] = att (datt - sum_u' att datt) * scale with datt[t, u] = dy[t] . v[u]; dq[t] = sum_u dpre k[u].
@compute @workgroup_size(64)
fn backward_query(@builtin(global_invocation_id) id: vec3<u32>) {
  let t = id.x;
  let h = id.y;
  let b = id.z;
  if (t >= p.T) { return; }
  let hs = p.C / p.NH;
  let scale = inverseSqrt(f32(hs));
  let row = row_at(b, h, t);
  let dy = (b * p.T + t) * p.C + h * hs;
  var weighted = 0.0;
  for (var u = 0u; u <= t; u++) {
    let v = q_at(b, u, h) + 2u * p.C;
    var d = 0.0;
    for (var i = 0u; i < hs; i++) { d += dout[dy + i] * qkv[v + i]; }
    dpre[row + u] = d;
    weighted += att[row + u] * d;
  }
  for (var u = 0u; u <= t; u++) { dpre[row + u] = att[row + u] * (dpre[row + u] - weighted) * scale; }
  var acc: array<f32, MAX_HEAD>;
  for (var u = 0u; u <= t; u++) {
    let w = dpre[row + u];
    let k = q_at(b, u, h) + p.C;
    for (var i = 0u; i < hs; i++) { acc[i] += w * qkv[k + i]; }
  }
  let q = q_at(b, t, h);
  for (var i = 0u; i < hs; i++) { out[q + i] += acc[i]; }
}

// dk[u] = sum_{t >= u} dpre[t, u] q[t]; dv[u] = sum_{t >= u} att[t, u] dy[t].
@compute @workgroup_size(64)
fn backward_key_value(@builtin(global_invocation_id) id: vec3<u32>) {
  let u = id.x;
  let h = id.y;
  let b = id.z;
  if (u >= p.T) { return; }
  let hs = p.C / p.NH;
  var dk: array<f32, MAX_HEAD>;
  var dv: array<f32, MAX_HEAD>;
  for (var t = u; t < p.T; t++) {
    let row = row_at(b, h, t);
    let wk = dpre[row + u];
    let wv = att[row + u];
    let q = q_at(b, t, h);
    let dy = (b * p.T + t) * p.C + h * hs;
    for (var i = 0u; i < hs; i++) {
      dk[i] += wk * qkv[q + i];
      dv[i] += wv * dout[dy + i];
    }
  }
  let k = q_at(b, u, h) + p.C;
  for (var i = 0u; i < hs; i++) {
    out[k + i] += dk[i];
    out[k + p.C + i] += dv[i];
  }
}
