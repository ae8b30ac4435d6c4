// Elementwise layers and the small reductions of a training step.
//   gelu / gelu_backward: GELU, tanh approximation (GPT-2's);
//   add: out = x + y (the residual); scale: out *= alpha; add_into: out[offset + i] += x[i].
// One invocation an element, in a 2-D grid of 256-wide workgroups (65535 per dimension at most).

struct Params { n: u32, alpha: f32, offset: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const GELU_SCALE = 0.7978845608028654;

fn index(id: vec3<u32>, grid: vec3<u32>) -> u32 { return id.y * grid.x * 256u + id.x; }

@compute @workgroup_size(256)
fn gelu(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  let v = x[i];
  out[i] = 0.5 * v * (1.0 + tanh(clamp(GELU_SCALE * (v + 0.044715 * v * v * v), -15.0, 15.0)));
}

// out += dL/dx, with x the GELU's input and y the gradient of its output.
@compute @workgroup_size(256)
fn gelu_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  let v = x[i];
  let th = tanh(clamp(GELU_SCALE * (v + 0.044715 * v * v * v), -15.0, 15.0)); // clamped: some drivers overflow tanh
  let du = GELU_SCALE * (1.0 + 3.0 * 0.044715 * v * v);
  out[i] += y[i] * (0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * du);
}

@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  out[i] = x[i] + y[i];
}

@compute @workgroup_size(256)
fn scale(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  out[i] *= p.alpha;
}

@compute @workgroup_size(256)
fn add_into(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  out[p.offset + i] += x[i];
}
