// Causal multi-head attention as attention.wgsl computes it (the same bindings, entry points,
// grid, lse and delta), with the work of each round laid out as two small matrix products, the
// layout of FlashAttention-2: a workgroup owns ROWS rows (queries; keys in backward_key_value)
// and stages its own rows' head vectors once, then ROWS rows of the other side a round. Each
// invocation computes a block of 4 own rows x COLS round rows of the round's scores from vec4s of
// workgroup memory (4 x COLS multiply-adds of vec4s for every 4 + COLS vec4s read), then, through
// a block of probabilities (or their gradients) in workgroup memory, adds the round's share to 4
// rows x PARTS vec4s of its outputs.
//
// Why: attention-subgroup.wgsl reads a vec4 of a staged row for every 4 multiply-adds, so at head
// size 64 it is bound by workgroup memory (GPT-2 124M's attention: 4.3 ms a layer forward and
// backward on an H200, PyTorch's fused kernel 1.9). Needs the `subgroups` feature, in subgroups of
// at least OTHER invocations that are runs of neighbouring local indices (attention.ts checks):
// a row's maximum and sums are gathered across the OTHER invocations that share it by
// subgroupShuffleXor.
//
// Invocation `lane` is (own, other) = (lane / OTHER, lane % OTHER): it owns the workgroup's rows
// own + OWN * i (i < 4) and, of each staged row of the round, rows other + OTHER * j (j < COLS) and
// vec4s other + OTHER * c (c < PARTS) of the head. Rows a stride apart and a staged row of
// HEAD4P + 1 vec4s put the rows a subgroup reads at once in different banks.

enable subgroups;

//! include "include/attention-io.wgsl.inc"

// Specialised to the model by attentionShader() (src/kernels/gpt/attention.ts), which rewrites
// these lines and writes out every loop over 4, COLS or PARTS (specialise.ts's unrollLoops), so that
// the blocks of scores and the sums are registers: no `break` or `continue` in those loops.
const HEAD = 64u;   // the head size C / NH
const HEAD4 = 16u;  // ceil(HEAD / 4)
const ROWS = 32u;   // rows a workgroup owns, and rows staged a round
const COLS = 4u;    // round rows an invocation scores against its 4 own rows: 4, 2 or 1
const HEAD4P = 16u; // HEAD4 rounded up to a multiple of OTHER
// end of specialised constants

const OWN = ROWS / 4u;     // invocations that share a round row (each has 4 own rows)
const OTHER = ROWS / COLS; // invocations that share an own row (each has COLS round rows)
const THREADS = OWN * OTHER;
const PARTS = HEAD4P / OTHER; // vec4s of a row's head vector an invocation owns
const ROW4 = HEAD4P + 1u;      // a staged row, in vec4s (one of padding)
const LOWEST = -3.4e38;
// What a staged row holds (stage_own, stage_round).
const Q = 0u;
const K = 1u;
const V = 2u;
const DY = 3u;
const NOTHING = 4u;

// Own rows (a, b: staged once) and the round's rows (c, d); scores always come from a . c and
// b . d. forward: a q, c k, d v. backward_query: a q, b dy, c k, d v. backward_key_value: a k, b v,
// c q, d dy.
var<workgroup> rows_a: array<vec4<f32>, ROWS * ROW4>;
var<workgroup> rows_b: array<vec4<f32>, ROWS * ROW4>;
var<workgroup> rows_c: array<vec4<f32>, ROWS * ROW4>;
var<workgroup> rows_d: array<vec4<f32>, ROWS * ROW4>;
// A round's probabilities (or their gradients), [round row][own]: the vec4 of own rows
// own + OWN * i, i = 0..3.
var<workgroup> block_a: array<vec4<f32>, ROWS * OWN>;
var<workgroup> block_b: array<vec4<f32>, ROWS * OWN>;
var<workgroup> round_scalars: array<vec2<f32>, ROWS>; // backward_key_value: (lse, delta) of each staged query

fn head4(what: u32, b: u32, t: u32, h: u32, c4: u32) -> vec4<f32> {
  if (what == DY) { return dout4(at_dy(b, t, h), c4); }
  return qkv4(at(b, t, h, what), c4);
}

