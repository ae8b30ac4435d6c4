// Token and position embeddings: out (B, T, C) = wte[token] + wpe[t]. wte and wpe lie in the
// parameter (and gradient) buffer; a network without positions (WaveletLM) has no wpe
// (has_positions 0).
// Backward without atomics, so that sums keep one order: the token table's gradient walks the
// positions sorted by token (by_token, sorted on the CPU, where the tokens come from: embedding.ts),
// a workgroup row at the start of each token's run summing that run; work grows with B x T x C, not
// with the vocabulary (GPT-2's 50,257 rows each scanned all positions before: 226 ms a step).
// The position table's gradient: one invocation a (t, channel) sums over the batch.

struct Params { B: u32, T: u32, C: u32, V: u32, wte_offset: u32, wpe_offset: u32, has_positions: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;   // forward only
@group(0) @binding(4) var<storage, read> dout: array<f32>;        // backward only
@group(0) @binding(5) var<storage, read_write> grads: array<f32>; // backward only (+=)
@group(0) @binding(6) var<storage, read> by_token: array<u32>;    // backward_tokens only

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
  let i = id.y + id.z * 65535u;
  let n = p.B * p.T;
  if (c >= p.C || i >= n) { return; }
  let v = tokens[by_token[i]];
  if (i > 0u && tokens[by_token[i - 1u]] == v) { return; } // not the start of v's run
  var s = 0.0;
  for (var j = i; j < n; j++) {
    let position = by_token[j];
    if (tokens[position] != v) { break; }
    s += dout[position * p.C + c];
  }
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
