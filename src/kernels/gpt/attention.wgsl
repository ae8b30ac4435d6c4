// Causal multi-head attention, tiled in the manner of FlashAttention: no (T x T) matrix is ever
// stored. qkv (B, T, 3C): q, k, v side by side; out (B, T, C).
//   forward: a workgroup owns QUERIES queries of one (b, h); SPLIT threads share each query, each
//     walking every SPLIT-th key of the blocks staged in workgroup memory with its own online
//     softmax; the SPLIT partial softmaxes are merged at the end. Keeps each query's
//     log-sum-exp (lse) for backward.
//   backward_query: recomputes each probability from lse; delta = dy . y (the softmax's row sum
//     of p * dp), kept for backward_key_value; dq = sum_u dpre k, split and summed likewise.
//   backward_key_value: a workgroup owns QUERIES keys and walks the queries t >= u:
//     dk = sum_t dpre q, dv = sum_t p dy.
// with p = softmax(q k / sqrt(hs)), dp = dy . v, dpre = p (dp - delta) / sqrt(hs).
//
// The backward passes read each staged row into registers once, for both their dot products and
// their sums: reading it twice took 0.61 ms a layer of backward at the paper's shape on the H200,
// once 0.52 (bench/gpu_training/h200-table-dec1-s22/).
//
// Why this shape: at the paper's size (head size 16, context 512) one thread per query left the
// GPU half empty and each thread a long serial chain; splitting the key walk gives SPLIT times the
// threads and shortens each chain by as much.

//! include "include/attention-io.wgsl.inc"

// Specialised to the model by attentionShader() (src/kernels/gpt/attention.ts), which rewrites
// these lines: with the head size a constant, each thread's vectors unroll into registers.
const HEAD = 16u;    // the head size C / NH
const HEAD4 = 4u;    // ceil(HEAD / 4): a head vector as vec4s, zero-padded
const QUERIES = 32u; // rows (queries; keys in backward_key_value) a workgroup owns
const SPLIT = 4u;    // threads that share one row's walk over the other side
const BLOCK = 32u;   // rows staged in workgroup memory per round
// end of specialised constants

const PER = BLOCK / SPLIT; // rows of a staged block each thread takes
const THREADS = QUERIES * SPLIT;
const LOWEST = -3.4e38;

// One workgroup array serves two phases: while walking, two staged blocks of BLOCK rows and a vec4
// of scalars (lse, delta) a row; while merging, a partial head vector a row and its (m, l).
const STAGE_B = BLOCK * HEAD4;
const STAGE_SCALARS = 2u * BLOCK * HEAD4;
const MERGE_SCALARS = QUERIES * HEAD4;
const SHARED = max(2u * BLOCK * HEAD4 + BLOCK, QUERIES * HEAD4 + QUERIES);
var<workgroup> shared_rows: array<vec4<f32>, SHARED>;

// Stages rows first..first+BLOCK: part_a of qkv into the first block, part_b (or dy) into the
// second, zeros past T.
fn stage(lane: u32, b: u32, h: u32, first: u32, part_a: u32, part_b: u32, b_is_dy: bool) {
  for (var i = lane; i < BLOCK * HEAD4; i += THREADS) {
    let j = i / HEAD4;
    let c4 = i % HEAD4;
    let t = first + j;
    var a = vec4<f32>(0.0);
    var v = vec4<f32>(0.0);
    if (t < p.T) {
      a = qkv4(at(b, t, h, part_a), c4);
      if (b_is_dy) { v = dout4(at_dy(b, t, h), c4); } else { v = qkv4(at(b, t, h, part_b), c4); }
    }
    shared_rows[i] = a;
    shared_rows[STAGE_B + i] = v;
  }
}

fn dot_head(a: ptr<function, array<vec4<f32>, HEAD4>>, j: u32, offset: u32) -> f32 {
  var s = 0.0;
  for (var c4 = 0u; c4 < HEAD4; c4++) { s += dot((*a)[c4], shared_rows[offset + j * HEAD4 + c4]); }
  return s;
}

