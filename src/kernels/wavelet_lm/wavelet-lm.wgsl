// WaveletLM's own layers on WebGPU: the functions of src/kernels/wavelet_lm/ref.ts (the oracle,
// which test/backends/layers.test.ts holds these to). Activations are (B, T, W) row-major; the
// backward entries add (+=) into their gradients. One invocation an element in a 2-D grid of
// 256-wide workgroups, except: hadamard (a workgroup a row), the reductions (dot_*, gain_*: two
// passes, PARTS partial sums into `out` then their total into the gradient, in a fixed order so a
// step is deterministic) and running_mean (an invocation a (sequence, channel)).
// A factor is a constant (a) or, where its offset is not NONE, a parameter (z = the parameters).
// In generation, z is decode.wgsl's step buffer: its first word is the position t.

struct Params {
  n: u32,          // elements (or rows for hadamard, channels for the reductions)
  width: u32,      // W
  time: u32,       // T
  aux: u32,        // pad: from; lifting: delay; hadamard: 1 to accumulate; route: unused
  a: f32,          // a constant factor
  b: f32,          // a second constant factor
  a_offset: u32,   // the factor's parameter, or NONE
  b_offset: u32,   // the second factor's parameter (or a gradient offset), or NONE
}

const NONE = 0xffffffffu;
const SQRT1_2 = 0.7071067811865476;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> z: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> grads: array<f32>;

fn index(id: vec3<u32>, grid: vec3<u32>) -> u32 { return id.y * grid.x * 256u + id.x; }
fn factor_a() -> f32 { if (p.a_offset == NONE) { return p.a; } return z[p.a_offset]; }
fn factor_b() -> f32 { if (p.b_offset == NONE) { return p.b; } return z[p.b_offset]; }

// out (N, width) = [x (N, aux), 0]
@compute @workgroup_size(256)
fn pad_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  let c = i % p.width;
  if (c < p.aux) { out[i] = x[(i / p.width) * p.aux + c]; } else { out[i] = 0.0; }
}

// out (N, aux) += x (N, width)[:, :aux]; n = N * aux
@compute @workgroup_size(256)
fn pad_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  out[i] += x[(i / p.aux) * p.width + i % p.aux];
}

// out[b, t] = (x[b, t - delay] - y[b, t]) / sqrt 2
@compute @workgroup_size(256)
fn lifting_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  let t = (i / p.width) % p.time;
  var past = 0.0;
  if (t >= p.aux) { past = x[i - p.aux * p.width]; }
  out[i] = (past - y[i]) * SQRT1_2;
}

// out (the input's gradient)[b, t] += x (the output's gradient)[b, t + delay] / sqrt 2
@compute @workgroup_size(256)
fn lifting_backward_input(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  let t = (i / p.width) % p.time;
  if (t + p.aux < p.time) { out[i] += x[i + p.aux * p.width] * SQRT1_2; }
}

// Generation: out (B, W) from x and y at position t; grads holds the ring (B, delay, W).
@compute @workgroup_size(256)
fn lifting_step(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  let t = bitcast<u32>(z[0]);
  let ring = ((i / p.width) * p.aux + t % p.aux) * p.width + i % p.width; // holds x at t - delay, or 0
  out[i] = (grads[ring] - y[i]) * SQRT1_2;
  grads[ring] = x[i];
}

// out = a x + b y
@compute @workgroup_size(256)
fn sum_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  out[i] = factor_a() * x[i] + factor_b() * y[i];
}

// out += a x
@compute @workgroup_size(256)
fn add_scaled(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  out[i] += factor_a() * x[i];
}

// The reductions' partial sums: PARTS of them (dot_*), or PARTS a channel (gain_*).
const PARTS = 1024u;
var<workgroup> partial: array<f32, 256>;

fn workgroup_sum(lane: u32, value: f32) -> f32 {
  partial[lane] = value;
  workgroupBarrier();
  for (var half = 128u; half > 0u; half >>= 1u) {
    if (lane < half) { partial[lane] += partial[lane + half]; }
    workgroupBarrier();
  }
  return partial[0];
}

// out[part] = sum of x * y over the part's contiguous share of the n elements; PARTS workgroups.
@compute @workgroup_size(256)
fn dot_partials(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) group: vec3<u32>) {
  let share = (p.n + PARTS - 1u) / PARTS;
  let start = group.x * share;
  let end = min(start + share, p.n);
  var s = 0.0;
  for (var i = start + lane; i < end; i += 256u) { s += x[i] * y[i]; }
  let total = workgroup_sum(lane, s);
  if (lane == 0u) { out[group.x] = total; }
}

