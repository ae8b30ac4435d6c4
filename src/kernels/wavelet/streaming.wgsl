// Fixed Haar moving average and EMA over time, for WaveletGPT's filtered channels.
//
// Layout: input/output are (B, T, E) f32, channel fastest; one invocation owns one channel of one
// chunk of `chunk` time steps, so neighbouring invocations touch neighbouring channels (coalesced).
// Everything is written in "virtual time" i: i = t forward, i = T - 1 - t when `reverse` is set.
// Reversed, the causal filter becomes its transpose, which is the backward pass for x.
//
// Two passes, so that no running sum ever runs longer than one chunk (its f32 rounding error
// stays bounded however long T is) and every chunk starts at once:
//   summarize: per (b, chunk, c), Haar: the chunk's plain sum; EMA: the state the chunk reaches
//              when started from zero;
//   run_chunk: each chunk rebuilds its starting state from the summaries of earlier chunks and a
//              direct sum over at most one partial chunk, then runs its steps.
// Channels whose window is 0 pass through (run_chunk copies them).
//
// Sums are compensated (Neumaier): an increment far below the running sum's resolution (a window
// of 1024 values near 1000 moving by 1e-5) is kept in the compensation term instead of lost, so
// the error stays near float32 rounding of the result, whatever f and T.

struct Params {
  batch: u32,
  time: u32,
  channels: u32,
  chunk: u32,
  chunks: u32,    // ceil(time / chunk)
  ema: u32,       // 0: Haar moving average, 1: EMA
  reverse: u32,   // 1: run backwards in time (the backward pass)
  one: f32,       // 1.0, unknown to the compiler: see add()
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;
@group(0) @binding(3) var<storage, read> windows: array<u32>;     // f(c), 0 = pass through
@group(0) @binding(4) var<storage, read> alphas: array<f32>;      // EMA rate of channel c
@group(0) @binding(5) var<storage, read_write> summaries: array<f32>; // (B, chunks, E)

fn at(b: u32, i: u32, c: u32) -> u32 {
  let t = select(i, params.time - 1u - i, params.reverse == 1u);
  return (b * params.time + t) * params.channels + c;
}

fn summary_at(b: u32, k: u32, c: u32) -> u32 {
  return (b * params.chunks + k) * params.channels + c;
}

// A compensated sum: the value is sum.x + sum.y. Algebraically `lost` is 0, and a driver compiling
// with fast-math folds it away (NVIDIA's did: the error grew back to that of a plain sum). Scaling
// t by params.one, a 1.0 it cannot see, keeps the rounding error it must compute.
fn add(sum: vec2<f32>, v: f32) -> vec2<f32> {
  let t = sum.x + v;
  let rounded = t * params.one;
  let lost = select((v - rounded) + sum.x, (sum.x - rounded) + v, abs(sum.x) >= abs(v));
  return vec2<f32>(t, sum.y + lost);
}

@compute @workgroup_size(64)
fn summarize(@builtin(global_invocation_id) id: vec3<u32>) {
  let c = id.x;
  let k = id.y;
  let b = id.z;
  if (c >= params.channels || windows[c] == 0u) { return; }
  let first = k * params.chunk;
  let last = min(first + params.chunk, params.time);
  var s = vec2<f32>(0.0);
  if (params.ema == 1u) {
    let a = alphas[c];
    for (var i = first; i < last; i++) { s = add(s, a * (input[at(b, i, c)] - (s.x + s.y))); }
  } else {
    for (var i = first; i < last; i++) { s = add(s, input[at(b, i, c)]); }
  }
  summaries[summary_at(b, k, c)] = s.x + s.y;
}

@compute @workgroup_size(64)
fn run_chunk(@builtin(global_invocation_id) id: vec3<u32>) {
  let c = id.x;
  let k = id.y;
  let b = id.z;
  if (c >= params.channels) { return; }
  let first = k * params.chunk;
  let last = min(first + params.chunk, params.time);
  let f = windows[c];
  if (f == 0u) {
    for (var i = first; i < last; i++) { output[at(b, i, c)] = input[at(b, i, c)]; }
    return;
  }
  if (params.ema == 1u) {
    let a = alphas[c];
    let decay = pow(1.0 - a, f32(params.chunk)); // every earlier chunk is a full one
    var carried = 0.0;
    for (var j = 0u; j < k; j++) { carried = carried * decay + summaries[summary_at(b, j, c)]; }
    var s = vec2<f32>(carried, 0.0);
    for (var i = first; i < last; i++) {
      s = add(s, a * (input[at(b, i, c)] - (s.x + s.y)));
      output[at(b, i, c)] = s.x + s.y;
    }
    return;
  }
  // Haar: s = sum of x over [first - f, first - 1] (clipped at 0): a direct sum up to the end of
  // the chunk holding its first step, then whole chunks from their summaries.
  var s = vec2<f32>(0.0);
  if (first > 0u) {
    let lo = select(0u, first - f, first > f);
    let lo_chunk_end = min((lo / params.chunk + 1u) * params.chunk, first);
    for (var i = lo; i < lo_chunk_end; i++) { s = add(s, input[at(b, i, c)]); }
    for (var j = lo_chunk_end / params.chunk; j < k; j++) { s = add(s, summaries[summary_at(b, j, c)]); }
  }
  let scale = 1.0 / f32(f);
  for (var i = first; i < last; i++) {
    s = add(s, input[at(b, i, c)]);
    if (i >= f) { s = add(s, -input[at(b, i - f, c)]); }
    output[at(b, i, c)] = (s.x + s.y) * scale;
  }
}