// Sums each row's SPLIT partial vectors into split 0's, one split at a time through workgroup memory.
fn merge_sum(split: u32, qi: u32, v: ptr<function, array<vec4<f32>, HEAD4>>) {
  for (var r = 1u; r < SPLIT; r++) {
    if (split == r) { for (var c4 = 0u; c4 < HEAD4; c4++) { shared_rows[qi * HEAD4 + c4] = (*v)[c4]; } }
    workgroupBarrier();
    if (split == 0u) { for (var c4 = 0u; c4 < HEAD4; c4++) { (*v)[c4] += shared_rows[qi * HEAD4 + c4]; } }
    workgroupBarrier();
  }
}

@compute @workgroup_size(THREADS)
fn forward(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.z;
  let h = group.y;
  let qi = lane % QUERIES;
  let split = lane / QUERIES;
  let t = group.x * QUERIES + qi;
  let valid = t < p.T;
  var q: array<vec4<f32>, HEAD4>;
  var acc: array<vec4<f32>, HEAD4>;
  let scale = inverseSqrt(f32(HEAD));
  if (valid) { for (var c4 = 0u; c4 < HEAD4; c4++) { q[c4] = qkv4(at(b, t, h, 0u), c4) * scale; } }
  var m = LOWEST;
  var l = 0.0;
  let last = min(p.T, group.x * QUERIES + QUERIES); // keys the workgroup's queries can see
  for (var first = 0u; first < last; first += BLOCK) {
    stage(lane, b, h, first, 1u, 2u, false);
    workgroupBarrier();
    // Scores of this thread's keys first, then one rescale of the running sums for all of them.
    var s: array<f32, PER>;
    var block_max = LOWEST;
    for (var i = 0u; i < PER; i++) {
      let j = split + SPLIT * i;
      s[i] = select(LOWEST, dot_head(&q, j, 0u), valid && first + j <= t);
      block_max = max(block_max, s[i]);
    }
    if (block_max > LOWEST) {
      let m_new = max(m, block_max);
      let correction = exp(m - m_new);
      l *= correction;
      for (var c4 = 0u; c4 < HEAD4; c4++) { acc[c4] *= correction; }
      for (var i = 0u; i < PER; i++) {
        let j = split + SPLIT * i;
        let w = select(0.0, exp(s[i] - m_new), s[i] > LOWEST);
        l += w;
        for (var c4 = 0u; c4 < HEAD4; c4++) { acc[c4] += w * shared_rows[STAGE_B + j * HEAD4 + c4]; }
      }
      m = m_new;
    }
    workgroupBarrier();
  }
  // Merge the partial softmaxes (m, l, acc) of the SPLIT threads of each query into split 0's.
  for (var r = 1u; r < SPLIT; r++) {
    if (split == r) {
      for (var c4 = 0u; c4 < HEAD4; c4++) { shared_rows[qi * HEAD4 + c4] = acc[c4]; }
      shared_rows[MERGE_SCALARS + qi] = vec4<f32>(m, l, 0.0, 0.0);
    }
    workgroupBarrier();
    if (split == 0u) {
      let other = shared_rows[MERGE_SCALARS + qi];
      let m_new = max(m, other.x);
      let mine = exp(m - m_new);
      let theirs = exp(other.x - m_new);
      l = l * mine + other.y * theirs;
      for (var c4 = 0u; c4 < HEAD4; c4++) { acc[c4] = acc[c4] * mine + shared_rows[qi * HEAD4 + c4] * theirs; }
      m = m_new;
    }
    workgroupBarrier();
  }
  if (valid && split == 0u) {
    let o = at_dy(b, t, h);
    for (var c4 = 0u; c4 < HEAD4; c4++) {
      let v = acc[c4] / l;
      for (var i = 0u; i < 4u; i++) { if (c4 * 4u + i < HEAD) { out[o + c4 * 4u + i] = v[i]; } }
    }
    lse[row(b, h, t)] = m + log(l);
  }
}

