// The optimizer in three dispatches over all parameters at once, with no read-back:
//   norm_partials: sums of squares of the gradients, one per workgroup;
//   norm_total: their total, the global norm, into state[0];
//   update_adamw / update_adagrad: clip by that norm, take the optimizer's step (decay where
//   mask = 1), zero the gradient.
// The optimizer's per-parameter state is in slot0 and slot1 (OPTIMIZER_SLOTS in ref.ts): AdamW's
// m and v; Adagrad's sum of squared gradients, and slot1 unused.

struct Params {
  n: u32, partials: u32, lr: f32, beta1: f32,
  beta2: f32, epsilon: f32, weight_decay: f32, clip_norm: f32,
  correction1: f32, correction2: f32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read_write> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> slot0: array<f32>;
@group(0) @binding(4) var<storage, read_write> slot1: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<u32>;
@group(0) @binding(6) var<storage, read_write> state: array<f32>; // [0] the norm, then partials

const THREADS = 256u;
var<workgroup> partial: array<f32, 256>;

fn index(id: vec3<u32>, grid: vec3<u32>) -> u32 { return id.y * grid.x * THREADS + id.x; }

@compute @workgroup_size(256)
fn norm_partials(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>,
                 @builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let i = index(id, grid);
  let g = select(0.0, grads[i], i < p.n);
  partial[lane] = g * g;
  workgroupBarrier();
  for (var width = THREADS / 2u; width > 0u; width /= 2u) {
    if (lane < width) { partial[lane] += partial[lane + width]; }
    workgroupBarrier();
  }
  if (lane == 0u) { state[1u + group.y * grid.x + group.x] = partial[0]; }
}

@compute @workgroup_size(256)
fn norm_total(@builtin(local_invocation_index) lane: u32) {
  var s = 0.0;
  for (var i = lane; i < p.partials; i += THREADS) { s += state[1u + i]; }
  partial[lane] = s;
  workgroupBarrier();
  for (var width = THREADS / 2u; width > 0u; width /= 2u) {
    if (lane < width) { partial[lane] += partial[lane + width]; }
    workgroupBarrier();
  }
  if (lane == 0u) { state[0] = sqrt(partial[0]); }
}

fn clipped_gradient(i: u32) -> f32 {
  let norm = state[0];
  return grads[i] * select(1.0, p.clip_norm / norm, p.clip_norm > 0.0 && norm > p.clip_norm);
}

@compute @workgroup_size(256)
fn update_adamw(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  let g = clipped_gradient(i);
  let mi = p.beta1 * slot0[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * slot1[i] + (1.0 - p.beta2) * g * g;
  slot0[i] = mi;
  slot1[i] = vi;
  let step = mi / p.correction1 / (sqrt(vi / p.correction2) + p.epsilon);
  params[i] -= p.lr * (step + select(0.0, p.weight_decay * params[i], mask[i] == 1u));
  grads[i] = 0.0;
}

// PyTorch's Adagrad: the decay is L2, added to the (clipped) gradient.
@compute @workgroup_size(256)
fn update_adagrad(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = index(id, grid);
  if (i >= p.n) { return; }
  let g = clipped_gradient(i) + select(0.0, p.weight_decay * params[i], mask[i] == 1u);
  let sum = slot0[i] + g * g;
  slot0[i] = sum;
  params[i] -= p.lr * g / (sqrt(sum) + p.epsilon);
  grads[i] = 0.0;
}
