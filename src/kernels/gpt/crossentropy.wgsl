// Softmax cross-entropy over V classes, one workgroup of 64 a position: probabilities for
// backward and each position's loss; `mean` reduces the losses to one number on the GPU (read
// back only when asked) and counts the positions that count; `backward` writes
// dlogits = scale * (probs - onehot) / counted. A target of IGNORED (-1 as i32) is left out.

struct Params { N: u32, V: u32, scale: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> losses: array<f32>; // (N), then [N] the mean, [N + 1] the count

const IGNORED = 0xffffffffu;

//! include "include/reduce64.wgsl.inc"

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let n = group.y * grid.x + group.x;
  if (n >= p.N) { return; } // uniform per workgroup
  let row = n * p.V;
  var m = -3.4e38;
  for (var v = lane; v < p.V; v += THREADS) { m = max(m, logits[row + v]); }
  let maximum = reduce(lane, m, true);
  var s = 0.0;
  for (var v = lane; v < p.V; v += THREADS) { s += exp(logits[row + v] - maximum); }
  let sum = reduce(lane, s, false);
  for (var v = lane; v < p.V; v += THREADS) { probs[row + v] = exp(logits[row + v] - maximum) / sum; }
  if (lane == 0u) { losses[n] = select(-(logits[row + targets[n]] - maximum - log(sum)), 0.0, targets[n] == IGNORED); }
}

@compute @workgroup_size(64)
fn mean(@builtin(local_invocation_index) lane: u32) {
  var s = 0.0;
  var c = 0.0;
  for (var n = lane; n < p.N; n += THREADS) {
    s += losses[n];
    c += select(1.0, 0.0, targets[n] == IGNORED);
  }
  let total = reduce(lane, s, false);
  let counted = max(1.0, reduce(lane, c, false));
  if (lane == 0u) {
    losses[p.N] = total / counted;
    losses[p.N + 1u] = counted;
  }
}

// In place: probs becomes dlogits.
@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = id.y * grid.x * 256u + id.x;
  if (i >= p.N * p.V) { return; }
  let n = i / p.V;
  let onehot = select(0.0, 1.0, i % p.V == targets[n]);
  probs[i] = select(p.scale * (probs[i] - onehot) / losses[p.N + 1u], 0.0, targets[n] == IGNORED);
}
