// LayerNorm over rows of C: one workgroup of 64 invocations a row (forward, and the input
// gradient of backward), rows folded into two grid dimensions (65535 workgroups at most in each);
// the weight and bias gradients sum over rows in two passes (backward_params_*).
// w and b are the parameter buffer at w_offset and b_offset.

struct Params { N: u32, C: u32, w_offset: u32, b_offset: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;     // forward: y; backward: dinp (+=); the params' partial sums
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;   // (N, 2): mean, rstd
@group(0) @binding(5) var<storage, read> dout: array<f32>;          // backward only
@group(0) @binding(6) var<storage, read_write> grads: array<f32>;   // backward only: dw, db (+=)

const THREADS = 64u;
var<workgroup> partial: array<vec2<f32>, 64>;

fn reduce(lane: u32, value: vec2<f32>) -> vec2<f32> {
  partial[lane] = value;
  workgroupBarrier();
  for (var width = THREADS / 2u; width > 0u; width /= 2u) {
    if (lane < width) { partial[lane] += partial[lane + width]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let n = group.y * grid.x + group.x;
  if (n >= p.N) { return; }
  let row = n * p.C;
  var s = vec2<f32>(0.0);
  for (var c = lane; c < p.C; c += THREADS) { let x = inp[row + c]; s += vec2<f32>(x, x * x); }
  let total = reduce(lane, s);
  let mean = total.x / f32(p.C);
  let rstd = inverseSqrt(max(total.y / f32(p.C) - mean * mean, 0.0) + 1e-5);
  for (var c = lane; c < p.C; c += THREADS) {
    out[row + c] = (inp[row + c] - mean) * rstd * params[p.w_offset + c] + params[p.b_offset + c];
  }
  if (lane == 0u) { stats[2u * n] = mean; stats[2u * n + 1u] = rstd; }
}

@compute @workgroup_size(64)
fn backward_input(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let n = group.y * grid.x + group.x;
  if (n >= p.N) { return; }
  let row = n * p.C;
  let mean = stats[2u * n];
  let rstd = stats[2u * n + 1u];
  var s = vec2<f32>(0.0);
  for (var c = lane; c < p.C; c += THREADS) {
    let dnorm = dout[row + c] * params[p.w_offset + c];
    s += vec2<f32>(dnorm, dnorm * (inp[row + c] - mean) * rstd);
  }
  let total = reduce(lane, s) / f32(p.C);
  for (var c = lane; c < p.C; c += THREADS) {
    let norm = (inp[row + c] - mean) * rstd;
    let dnorm = dout[row + c] * params[p.w_offset + c];
    out[row + c] += rstd * (dnorm - total.x - norm * total.y);
  }
}

// The weight and bias gradients, sums over every row of a channel, in two passes through `out`
// (the scratch, (2, PARTS, C): the weight's partial sums, then the bias's). First each workgroup
// takes 64 channels of one part of the rows, an invocation a channel, so that a subgroup reads
// neighbouring floats of each row. (One workgroup a channel reading down its column, as before,
// took 92 us a launch on the H200 for 16384 x 128: each read used 4 bytes of a 32-byte sector.)
const PARTS = 256u;

// Row n's terms of channel c's weight and bias gradients.
fn row_terms(n: u32, c: u32) -> vec2<f32> {
  let d = dout[n * p.C + c];
  return vec2<f32>(d * (inp[n * p.C + c] - stats[2u * n]) * stats[2u * n + 1u], d);
}

@compute @workgroup_size(64)
fn backward_params_partials(@builtin(global_invocation_id) id: vec3<u32>) {
  let c = id.x;
  if (c >= p.C) { return; }
  let share = (p.N + PARTS - 1u) / PARTS;
  let start = id.y * share;
  let end = min(start + share, p.N);
  // Two rows a step, their loads in flight together; the two sums added in a fixed order.
  var even = vec2<f32>(0.0);
  var odd = vec2<f32>(0.0);
  var n = start;
  for (; n + 1u < end; n += 2u) {
    even += row_terms(n, c);
    odd += row_terms(n + 1u, c);
  }
  if (n < end) { even += row_terms(n, c); }
  let s = even + odd;
  out[id.y * p.C + c] = s.x;
  out[(PARTS + id.y) * p.C + c] = s.y;
}

// Then a workgroup a channel adds its PARTS partial sums, in a fixed order, into the gradients.
@compute @workgroup_size(64)
fn backward_params_total(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let c = group.x;
  var s = vec2<f32>(0.0);
  for (var part = lane; part < PARTS; part += THREADS) { s += vec2<f32>(out[part * p.C + c], out[(PARTS + part) * p.C + c]); }
  let total = reduce(lane, s);
  if (lane == 0u) {
    grads[p.w_offset + c] += total.x;
    grads[p.b_offset + c] += total.y;
  }
}
