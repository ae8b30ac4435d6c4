// C (M x N) [+]= A (M x K) . B (K x N) [+ bias (N)], every operand a strided view into a bigger
// buffer (offsets and strides in elements), so one kernel serves x.W^T, dY.W and dY^T.X of every
// linear layer, whose weights lie inside the one parameter buffer.
// Tiling (specialised per product size by matmul.ts): a workgroup computes a TILE_M x TILE_N tile
// of C, each invocation THREAD_M x THREAD_N of it as vec4 columns, stepping K by DEPTH through
// tiles of A and B in workgroup memory. An invocation's rows and columns are 4-wide groups strided
// by the workgroup's width, so that the invocations of a subgroup read neighbouring vec4s of the
// B tile and a few broadcast vec4s of the A tile: no bank conflicts in the inner loop, which does
// THREAD_M x THREAD_N multiply-adds for every (THREAD_M + THREAD_N) / 4 loads from workgroup memory.
// The next tiles' values are loaded from global memory into registers while the current ones are
// multiplied (register double-buffering), so the loads' latency hides behind the arithmetic.
// Wide loads: A and B are bound as vec4s. Where an operand's offset and its non-unit stride are
// multiples of 4 (matmul.ts checks, and sets A_LAYOUT / B_LAYOUT), an invocation loads four
// neighbouring values of its unit-stride axis at once: a quarter of the loads, of their address
// arithmetic and of their bounds checks. Otherwise it loads one value at a time out of a vec4.
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
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

// How an operand is loaded (pipeline constants, matmul.ts): ONE_BY_ONE, or four values at once
// along its unit-stride axis, ALONG_K (A as (M, K) rows, B as (N, K) rows) or ALONG_MN (A stored
// (K, M), B (K, N)).
const ONE_BY_ONE = 0u;
const ALONG_K = 1u;
const ALONG_MN = 2u;
override A_LAYOUT: u32 = ONE_BY_ONE;
override B_LAYOUT: u32 = ONE_BY_ONE;

const TILE_M = 64u;
const TILE_N = 64u;
const THREAD_M = 4u;
const THREAD_N = 4u;
const DEPTH = 16u;
const PAD = 0u; // vec4s of padding a row of the tiles (below)
const BAND = 1u; // rows of tiles a band (tile_of, below)
// end of specialised constants
const THREADS_M = TILE_M / THREAD_M;
const THREADS_N = TILE_N / THREAD_N;
const THREADS = THREADS_M * THREADS_N;
const GROUPS_M = THREAD_M / 4u; // an invocation's rows, in groups of 4
const GROUPS_N = THREAD_N / 4u;
const LOADS_A = TILE_M * DEPTH / THREADS; // values of A (and B) each invocation stages a step
const LOADS_B = TILE_N * DEPTH / THREADS;
const VECS_A = LOADS_A / 4u; // the same, as vec4s
const VECS_B = LOADS_B / 4u;

// [k][m / 4] and [k][n / 4]: 4 rows (columns) of one k in one vec4. With padding, where
// neighbouring invocations stage neighbouring k (an operand whose k-stride is 1), their stores
// fall in different banks rather than all in one.
var<workgroup> tile_a: array<array<vec4<f32>, TILE_M / 4u + PAD>, DEPTH>;
var<workgroup> tile_b: array<array<vec4<f32>, TILE_N / 4u + PAD>, DEPTH>;

fn a_at(i: u32) -> f32 { return a[i / 4u][i % 4u]; }
fn b_at(i: u32) -> f32 { return b[i / 4u][i % 4u]; }

// Where the `flat`-th value a step stages one by one lies in a tile: neighbouring invocations take
// neighbouring addresses, along k where the operand's k-stride is 1, else along m (or n).
fn tile_index(flat: u32, extent: u32, k_fastest: bool) -> vec2<u32> { // (k, m or n)
  return select(vec2<u32>(flat / extent, flat % extent), vec2<u32>(flat % DEPTH, flat / DEPTH), k_fastest);
}

// Where the `flat`-th vec4 a step stages lies in a tile: (k, m or n) of its first value, with
// neighbouring invocations on neighbouring vec4s of memory.
fn vec_index(flat: u32, extent: u32, along_k: bool) -> vec2<u32> {
  return select(vec2<u32>(flat / (extent / 4u), flat % (extent / 4u) * 4u), vec2<u32>(flat % (DEPTH / 4u) * 4u, flat / (DEPTH / 4u)), along_k);
}

// The `flat`-th vec4 of A's tile at row0, k0: four k of one row (ALONG_K) or four rows of one k,
// zero past k_end (a multiple of 4 when ALONG_K: matmul.ts checks). Rows past M are left as read:
// they reach only rows of C that are never stored, and WebGPU's robust access keeps the read inside
// the buffer. Past k_end they would reach every row, even as NaN times zero.
fn a_vec(row0: u32, k0: u32, k_end: u32, flat: u32) -> vec4<f32> {
  let at = vec_index(flat, TILE_M, A_LAYOUT == ALONG_K);
  let m = row0 + at.y;
  let k = k0 + at.x;
  let value = a[(p.a_offset + m * p.a_stride_m + k * p.a_stride_k) / 4u];
  return select(vec4<f32>(), value, k < k_end);
}

