// Causal multi-head attention as attention.wgsl computes it (the same bindings, entry points,
// grid, lse and delta), with each row's head vector split across LANES neighbouring invocations
// of one subgroup instead of the row's walk over keys: an invocation holds SLICE4 vec4s of its
// row's vectors (q, or k and v) and of their sums, every dot product is summed across the LANES
// by subgroupShuffleXor, and every invocation of a row walks every key. All LANES of a row get
// the same sum to the bit (each adds the same pairs, and a + b == b + a), so they agree on every
// score, maximum and probability without exchanging them.
//
// Why: at head size 64 attention.wgsl's invocations each held whole head vectors, four of them
// in backward_key_value (256 floats), which spilled; here an invocation holds four slices of 16.
// Needs the `subgroups` feature and subgroups of at least LANES invocations that are runs of
// neighbouring local indices (attention.ts checks the adapter's minimum subgroup size).
//
// An invocation's slice is interleaved: its v-th vec4 is element (v * LANES + part) of the row, so
// the LANES invocations of a row read neighbouring vec4s of a staged row (no bank conflicts).
// Each pass reads its slices of a staged row into registers once and uses them for both its dot
// products and its sums: the backward passes had read each twice, and took 11 to 15 % longer so
// (bench/gpu_training/h200-attention-rows/). The two backward passes write that read out each: one
// helper returning the slices and both sums in a struct took 2 to 4 % longer on the H200
// (h200-attention-rows/README.md).

enable subgroups;

//! include "include/attention-io.wgsl.inc"

// Specialised to the model by attentionShader() (src/kernels/gpt/attention.ts), which rewrites
// these lines.
const HEAD = 64u;    // the head size C / NH
const HEAD4 = 16u;   // ceil(HEAD / 4)
const LANES = 4u;    // invocations sharing one row's head vector: a power of two, at most the subgroup size
const SLICE4 = 4u;   // ceil(HEAD4 / LANES): the vec4s of a row one invocation holds
const QUERIES = 64u; // rows (queries; keys in backward_key_value) a workgroup owns
const BLOCK = 32u;   // rows staged in workgroup memory per round
// end of specialised constants

const THREADS = QUERIES * LANES;
const ROW4 = LANES * SLICE4; // a staged row, in vec4s (the head zero-padded to it)
const CHUNK = 8u;            // keys the forward scores before one rescale of its running sums
const LOWEST = -3.4e38;

var<workgroup> stage_a: array<vec4<f32>, BLOCK * ROW4>;
var<workgroup> stage_b: array<vec4<f32>, BLOCK * ROW4>;
var<workgroup> stage_scalars: array<vec2<f32>, BLOCK>; // backward_key_value: (lse, delta) of each staged query

// Stages rows first..first+BLOCK: part_a of qkv into stage_a, part_b (or dy) into stage_b, zeros
// past T and past the head.
fn stage(lane: u32, b: u32, h: u32, first: u32, part_a: u32, part_b: u32, b_is_dy: bool) {
  for (var i = lane; i < BLOCK * ROW4; i += THREADS) {
    let t = first + i / ROW4;
    let c4 = i % ROW4;
    var a = vec4<f32>(0.0);
    var v = vec4<f32>(0.0);
    if (t < p.T) {
      a = qkv4(at(b, t, h, part_a), c4);
      if (b_is_dy) { v = dout4(at_dy(b, t, h), c4); } else { v = qkv4(at(b, t, h, part_b), c4); }
    }
    stage_a[i] = a;
    stage_b[i] = v;
  }
}

// The sum of x over the LANES invocations of this row, the same bits in each of them. Called in
// workgroup-uniform control flow only (every invocation of the subgroup takes part).
fn row_sum(x: f32) -> f32 {
  var s = x;
  for (var mask = 1u; mask < LANES; mask <<= 1u) { s += subgroupShuffleXor(s, mask); }
  return s;
}