@compute @workgroup_size(THREADS)
fn backward_query(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.z;
  let h = group.y;
  let qi = lane % QUERIES;
  let split = lane / QUERIES;
  let t = group.x * QUERIES + qi;
  let valid = t < p.T;
  let scale = inverseSqrt(f32(HEAD));
  var q: array<vec4<f32>, HEAD4>;
  var dy: array<vec4<f32>, HEAD4>;
  var dq: array<vec4<f32>, HEAD4>;
  var d = 0.0;
  var lse_t = 0.0;
  if (valid) {
    let o = at_dy(b, t, h);
    for (var c4 = 0u; c4 < HEAD4; c4++) {
      q[c4] = qkv4(at(b, t, h, 0u), c4) * scale;
      dy[c4] = dout4(o, c4);
      d += dot(dy[c4], y4(o, c4));
    }
    lse_t = lse[row(b, h, t)];
    if (split == 0u) { delta[row(b, h, t)] = d; }
  }
  let last = min(p.T, group.x * QUERIES + QUERIES);
  for (var first = 0u; first < last; first += BLOCK) {
    stage(lane, b, h, first, 1u, 2u, false);
    workgroupBarrier();
    for (var i = 0u; i < PER; i++) {
      let j = split + SPLIT * i;
      if (valid && first + j <= t) {
        var key: array<vec4<f32>, HEAD4>;
        var s = 0.0;
        var dp = 0.0;
        for (var c4 = 0u; c4 < HEAD4; c4++) {
          key[c4] = shared_rows[j * HEAD4 + c4];
          s += dot(q[c4], key[c4]);
          dp += dot(dy[c4], shared_rows[STAGE_B + j * HEAD4 + c4]);
        }
        let pre = exp(s - lse_t) * (dp - d) * scale;
        for (var c4 = 0u; c4 < HEAD4; c4++) { dq[c4] += pre * key[c4]; }
      }
    }
    workgroupBarrier();
  }
  merge_sum(split, qi, &dq);
  if (valid && split == 0u) {
    let o = at(b, t, h, 0u);
    for (var c4 = 0u; c4 < HEAD4; c4++) {
      for (var i = 0u; i < 4u; i++) { if (c4 * 4u + i < HEAD) { gradient_out(o + c4 * 4u + i, dq[c4][i]); } }
    }
  }
}

@compute @workgroup_size(THREADS)
fn backward_key_value(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.z;
  let h = group.y;
  let ki = lane % QUERIES;
  let split = lane / QUERIES;
  let u = group.x * QUERIES + ki;
  let valid = u < p.T;
  let scale = inverseSqrt(f32(HEAD));
  var k: array<vec4<f32>, HEAD4>;
  var v: array<vec4<f32>, HEAD4>;
  var dk: array<vec4<f32>, HEAD4>;
  var dv: array<vec4<f32>, HEAD4>;
  if (valid) { for (var c4 = 0u; c4 < HEAD4; c4++) { k[c4] = qkv4(at(b, u, h, 1u), c4) * scale; v[c4] = qkv4(at(b, u, h, 2u), c4); } }
  for (var first = group.x * QUERIES; first < p.T; first += BLOCK) {
    stage(lane, b, h, first, 0u, 0u, true); // queries, and dy
    if (lane < BLOCK && first + lane < p.T) {
      shared_rows[STAGE_SCALARS + lane] = vec4<f32>(lse[row(b, h, first + lane)], delta[row(b, h, first + lane)], 0.0, 0.0);
    }
    workgroupBarrier();
    for (var i = 0u; i < PER; i++) {
      let j = split + SPLIT * i;
      let t = first + j;
      if (valid && t < p.T && t >= u) {
        var query: array<vec4<f32>, HEAD4>;
        var grad: array<vec4<f32>, HEAD4>;
        var s = 0.0;
        var dp = 0.0;
        for (var c4 = 0u; c4 < HEAD4; c4++) {
          query[c4] = shared_rows[j * HEAD4 + c4];
          grad[c4] = shared_rows[STAGE_B + j * HEAD4 + c4];
          s += dot(k[c4], query[c4]);
          dp += dot(v[c4], grad[c4]);
        }
        let scalars = shared_rows[STAGE_SCALARS + j];
        let prob = exp(s - scalars.x);
        let pre = prob * (dp - scalars.y) * scale;
        for (var c4 = 0u; c4 < HEAD4; c4++) {
          dk[c4] += pre * query[c4];
          dv[c4] += prob * grad[c4];
        }
      }
    }
    workgroupBarrier();
  }
  merge_sum(split, ki, &dk);
  merge_sum(split, ki, &dv);
  if (valid && split == 0u) {
    let ok = at(b, u, h, 1u);
    let ov = at(b, u, h, 2u);
    for (var c4 = 0u; c4 < HEAD4; c4++) {
      for (var i = 0u; i < 4u; i++) {
        if (c4 * 4u + i < HEAD) {
          gradient_out(ok + c4 * 4u + i, dk[c4][i]);
          gradient_out(ov + c4 * 4u + i, dv[c4][i]);
        }
      }
    }
  }
}
