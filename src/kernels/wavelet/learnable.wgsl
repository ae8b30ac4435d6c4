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
@group(0) @binding(6) var<storage, read> tap_channels: array<u32>; // the channel each tap belongs to
@group(0) @binding(7) var<storage, read> taps: array<f32>;

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

const GRADIENT_THREADS = 64u;
var<workgroup> partial: array<f32, GRADIENT_THREADS>;

// dh_c[k] = sum_{b, t >= k} dy[t, c] x[t - k, c]: one workgroup per tap (2-D grid of
// workgroups, since taps can outnumber one dimension's limit), its threads striding over (b, t).
@compute @workgroup_size(GRADIENT_THREADS)
fn tap_gradient(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>,
                @builtin(local_invocation_index) lane: u32) {
  let tap = group.y * grid.x + group.x;
  let valid = tap < params.tap_count;
  var acc = 0.0;
  if (valid) {
    let c = tap_channels[tap];
    let k = tap - tap_offsets[c];
    let steps = params.time - min(k, params.time);
    for (var n = lane; n < params.batch * steps; n += GRADIENT_THREADS) {
      let b = n / steps;
      let t = k + n % steps;
      acc += upstream[(b * params.time + t) * params.channels + c] * input[(b * params.time + t - k) * params.channels + c];
    }
  }
  partial[lane] = acc;
  workgroupBarrier();
  for (var width = GRADIENT_THREADS / 2u; width > 0u; width /= 2u) {
    if (lane < width) { partial[lane] += partial[lane + width]; }
    workgroupBarrier();
  }
  if (valid && lane == 0u) { output[tap] = partial[0]; }
}