// Rows first..first+ROWS of `what_a` into rows_a and of `what_b` into rows_b, zeros past T and past the head.
fn stage_own(lane: u32, b: u32, h: u32, first: u32, what_a: u32, what_b: u32) {
  for (var i = lane; i < ROWS * HEAD4P; i += THREADS) {
    let r = i / HEAD4P;
    let c4 = i % HEAD4P;
    let inside = first + r < p.T && c4 < HEAD4;
    rows_a[r * ROW4 + c4] = select(vec4<f32>(), head4(what_a, b, first + r, h, c4), inside);
    if (what_b != NOTHING) { rows_b[r * ROW4 + c4] = select(vec4<f32>(), head4(what_b, b, first + r, h, c4), inside); }
  }
}

// The same into rows_c and rows_d.
fn stage_round(lane: u32, b: u32, h: u32, first: u32, what_c: u32, what_d: u32) {
  for (var i = lane; i < ROWS * HEAD4P; i += THREADS) {
    let r = i / HEAD4P;
    let c4 = i % HEAD4P;
    let inside = first + r < p.T && c4 < HEAD4;
    rows_c[r * ROW4 + c4] = select(vec4<f32>(), head4(what_c, b, first + r, h, c4), inside);
    rows_d[r * ROW4 + c4] = select(vec4<f32>(), head4(what_d, b, first + r, h, c4), inside);
  }
}

// A `var` declared in a loop is zeroed by an explicit initializer: without one it kept the last
// round's values on SwiftShader (Dawn's SPIR-V), though WGSL zeroes it each time it is declared.

// A backward pass's two blocks of products of a round: [i][j] is own row own + OWN * i of rows_a
// (of rows_b) dotted with round row other + OTHER * j of rows_c (of rows_d). The forward needs only
// the first and computes it in place.
struct BlockProducts {
  ac: array<vec4<f32>, 4>,
  bd: array<vec4<f32>, 4>,
}

fn block_products(own: u32, other: u32) -> BlockProducts {
  var products = BlockProducts();
  for (var c4 = 0u; c4 < HEAD4; c4++) {
    var c: array<vec4<f32>, COLS>;
    var d: array<vec4<f32>, COLS>;
    for (var j = 0u; j < COLS; j++) {
      c[j] = rows_c[(other + j * OTHER) * ROW4 + c4];
      d[j] = rows_d[(other + j * OTHER) * ROW4 + c4];
    }
    for (var i = 0u; i < 4u; i++) {
      let a = rows_a[(own + i * OWN) * ROW4 + c4];
      let b = rows_b[(own + i * OWN) * ROW4 + c4];
      for (var j = 0u; j < COLS; j++) {
        products.ac[i][j] += dot(a, c[j]);
        products.bd[i][j] += dot(b, d[j]);
      }
    }
  }
  return products;
}

// The sum (or maximum) of x over the OTHER invocations of a row, the same bits in each of them
// (a + b == b + a). Called in workgroup-uniform control flow only.
fn groups_sum(x: f32) -> f32 {
  var s = x;
  for (var mask = 1u; mask < OTHER; mask <<= 1u) { s += subgroupShuffleXor(s, mask); }
  return s;
}
fn groups_max(x: f32) -> f32 {
  var s = x;
  for (var mask = 1u; mask < OTHER; mask <<= 1u) { s = max(s, subgroupShuffleXor(s, mask)); }
  return s;
}