// grads[b_offset] += the PARTS partial sums in out; one workgroup.
@compute @workgroup_size(256)
fn dot_total(@builtin(local_invocation_index) lane: u32) {
  var s = 0.0;
  for (var i = lane; i < PARTS; i += 256u) { s += out[i]; }
  let total = workgroup_sum(lane, s);
  if (lane == 0u) { grads[p.b_offset] = grads[p.b_offset] + total; }
}

// out = x * gain (z[a_offset..])
@compute @workgroup_size(256)
fn channel_scale_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  out[i] = x[i] * z[p.a_offset + i % p.width];
}

// out (the input's gradient) += y (the output's gradient) * gain
@compute @workgroup_size(256)
fn channel_scale_backward_input(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  out[i] += y[i] * z[p.a_offset + i % p.width];
}

// out[part * width + c] = sum of x * y over the part's share of the n rows, at channel c; a grid
// of (channels / 256, GAIN_PARTS).
const GAIN_PARTS = 256u;
@compute @workgroup_size(256)
fn gain_partials(@builtin(global_invocation_id) id: vec3<u32>) {
  let c = id.x;
  if (c >= p.width) { return; }
  let share = (p.n + GAIN_PARTS - 1u) / GAIN_PARTS;
  let start = id.y * share;
  let end = min(start + share, p.n);
  var s = 0.0;
  for (var r = start; r < end; r++) { s += x[r * p.width + c] * y[r * p.width + c]; }
  out[id.y * p.width + c] = s;
}

// grads[b_offset + c] += the GAIN_PARTS partial sums of channel c, in order; an invocation a channel.
@compute @workgroup_size(256)
fn gain_total(@builtin(global_invocation_id) id: vec3<u32>) {
  let c = id.x;
  if (c >= p.width) { return; }
  var s = 0.0;
  for (var part = 0u; part < GAIN_PARTS; part++) { s += out[part * p.width + c]; }
  grads[p.b_offset + c] += s;
}

// The orthonormal Walsh-Hadamard transform of each row (width a power of two, at most 4096), a
// workgroup a row; aux 1 adds into out.
var<workgroup> row: array<f32, 4096>;
@compute @workgroup_size(256)
fn hadamard(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let r = group.y * grid.x + group.x;
  if (r >= p.n) { return; } // uniform across the workgroup
  let W = p.width;
  for (var c = lane; c < W; c += 256u) { row[c] = x[r * W + c]; }
  workgroupBarrier();
  for (var h = 1u; h < W; h <<= 1u) {
    for (var k = lane; k < W / 2u; k += 256u) {
      let c = (k / h) * 2u * h + k % h; // the k-th pair's first element
      let u = row[c];
      let v = row[c + h];
      row[c] = u + v;
      row[c + h] = u - v;
    }
    workgroupBarrier();
  }
  let scale = inverseSqrt(f32(W));
  for (var c = lane; c < W; c += 256u) {
    if (p.aux == 1u) { out[r * W + c] += row[c] * scale; } else { out[r * W + c] = row[c] * scale; }
  }
}

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

// out = x * silu(y)
@compute @workgroup_size(256)
fn silu_gate_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  out[i] = x[i] * y[i] * sigmoid(y[i]);
}

// out (the signal's gradient) += x (the output's gradient) * silu(y (the gate))
@compute @workgroup_size(256)
fn silu_gate_backward_input(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  out[i] += x[i] * y[i] * sigmoid(y[i]);
}

// out (the gate's gradient) += x (the output's gradient) * z (the signal) * silu'(y (the gate))
@compute @workgroup_size(256)
fn silu_gate_backward_gate(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  let g = y[i];
  let s = sigmoid(g);
  out[i] += x[i] * z[i] * s * (1.0 + g * (1.0 - s));
}

// out[b, t] = mean of x[b, 0..t]; an invocation a (sequence, channel), n = B * W.
@compute @workgroup_size(256)
fn running_mean_forward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= p.n) { return; }
  let b = i / p.width;
  let c = i % p.width;
  var s = 0.0;
  for (var t = 0u; t < p.time; t++) {
    let at = (b * p.time + t) * p.width + c;
    s += x[at];
    out[at] = s / f32(t + 1u);
  }
}

// out (the input's gradient)[b, u] += sum over t >= u of x (the output's gradient)[b, t] / (t + 1)
@compute @workgroup_size(256)
fn running_mean_backward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= p.n) { return; }
  let b = i / p.width;
  let c = i % p.width;
  var s = 0.0;
  for (var t = p.time; t > 0u; t--) {
    let at = (b * p.time + t - 1u) * p.width + c;
    s += x[at] / f32(t);
    out[at] += s;
  }
}

// Generation: out (B, W) = the running mean at position t; grads holds the sums (B, W).
@compute @workgroup_size(256)
fn running_mean_step(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  let t = bitcast<u32>(z[0]);
  let s = grads[i] + x[i];
  grads[i] = s;
  out[i] = s / f32(t + 1u);
}