// Adds this invocation's slice to the row at `base` of `out` (or writes it: gradient_out).
fn add_slice(base: u32, part: u32, slice: ptr<function, array<vec4<f32>, SLICE4>>) {
  for (var v = 0u; v < SLICE4; v++) {
    let c4 = v * LANES + part;
    for (var i = 0u; i < 4u; i++) { if (c4 * 4u + i < HEAD) { gradient_out(base + c4 * 4u + i, (*slice)[v][i]); } }
  }
}

@compute @workgroup_size(THREADS)
fn forward(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.z;
  let h = group.y;
  let part = lane % LANES;
  let first_query = (groups.x - 1u - group.x) * QUERIES; // the last rows, which see the most keys, first
  let t = first_query + lane / LANES;
  let valid = t < p.T;
  let scale = inverseSqrt(f32(HEAD));
  var q: array<vec4<f32>, SLICE4>;
  var acc: array<vec4<f32>, SLICE4>;
  if (valid) { for (var v = 0u; v < SLICE4; v++) { q[v] = qkv4(at(b, t, h, 0u), v * LANES + part) * scale; } }
  var m = LOWEST;
  var l = 0.0;
  let last = min(p.T, first_query + QUERIES); // keys the workgroup's queries can see
  for (var first = 0u; first < last; first += BLOCK) {
    stage(lane, b, h, first, 1u, 2u, false);
    workgroupBarrier();
    for (var c = 0u; c < BLOCK; c += CHUNK) {
      // A chunk's scores first, then one rescale of the running sums for all of them.
      var s: array<f32, CHUNK>;
      var chunk_max = LOWEST;
      for (var i = 0u; i < CHUNK; i++) {
        var key: array<vec4<f32>, SLICE4>;
        for (var v = 0u; v < SLICE4; v++) { key[v] = stage_a[(c + i) * ROW4 + v * LANES + part]; }
        var d = 0.0;
        for (var v = 0u; v < SLICE4; v++) { d += dot(q[v], key[v]); }
        s[i] = select(LOWEST, row_sum(d), valid && first + c + i <= t);
        chunk_max = max(chunk_max, s[i]);
      }
      if (chunk_max > LOWEST) {
        let m_new = max(m, chunk_max);
        let correction = exp(m - m_new);
        l *= correction;
        for (var v = 0u; v < SLICE4; v++) { acc[v] *= correction; }
        for (var i = 0u; i < CHUNK; i++) {
          var value: array<vec4<f32>, SLICE4>;
          for (var v = 0u; v < SLICE4; v++) { value[v] = stage_b[(c + i) * ROW4 + v * LANES + part]; }
          let w = select(0.0, exp(s[i] - m_new), s[i] > LOWEST);
          l += w;
          for (var v = 0u; v < SLICE4; v++) { acc[v] += w * value[v]; }
        }
        m = m_new;
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    let o = at_dy(b, t, h);
    for (var v = 0u; v < SLICE4; v++) {
      let c4 = v * LANES + part;
      let value = acc[v] / l;
      for (var i = 0u; i < 4u; i++) { if (c4 * 4u + i < HEAD) { out[o + c4 * 4u + i] = value[i]; } }
    }
    if (part == 0u) { lse[row(b, h, t)] = m + log(l); }
  }
}

@compute @workgroup_size(THREADS)
fn backward_query(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.z;
  let h = group.y;
  let part = lane % LANES;
  let first_query = (groups.x - 1u - group.x) * QUERIES;
  let t = first_query + lane / LANES;
  let valid = t < p.T;
  let scale = inverseSqrt(f32(HEAD));
  var q: array<vec4<f32>, SLICE4>;
  var dy: array<vec4<f32>, SLICE4>;
  var dq: array<vec4<f32>, SLICE4>;
  var d_part = 0.0;
  var lse_t = 0.0;
  if (valid) {
    let o = at_dy(b, t, h);
    for (var v = 0u; v < SLICE4; v++) {
      let c4 = v * LANES + part;
      q[v] = qkv4(at(b, t, h, 0u), c4) * scale;
      dy[v] = dout4(o, c4);
      d_part += dot(dy[v], y4(o, c4));
    }
    lse_t = lse[row(b, h, t)];
  }
  let d = row_sum(d_part); // delta = dy . y, the softmax's row sum of p * dp
  if (valid && part == 0u) { delta[row(b, h, t)] = d; }
  let last = min(p.T, first_query + QUERIES);
  for (var first = 0u; first < last; first += BLOCK) {
    stage(lane, b, h, first, 1u, 2u, false); // keys, and values
    workgroupBarrier();
    for (var j = 0u; j < BLOCK; j++) {
      var key: array<vec4<f32>, SLICE4>;
      var value: array<vec4<f32>, SLICE4>;
      var s_part = 0.0;
      var dp_part = 0.0;
      for (var v = 0u; v < SLICE4; v++) {
        key[v] = stage_a[j * ROW4 + v * LANES + part];
        value[v] = stage_b[j * ROW4 + v * LANES + part];
        s_part += dot(q[v], key[v]);
        dp_part += dot(dy[v], value[v]);
      }
      let s = row_sum(s_part);
      let dp = row_sum(dp_part);
      let pre = select(0.0, exp(s - lse_t) * (dp - d) * scale, valid && first + j <= t);
      for (var v = 0u; v < SLICE4; v++) { dq[v] += pre * key[v]; }
    }
    workgroupBarrier();
  }
  if (valid) { add_slice(at(b, t, h, 0u), part, &dq); }
}

@compute @workgroup_size(THREADS)
fn backward_key_value(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.z;
  let h = group.y;
  let part = lane % LANES;
  let first_key = group.x * QUERIES; // the first keys, which the most queries see, first
  let u = first_key + lane / LANES;
  let valid = u < p.T;
  let scale = inverseSqrt(f32(HEAD));
  var k: array<vec4<f32>, SLICE4>;
  var v_row: array<vec4<f32>, SLICE4>;
  var dk: array<vec4<f32>, SLICE4>;
  var dv: array<vec4<f32>, SLICE4>;
  if (valid) {
    for (var v = 0u; v < SLICE4; v++) {
      k[v] = qkv4(at(b, u, h, 1u), v * LANES + part) * scale;
      v_row[v] = qkv4(at(b, u, h, 2u), v * LANES + part);
    }
  }
  for (var first = first_key; first < p.T; first += BLOCK) {
    stage(lane, b, h, first, 0u, 0u, true); // queries, and dy
    if (lane < BLOCK && first + lane < p.T) {
      stage_scalars[lane] = vec2<f32>(lse[row(b, h, first + lane)], delta[row(b, h, first + lane)]);
    }
    workgroupBarrier();
    for (var j = 0u; j < BLOCK; j++) {
      let t = first + j;
      var query: array<vec4<f32>, SLICE4>;
      var grad: array<vec4<f32>, SLICE4>;
      var s_part = 0.0;
      var dp_part = 0.0;
      for (var v = 0u; v < SLICE4; v++) {
        query[v] = stage_a[j * ROW4 + v * LANES + part];
        grad[v] = stage_b[j * ROW4 + v * LANES + part];
        s_part += dot(k[v], query[v]);
        dp_part += dot(v_row[v], grad[v]);
      }
      let s = row_sum(s_part);
      let dp = row_sum(dp_part);
      let scalars = stage_scalars[j];
      let prob = select(0.0, exp(s - scalars.x), valid && t < p.T && t >= u);
      let pre = prob * (dp - scalars.y) * scale;
      for (var v = 0u; v < SLICE4; v++) {
        dk[v] += pre * query[v];
        dv[v] += prob * grad[v];
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    add_slice(at(b, u, h, 1u), part, &dk);
    add_slice(at(b, u, h, 2u), part, &dv);
  }
}