@compute @workgroup_size(THREADS)
fn forward(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.z;
  let h = group.y;
  let own = lane / OTHER;
  let other = lane % OTHER;
  let first_query = (groups.x - 1u - group.x) * ROWS; // the last rows, which see the most keys, first
  let scale = inverseSqrt(f32(HEAD));
  stage_own(lane, b, h, first_query, Q, NOTHING);
  var acc: array<vec4<f32>, 4u * PARTS>;
  var m = vec4<f32>(LOWEST);
  var l = vec4<f32>(0.0); // this invocation's share of each row's sum
  let last = min(p.T, first_query + ROWS); // keys the workgroup's queries can see
  for (var first = 0u; first < last; first += ROWS) {
    stage_round(lane, b, h, first, K, V);
    workgroupBarrier();
    var s = array<vec4<f32>, 4>(); // [i][j]: q of own row i . k of round row j
    for (var c4 = 0u; c4 < HEAD4; c4++) {
      var k: array<vec4<f32>, COLS>;
      for (var j = 0u; j < COLS; j++) { k[j] = rows_c[(other + j * OTHER) * ROW4 + c4]; }
      for (var i = 0u; i < 4u; i++) {
        let q = rows_a[(own + i * OWN) * ROW4 + c4];
        for (var j = 0u; j < COLS; j++) { s[i][j] += dot(q, k[j]); }
      }
    }
    var w = array<vec4<f32>, 4>();
    for (var i = 0u; i < 4u; i++) {
      let t = first_query + own + i * OWN;
      var row = vec4<f32>(LOWEST);
      for (var j = 0u; j < COLS; j++) {
        if (t < p.T && first + other + j * OTHER <= t) { row[j] = s[i][j] * scale; }
      }
      let m_new = max(m[i], groups_max(max(max(row.x, row.y), max(row.z, row.w))));
      let correction = exp(m[i] - m_new);
      w[i] = select(vec4<f32>(0.0), exp(row - m_new), row > vec4<f32>(LOWEST));
      l[i] = l[i] * correction + (w[i].x + w[i].y + w[i].z + w[i].w);
      for (var c = 0u; c < PARTS; c++) { acc[i * PARTS + c] *= correction; }
      m[i] = m_new;
    }
    for (var j = 0u; j < COLS; j++) { block_a[(other + j * OTHER) * OWN + own] = vec4<f32>(w[0][j], w[1][j], w[2][j], w[3][j]); }
    workgroupBarrier();
    for (var r = 0u; r < ROWS; r++) {
      let pr = block_a[r * OWN + own];
      for (var c = 0u; c < PARTS; c++) {
        let v = rows_d[r * ROW4 + other + c * OTHER];
        for (var i = 0u; i < 4u; i++) { acc[i * PARTS + c] += pr[i] * v; }
      }
    }
    workgroupBarrier();
  }
  var total = vec4<f32>();
  for (var i = 0u; i < 4u; i++) { total[i] = groups_sum(l[i]); } // before any invocation leaves
  for (var i = 0u; i < 4u; i++) {
    let t = first_query + own + i * OWN;
    if (t < p.T) {
      let o = at_dy(b, t, h);
      for (var c = 0u; c < PARTS; c++) {
        let c4 = other + c * OTHER;
        let value = acc[i * PARTS + c] / total[i];
        for (var e = 0u; e < 4u; e++) { if (c4 * 4u + e < HEAD) { out[o + c4 * 4u + e] = value[e]; } }
      }
      if (other == 0u) { lse[row(b, h, t)] = m[i] + log(total[i]); }
    }
  }
}