fn b_vec(col0: u32, k0: u32, k_end: u32, flat: u32) -> vec4<f32> {
  let at = vec_index(flat, TILE_N, B_LAYOUT == ALONG_K);
  let n = col0 + at.y;
  let k = k0 + at.x;
  let value = b[(p.b_offset + k * p.b_stride_k + n * p.b_stride_n) / 4u];
  return select(vec4<f32>(), value, k < k_end);
}

fn a_value(row0: u32, k0: u32, k_end: u32, flat: u32) -> f32 {
  let at = tile_index(flat, TILE_M, p.a_stride_k == 1u);
  let m = row0 + at.y;
  let k = k0 + at.x;
  return select(0.0, a_at(p.a_offset + m * p.a_stride_m + k * p.a_stride_k), m < p.M && k < k_end);
}

fn b_value(col0: u32, k0: u32, k_end: u32, flat: u32) -> f32 {
  let at = tile_index(flat, TILE_N, p.b_stride_n != 1u);
  let n = col0 + at.y;
  let k = k0 + at.x;
  return select(0.0, b_at(p.b_offset + k * p.b_stride_k + n * p.b_stride_n), n < p.N && k < k_end);
}

// A staged vec4 into its tile: four k of one row or column go to four rows of the tile (a
// transpose), four rows or columns of one k to one vec4 of it.
fn put_a(flat: u32, value: vec4<f32>) {
  let at = vec_index(flat, TILE_M, A_LAYOUT == ALONG_K);
  if (A_LAYOUT == ALONG_K) {
    for (var i = 0u; i < 4u; i++) { tile_a[at.x + i][at.y / 4u][at.y % 4u] = value[i]; }
  } else {
    tile_a[at.x][at.y / 4u] = value;
  }
}

fn put_b(flat: u32, value: vec4<f32>) {
  let at = vec_index(flat, TILE_N, B_LAYOUT == ALONG_K);
  if (B_LAYOUT == ALONG_K) {
    for (var i = 0u; i < 4u; i++) { tile_b[at.x + i][at.y / 4u][at.y % 4u] = value[i]; }
  } else {
    tile_b[at.x][at.y / 4u] = value;
  }
}

// The tile of C (its column and row among the tiles) that workgroup `group` of `grid` computes. The
// GPU starts workgroups about in the order of their index, x fastest, so the few hundred running at
// once lie in one or two rows of tiles: together they read a few rows of A and all of B's columns.
// Where B does not fit in the L2 cache (GPT-2's head: 154 MB of token embeddings), every row of
// tiles reads all of it from memory again. In bands of BAND rows, consecutive workgroups go down a
// band's column before the next column: the workgroups running at once cover about a square of
// tiles, reading BAND rows of A and a few columns of B.
fn tile_of(group: vec2<u32>, grid: vec2<u32>) -> vec2<u32> {
  if (BAND == 1u) { return group; }
  let id = group.y * grid.x + group.x;
  let first_row = id / (BAND * grid.x) * BAND;
  let rows = min(BAND, grid.y - first_row); // fewer in the last band
  let in_band = id % (BAND * grid.x);
  return vec2<u32>(in_band / rows, first_row + in_band % rows);
}

