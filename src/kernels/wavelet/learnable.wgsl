// The learnable causal kernel of WaveletGPT: y[t, c] = sum_{k < f(c)} h_c[k] x[t - k, c].
// Layout: (B, T, E) f32, channel fastest; channel c's taps are taps[tap_offsets[c] + k].
// As in streaming.wgsl, `reverse` runs the filter backwards in time: that is dL/dx.

struct Params {
  batch: u32,
  time: u32,
  channels: u32,
  tap_count: u32,
  reverse: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;       // x (filter) or x (tap_gradient)
@group(0) @binding(2) var<storage, read> upstream: array<f32>;    // dy (tap_gradient only)
@group(0) @binding(3) var<storage, read_write> output: array<f32>; // y / dx (filter), dtaps (tap_gradient)
@group(0) @binding(4) var<storage, read> windows: array<u32>;
@group(0) @binding(5) var<storage, read> tap_offsets: array<u32>;
@group(0) @binding(6) var<storage, read> taps: array<f32>;

fn at(b: u32, i: u32, c: u32) -> u32 {
  let t = select(i, params.time - 1u - i, params.reverse == 1u);
  return (b * params.time + t) * params.channels + c;
}

// One invocation per output element: x = channel, y = virtual time, z = batch.
@compute @workgroup_size(64)
fn convolve(@builtin(global_invocation_id) id: vec3<u32>) {
  let c = id.x;
  let i = id.y;
  let b = id.z;
  if (c >= params.channels) { return; }
  let f = windows[c];
  if (f == 0u) {
    output[at(b, i, c)] = input[at(b, i, c)];
    return;
  }
  let h = tap_offsets[c];
  let taken = min(f, i + 1u);
  var acc = 0.0;
  for (var k = 0u; k < taken; k++) { acc += taps[h + k] * input[at(b, i - k, c)]; }
  output[at(b, i, c)] = acc;
}

const GRADIENT_CHANNELS = 32u; // neighbouring channels of a workgroup: a warp's loads are one 128-byte line
const GRADIENT_LANES = 8u;     // threads that share one (channel, lag), striding over the batch
var<workgroup> partial: array<f32, 256>; // GRADIENT_CHANNELS * GRADIENT_LANES

// dh_c[k] = sum_{b, t >= k} dy[t, c] x[t - k, c]. A workgroup takes 32 neighbouring channels at
// one lag k (grid: x = block of channels, y = k); each channel's 8 lanes take every 8th batch
// row, and their sums meet in workgroup memory. (One workgroup a tap, striding over (b, t) along
// one channel, read memory 32 times over and cost the learnable form a third of a step.)
@compute @workgroup_size(32, 8)
fn tap_gradient(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let c = group.x * GRADIENT_CHANNELS + local.x;
  let k = group.y;
  var has_tap = false;
  if (c < params.channels) { has_tap = k < windows[c]; }
  var acc = 0.0;
  if (has_tap) {
    for (var b = local.y; b < params.batch; b += GRADIENT_LANES) {
      let row = b * params.time;
      for (var t = k; t < params.time; t++) {
        acc += upstream[(row + t) * params.channels + c] * input[(row + t - k) * params.channels + c];
      }
    }
  }
  partial[local.y * GRADIENT_CHANNELS + local.x] = acc;
  workgroupBarrier();
  if (has_tap && local.y == 0u) {
    var sum = 0.0;
    for (var i = 0u; i < GRADIENT_LANES; i++) { sum += partial[i * GRADIENT_CHANNELS + local.x]; }
    output[tap_offsets[c] + k] = sum;
  }
}