@compute @workgroup_size(THREADS)
fn backward_query(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.z;
  let h = group.y;
  let own = lane / OTHER;
  let other = lane % OTHER;
  let first_query = (groups.x - 1u - group.x) * ROWS;
  let scale = inverseSqrt(f32(HEAD));
  stage_own(lane, b, h, first_query, Q, DY);
  workgroupBarrier();
  // delta = dy . y of each own row (the softmax's row sum of p * dp), and its lse
  var d = vec4<f32>(0.0);
  var row_lse = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) {
    let t = first_query + own + i * OWN;
    var share = 0.0;
    if (t < p.T) {
      for (var c = 0u; c < PARTS; c++) {
        let c4 = other + c * OTHER;
        if (c4 < HEAD4) { share += dot(rows_b[(own + i * OWN) * ROW4 + c4], y4(at_dy(b, t, h), c4)); }
      }
    }
    d[i] = groups_sum(share);
    if (t < p.T) {
      row_lse[i] = lse[row(b, h, t)];
      if (other == 0u) { delta[row(b, h, t)] = d[i]; }
    }
  }
  var dq: array<vec4<f32>, 4u * PARTS>;
  let last = min(p.T, first_query + ROWS);
  for (var first = 0u; first < last; first += ROWS) {
    stage_round(lane, b, h, first, K, V);
    workgroupBarrier();
    let products = block_products(own, other);
    let s = products.ac;  // [i][j]: q of own row i . k of round row j
    let dp = products.bd; // dy . v
    var ds = array<vec4<f32>, 4>();
    for (var i = 0u; i < 4u; i++) {
      let t = first_query + own + i * OWN;
      for (var j = 0u; j < COLS; j++) {
        let seen = t < p.T && first + other + j * OTHER <= t;
        ds[i][j] = select(0.0, exp(s[i][j] * scale - row_lse[i]) * (dp[i][j] - d[i]) * scale, seen);
      }
    }
    for (var j = 0u; j < COLS; j++) { block_a[(other + j * OTHER) * OWN + own] = vec4<f32>(ds[0][j], ds[1][j], ds[2][j], ds[3][j]); }
    workgroupBarrier();
    for (var r = 0u; r < ROWS; r++) {
      let g = block_a[r * OWN + own];
      for (var c = 0u; c < PARTS; c++) {
        let k = rows_c[r * ROW4 + other + c * OTHER];
        for (var i = 0u; i < 4u; i++) { dq[i * PARTS + c] += g[i] * k; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let t = first_query + own + i * OWN;
    if (t < p.T) {
      for (var c = 0u; c < PARTS; c++) {
        let c4 = other + c * OTHER;
        for (var e = 0u; e < 4u; e++) { if (c4 * 4u + e < HEAD) { gradient_out(at(b, t, h, 0u) + c4 * 4u + e, dq[i * PARTS + c][e]); } }
      }
    }
  }
}

@compute @workgroup_size(THREADS)
fn backward_key_value(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.z;
  let h = group.y;
  let own = lane / OTHER;
  let other = lane % OTHER;
  let first_key = group.x * ROWS; // the first keys, which the most queries see, first
  let scale = inverseSqrt(f32(HEAD));
  stage_own(lane, b, h, first_key, K, V);
  var dk: array<vec4<f32>, 4u * PARTS>;
  var dv: array<vec4<f32>, 4u * PARTS>;
  for (var first = first_key; first < p.T; first += ROWS) {
    stage_round(lane, b, h, first, Q, DY);
    for (var r = lane; r < ROWS; r += THREADS) {
      let t = min(first + r, p.T - 1u); // rows past T are masked out below
      round_scalars[r] = vec2<f32>(lse[row(b, h, t)], delta[row(b, h, t)]);
    }
    workgroupBarrier();
    let products = block_products(own, other);
    let s = products.ac;  // [i][j]: k of own row i . q of round row j
    let dp = products.bd; // v . dy
    var prob = array<vec4<f32>, 4>();
    var ds = array<vec4<f32>, 4>();
    for (var j = 0u; j < COLS; j++) {
      let t = first + other + j * OTHER;
      let scalars = round_scalars[other + j * OTHER];
      for (var i = 0u; i < 4u; i++) {
        let seen = t < p.T && first_key + own + i * OWN <= t;
        prob[i][j] = select(0.0, exp(s[i][j] * scale - scalars.x), seen);
        ds[i][j] = prob[i][j] * (dp[i][j] - scalars.y) * scale;
      }
    }
    for (var j = 0u; j < COLS; j++) {
      block_a[(other + j * OTHER) * OWN + own] = vec4<f32>(prob[0][j], prob[1][j], prob[2][j], prob[3][j]);
      block_b[(other + j * OTHER) * OWN + own] = vec4<f32>(ds[0][j], ds[1][j], ds[2][j], ds[3][j]);
    }
    workgroupBarrier();
    for (var r = 0u; r < ROWS; r++) {
      let pr = block_a[r * OWN + own];
      let g = block_b[r * OWN + own];
      for (var c = 0u; c < PARTS; c++) {
        let q = rows_c[r * ROW4 + other + c * OTHER];
        let dy = rows_d[r * ROW4 + other + c * OTHER];
        for (var i = 0u; i < 4u; i++) {
          dk[i * PARTS + c] += g[i] * q;
          dv[i * PARTS + c] += pr[i] * dy;
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let u = first_key + own + i * OWN;
    if (u < p.T) {
      for (var c = 0u; c < PARTS; c++) {
        let c4 = other + c * OTHER;
        for (var e = 0u; e < 4u; e++) {
          if (c4 * 4u + e < HEAD) {
            gradient_out(at(b, u, h, 1u) + c4 * 4u + e, dk[i * PARTS + c][e]);
            gradient_out(at(b, u, h, 2u) + c4 * 4u + e, dv[i * PARTS + c][e]);
          }
        }
      }
    }
  }
}