@compute @workgroup_size(THREADS_N, THREADS_M)
fn matmul(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let tile = tile_of(group.xy, grid.xy);
  let row0 = tile.y * TILE_M;
  let col0 = tile.x * TILE_N;
  let lane = local.y * THREADS_N + local.x;
  let k_begin = group.z * p.k_chunk;
  let k_end = min(p.K, k_begin + p.k_chunk);
  let a_k_fastest = p.a_stride_k == 1u;
  let b_k_fastest = p.b_stride_n != 1u;
  // acc[(r * 4 + i) * GROUPS_N + g]: row (r * THREADS_M + local.y) * 4 + i, columns (g * THREADS_N + local.x) * 4 + 0..3
  var acc: array<vec4<f32>, THREAD_M * GROUPS_N>;
  var staged_a: array<f32, LOADS_A>;
  var staged_b: array<f32, LOADS_B>;
  var staged_a4: array<vec4<f32>, VECS_A>;
  var staged_b4: array<vec4<f32>, VECS_B>;
  // The first tiles' staging here and the next ones' in the loop are written out twice on
  // purpose: one helper taking the staged arrays as ptr<function> ran 4096^3 in 4.63 ms against
  // 3.68 on the H200 (Dawn, Vulkan; a guess: the arrays left registers for local memory).
  if (A_LAYOUT == ONE_BY_ONE) {
    for (var i = 0u; i < LOADS_A; i++) { staged_a[i] = a_value(row0, k_begin, k_end, lane + i * THREADS); }
  } else {
    for (var i = 0u; i < VECS_A; i++) { staged_a4[i] = a_vec(row0, k_begin, k_end, lane + i * THREADS); }
  }
  if (B_LAYOUT == ONE_BY_ONE) {
    for (var i = 0u; i < LOADS_B; i++) { staged_b[i] = b_value(col0, k_begin, k_end, lane + i * THREADS); }
  } else {
    for (var i = 0u; i < VECS_B; i++) { staged_b4[i] = b_vec(col0, k_begin, k_end, lane + i * THREADS); }
  }
  for (var k0 = k_begin; k0 < k_end; k0 += DEPTH) {
    if (A_LAYOUT == ONE_BY_ONE) {
      for (var i = 0u; i < LOADS_A; i++) { let at = tile_index(lane + i * THREADS, TILE_M, a_k_fastest); tile_a[at.x][at.y / 4u][at.y % 4u] = staged_a[i]; }
    } else {
      for (var i = 0u; i < VECS_A; i++) { put_a(lane + i * THREADS, staged_a4[i]); }
    }
    if (B_LAYOUT == ONE_BY_ONE) {
      for (var i = 0u; i < LOADS_B; i++) { let at = tile_index(lane + i * THREADS, TILE_N, b_k_fastest); tile_b[at.x][at.y / 4u][at.y % 4u] = staged_b[i]; }
    } else {
      for (var i = 0u; i < VECS_B; i++) { put_b(lane + i * THREADS, staged_b4[i]); }
    }
    workgroupBarrier();
    let next = k0 + DEPTH;
    if (next < k_end) {
      if (A_LAYOUT == ONE_BY_ONE) {
        for (var i = 0u; i < LOADS_A; i++) { staged_a[i] = a_value(row0, next, k_end, lane + i * THREADS); }
      } else {
        for (var i = 0u; i < VECS_A; i++) { staged_a4[i] = a_vec(row0, next, k_end, lane + i * THREADS); }
      }
      if (B_LAYOUT == ONE_BY_ONE) {
        for (var i = 0u; i < LOADS_B; i++) { staged_b[i] = b_value(col0, next, k_end, lane + i * THREADS); }
      } else {
        for (var i = 0u; i < VECS_B; i++) { staged_b4[i] = b_vec(col0, next, k_end, lane + i * THREADS); }
      }
    }
    // begin multiply-adds (matmul_shader.ts can write them out with constant indices)
    for (var kk = 0u; kk < DEPTH; kk++) {
      for (var g = 0u; g < GROUPS_N; g++) {
        let bv = tile_b[kk][g * THREADS_N + local.x];
        for (var r = 0u; r < GROUPS_M; r++) {
          let av = tile_a[kk][r * THREADS_M + local.y];
          for (var i = 0u; i < 4u; i++) { acc[(r * 4u + i) * GROUPS_N + g] += av[i] * bv; }
        }
      }
    }
    // end multiply-adds
    workgroupBarrier();
  }
  // begin stores
  for (var r = 0u; r < GROUPS_M; r++) {
    for (var i = 0u; i < 4u; i++) {
      for (var g = 0u; g < GROUPS_N; g++) {
        store4(row0 + (r * THREADS_M + local.y) * 4u + i, col0 + (g * THREADS_N + local.x) * 4u, group.z, acc[(r * 4u + i) * GROUPS_N + g]);
      }
    }
  }
  // end stores
}

// Four sums of row m, columns n0 .. n0 + 3 (those inside C): to C, or to the scratch when split.
fn store4(m: u32, n0: u32, chunk: u32, sums: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + j;
    if (n >= p.N) { return; }
    if (p.splits > 1u) { c[(chunk * p.M + m) * p.N + n] = sums[j]; } else { store(m, n, sums[j]); }
  }
}

fn store(m: u32, n: u32, sum: f32) {
  var value = sum;
  if (p.has_bias == 1u) { value += bias[p.bias_offset + n]; }
  let at = p.c_offset + m * p.c_stride_m + n;
  if (p.accumulate == 1u) { value += c[at]; }
  c[at] = value;
}

// The second pass of a split-K product: a is the scratch of `splits` partial (M, N) results. A
// workgroup takes 64 neighbouring entries of C, each of its four rows of invocations every fourth
// chunk, two chunks a step (two loads in flight); then the four rows' sums are added in a fixed
// order. (One invocation an entry, all chunks in one chain of dependent loads, spent 18 us a
// launch on the H200 for products a thousandth of a millisecond of arithmetic.)
var<workgroup> split_sums: array<f32, 256>;

@compute @workgroup_size(64, 4)
fn reduce_splits(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let size = p.M * p.N;
  let i = (group.y * grid.x + group.x) * 64u + local.x;
  var sums = vec2<f32>(0.0);
  if (i < size) {
    var s = local.y;
    for (; s + 4u < p.splits; s += 8u) { sums += vec2<f32>(a_at(s * size + i), a_at((s + 4u) * size + i)); }
    if (s < p.splits) { sums.x += a_at(s * size + i); }
  }
  split_sums[local.y * 64u + local.x] = sums.x + sums.y;
  workgroupBarrier();
  if (local.y == 0u && i < size) {
    store(i / p.N, i % p.N, split_sums[local.x] + split_sums[64u + local.x] + split_sums[128u + local.x] + split_sums[192u + local.x]);
  }
}
