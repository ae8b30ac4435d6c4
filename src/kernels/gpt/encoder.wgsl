// Token and position embeddings: out (B, T, C) = wte[token] + wpe[t]. Backward without atomics:
// one invocation a (vocabulary row, channel) sums over the positions holding that token, and one
// a (t, channel) over the batch. wte and wpe lie in the parameter (and gradient) buffer; a network
// without positions (WaveletLM) has no wpe (has_positions 0).

struct Params { B: u32, T: u32, C: u32, V: u32, wte_offset: u32, wpe_offset: u32, has_positions: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;   // forward only
@group(0) @binding(4) var<storage, read> dout: array<f32>;        // backward only
@group(0) @binding(5) var<storage, read_write> grads: array<f32>; // backward only (+=)

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) id: vec3<u32>) {
  let c = id.x;
  let bt = id.y + id.z * 65535u;
  if (c >= p.C || bt >= p.B * p.T) { return; }
  var v = params[p.wte_offset + tokens[bt] * p.C + c];
  if (p.has_positions != 0u) { v += params[p.wpe_offset + (bt % p.T) * p.C + c]; }
  out[bt * p.C + c] = v;
}

@compute @workgroup_size(64)
fn backward_tokens(@builtin(global_invocation_id) id: vec3<u32>) {
  let c = id.x;
  let v = id.y;
  if (c >= p.C || v >= p.V) { return; }
  var s = 0.0;
  for (var bt = 0u; bt < p.B * p.T; bt++) { if (tokens[bt] == v) { s += dout[bt * p.C + c]; } }
  grads[p.wte_offset + v * p.C + c] += s;
}

@compute @workgroup_size(64)
fn backward_positions(@builtin(global_invocation_id) id: vec3<u32>) {
  let c = id.x;
  let t = id.y;
  if (c >= p.C || t >= p.T) { return; }
  var s = 0.0;
  for (var b = 0u; b < p.B; b++) { s += dout[(b * p.T + t) * p.C + c]; }
  grads[p.wpe_offset + t * p.C + c] += s;
}
