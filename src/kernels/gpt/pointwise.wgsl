// Elementwise layers and the small reductions of a training step.
//   gelu / gelu_backward: GELU, tanh approximation (GPT-2's); the gradient added into out, or
//     written where the layer is the first to reach it (accumulate 0: no clear, no read of zeros);
//   add: out = x + y (the residual); add_into: out[offset + i] += x[i];
//   column_sums_*: out[offset + c] += the sum of x's rows (n of them, width wide) at c (a bias's gradient).
// One invocation an element (four for gelu, gelu_backward and add), in a 2-D grid of 256-wide
// workgroups (65535 per dimension at most).

struct Params { n: u32, accumulate: u32, offset: u32, width: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const GELU_SCALE = 0.7978845608028654;

fn index(id: vec3<u32>, grid: vec3<u32>) -> u32 { return id.y * grid.x * 256u + id.x; }

// gelu, gelu_backward and add take four elements an invocation, a launch's width (its invocations)
// apart: each subgroup's loads stay neighbouring, and each invocation has four in flight rather
// than one. (One an invocation, GELU ran at 1.1 TB/s on the H200, whose memory gives 4.8: one
// load in flight an invocation cannot fill it.)
fn elements(id: vec3<u32>, grid: vec3<u32>) -> vec4<u32> {
  let i = index(id, grid);
  let width = grid.x * grid.y * 256u;
  return vec4<u32>(i, i + width, i + 2u * width, i + 3u * width);
}

fn x4(at: vec4<u32>) -> vec4<f32> {
  var v = vec4<f32>();
  if (at.x < p.n) { v.x = x[at.x]; }
  if (at.y < p.n) { v.y = x[at.y]; }
  if (at.z < p.n) { v.z = x[at.z]; }
  if (at.w < p.n) { v.w = x[at.w]; }
  return v;
}

fn y4(at: vec4<u32>) -> vec4<f32> {
  var v = vec4<f32>();
  if (at.x < p.n) { v.x = y[at.x]; }
  if (at.y < p.n) { v.y = y[at.y]; }
  if (at.z < p.n) { v.z = y[at.z]; }
  if (at.w < p.n) { v.w = y[at.w]; }
  return v;
}

fn out4(at: vec4<u32>) -> vec4<f32> {
  var v = vec4<f32>();
  if (at.x < p.n) { v.x = out[at.x]; }
  if (at.y < p.n) { v.y = out[at.y]; }
  if (at.z < p.n) { v.z = out[at.z]; }
  if (at.w < p.n) { v.w = out[at.w]; }
  return v;
}

fn store4(at: vec4<u32>, v: vec4<f32>) {
  if (at.x < p.n) { out[at.x] = v.x; }
  if (at.y < p.n) { out[at.y] = v.y; }
  if (at.z < p.n) { out[at.z] = v.z; }
  if (at.w < p.n) { out[at.w] = v.w; }
}

@compute @workgroup_size(256)
fn gelu(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let at = elements(id, grid);
  let v = x4(at);
  store4(at, 0.5 * v * (1.0 + tanh(clamp(GELU_SCALE * (v + 0.044715 * v * v * v), vec4<f32>(-15.0), vec4<f32>(15.0)))));
}

// out (+)= dL/dx, with x the GELU's input and y the gradient of its output.
@compute @workgroup_size(256)
fn gelu_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let at = elements(id, grid);
  let v = x4(at);
  let dy = y4(at);
  let th = tanh(clamp(GELU_SCALE * (v + 0.044715 * v * v * v), vec4<f32>(-15.0), vec4<f32>(15.0))); // clamped: some drivers overflow tanh
  let du = GELU_SCALE * (1.0 + 3.0 * 0.044715 * v * v);
  let gradient = dy * (0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * du);
  if (p.accumulate == 1u) { store4(at, out4(at) + gradient); } else { store4(at, gradient); }
}

@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let at = elements(id, grid);
  store4(at, x4(at) + y4(at));
}

@compute @workgroup_size(256)
fn add_into(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  out[p.offset + i] += x[i];
}

// A bias's gradient, the sum of x's n rows (width wide), in two passes (columnSumLaunches,
// kernels/gpt/webgpu.ts). First each workgroup takes 64 columns of one of the launch's parts of
// the rows (its grid's y), an invocation a column, and writes the part's sums to out (parts x
// width). (As a product of a row of ones, with tiles of 64 rows, it did 64 times the work.)
@compute @workgroup_size(64)
fn column_sums_partials(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let c = id.x;
  if (c >= p.width) { return; }
  let share = (p.n + grid.y - 1u) / grid.y;
  let start = id.y * share;
  let end = min(start + share, p.n);
  // Four rows a step, four loads in flight; the four sums added in a fixed order.
  var s = vec4<f32>();
  var r = start;
  for (; r + 3u < end; r += 4u) {
    s += vec4<f32>(x[r * p.width + c], x[(r + 1u) * p.width + c], x[(r + 2u) * p.width + c], x[(r + 3u) * p.width + c]);
  }
  for (; r < end; r++) { s.x += x[r * p.width + c]; }
  out[id.y * p.width + c] = (s.x + s.y) + (s.z + s.w);
}

// Then out[offset + c] += the n parts' sums in x (n x width), in a fixed order: a workgroup takes
// 16 columns, its 16 rows of invocations every 16th part, four at a time (loads in flight
// together rather than one chain), and adds the rows' sums in order.
var<workgroup> part_sums: array<f32, 256>;

@compute @workgroup_size(16, 16)
fn column_sums_total(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let c = group.x * 16u + local.x;
  var s = vec4<f32>();
  if (c < p.width) {
    var part = local.y;
    for (; part + 48u < p.n; part += 64u) {
      s += vec4<f32>(x[part * p.width + c], x[(part + 16u) * p.width + c], x[(part + 32u) * p.width + c], x[(part + 48u) * p.width + c]);
    }
    for (; part < p.n; part += 16u) { s.x += x[part * p.width + c]; }
  }
  part_sums[local.y * 16u + local.x] = (s.x + s.y) + (s.z + s.w);
  workgroupBarrier();
  if (local.y == 0u && c < p.width) {
    var total = 0.0;
    for (var row = 0u; row < 16u; row++) { total += part_sums[row * 16u + local.x]; }
    out[p.offset + c] += total;
  }
}
