// C (M x N) [+]= A (M x K) . B (K x N) [+ bias (N)], every operand a strided view into a bigger
// buffer (offsets and strides in elements), so one kernel serves x.W^T, dY.W and dY^T.X of every
// linear layer, whose weights lie inside the one parameter buffer.
// Tiling: a workgroup of 16 x 16 invocations computes a 64 x 64 tile of C, each invocation 4 x 4
// of it, stepping K by 16 through tiles of A and B held in workgroup memory.

struct Params {
  M: u32, N: u32, K: u32, accumulate: u32,
  a_offset: u32, a_stride_m: u32, a_stride_k: u32, has_bias: u32,
  b_offset: u32, b_stride_k: u32, b_stride_n: u32, bias_offset: u32,
  c_offset: u32, c_stride_m: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

const TILE = 64u;
const STEP = 16u;
var<workgroup> tile_a: array<array<f32, 64>, 16>; // [k][m]
var<workgroup> tile_b: array<array<f32, 64>, 16>; // [k][n]

@compute @workgroup_size(16, 16)
fn matmul(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let row0 = group.y * TILE;
  let col0 = group.x * TILE;
  let lane = local.y * 16u + local.x; // 0..255
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += STEP) {
    // 64 x 16 values of A and 16 x 64 of B: four each per invocation.
    for (var i = 0u; i < 4u; i++) {
      let flat = lane + i * 256u;
      let kk = flat % STEP;
      let mm = flat / STEP;
      let m = row0 + mm;
      let k = k0 + kk;
      tile_a[kk][mm] = select(0.0, a[p.a_offset + m * p.a_stride_m + k * p.a_stride_k], m < p.M && k < p.K);
      let nn = flat % TILE;
      let kb = flat / TILE;
      let n = col0 + nn;
      let kb_global = k0 + kb;
      tile_b[kb][nn] = select(0.0, b[p.b_offset + kb_global * p.b_stride_k + n * p.b_stride_n], n < p.N && kb_global < p.K);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < STEP; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        av[i] = tile_a[kk][local.y * 4u + i];
        bv[i] = tile_b[kk][local.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] += av[i] * bv[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = row0 + local.y * 4u + i;
    if (m >= p.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = col0 + local.x * 4u + j;
      if (n >= p.N) { continue; }
      var value = acc[i][j];
      if (p.has_bias == 1u) { value += bias[p.bias_offset + n]; }
      let at = p.c_offset + m * p.c_stride_m + n;
      if (p.accumulate == 1u) { value += c[at]; }
      c[at] = value;
    }
  }
}
