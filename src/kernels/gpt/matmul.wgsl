// C (M x N) [+]= A (M x K) . B (K x N) [+ bias (N)], every operand a strided view into a bigger
// buffer (offsets and strides in elements), so one kernel serves x.W^T, dY.W and dY^T.X of every
// linear layer, whose weights lie inside the one parameter buffer.
// Tiling: a workgroup of 16 x 16 invocations computes a 64 x 64 tile of C, each invocation 4 x 4
// of it, stepping K by 16 through tiles of A and B held in workgroup memory.
// Split K: a weight gradient is a small C (out x in) over a long K (every position of the batch),
// too few tiles to fill a GPU. Then workgroup z takes K's chunk z and writes its partial C to a
// scratch buffer (as c, plain (M, N)), and reduce_splits sums the chunks into the real C.

struct Params {
  M: u32, N: u32, K: u32, accumulate: u32,
  a_offset: u32, a_stride_m: u32, a_stride_k: u32, has_bias: u32,
  b_offset: u32, b_stride_k: u32, b_stride_n: u32, bias_offset: u32,
  c_offset: u32, c_stride_m: u32, k_chunk: u32, splits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

const TILE = 64u;
const STEP = 16u;
// [k][m / 4] and [k][n / 4]: an invocation's 4 rows (columns) are one vec4, read in one load
var<workgroup> tile_a: array<array<vec4<f32>, 16>, 16>;
var<workgroup> tile_b: array<array<vec4<f32>, 16>, 16>;

@compute @workgroup_size(16, 16)
fn matmul(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let row0 = group.y * TILE;
  let col0 = group.x * TILE;
  let lane = local.y * 16u + local.x; // 0..255
  let k_begin = group.z * p.k_chunk;
  let k_end = min(p.K, k_begin + p.k_chunk);
  var acc: array<vec4<f32>, 4>; // rows local.y * 4 + i, columns local.x * 4 .. + 3
  for (var k0 = k_begin; k0 < k_end; k0 += STEP) {
    // 64 x 16 values of A and 16 x 64 of B: four each per invocation. Neighbouring invocations
    // take neighbouring addresses: along k where A's k-stride is 1, else along m (and so for B).
    let a_k_fastest = p.a_stride_k == 1u;
    let b_n_fastest = p.b_stride_n == 1u;
    for (var i = 0u; i < 4u; i++) {
      let flat = lane + i * 256u;
      let kk = select(flat / TILE, flat % STEP, a_k_fastest);
      let mm = select(flat % TILE, flat / STEP, a_k_fastest);
      let m = row0 + mm;
      let k = k0 + kk;
      tile_a[kk][mm / 4u][mm % 4u] = select(0.0, a[p.a_offset + m * p.a_stride_m + k * p.a_stride_k], m < p.M && k < k_end);
      let nn = select(flat / STEP, flat % TILE, b_n_fastest);
      let kb = select(flat % STEP, flat / TILE, b_n_fastest);
      let n = col0 + nn;
      let kb_global = k0 + kb;
      tile_b[kb][nn / 4u][nn % 4u] = select(0.0, b[p.b_offset + kb_global * p.b_stride_k + n * p.b_stride_n], n < p.N && kb_global < k_end);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < STEP; kk++) {
      let av = tile_a[kk][local.y];
      let bv = tile_b[kk][local.x];
      for (var i = 0u; i < 4u; i++) { acc[i] += av[i] * bv; }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = row0 + local.y * 4u + i;
    if (m >= p.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = col0 + local.x * 4u + j;
      if (n >= p.N) { continue; }
      if (p.splits > 1u) { c[(group.z * p.M + m) * p.N + n] = acc[i][j]; } else { store(m, n, acc[i][j]); }
    }
  }
}

fn store(m: u32, n: u32, sum: f32) {
  var value = sum;
  if (p.has_bias == 1u) { value += bias[p.bias_offset + n]; }
  let at = p.c_offset + m * p.c_stride_m + n;
  if (p.accumulate == 1u) { value += c[at]; }
  c[at] = value;
}

// The second pass of a split-K product: a is the scratch of `splits` partial (M, N) results.
@compute @workgroup_size(256)
fn reduce_splits(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = id.y * grid.x * 256u + id.x;
  if (i >= p.M * p.N) { return; }
  var sum = 0.0;
  for (var s = 0u; s < p.splits; s++) { sum += a[s * p.M * p.N + i]; }
  store(i / p.N, i % p.N, sum);
}
