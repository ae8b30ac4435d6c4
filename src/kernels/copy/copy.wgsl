// A plain copy, four floats an invocation: the bandwidth anchor that WGSL kernels are measured
// against on the same device, in the same run.

@group(0) @binding(0) var<storage, read> source: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> destination: array<vec4<f32>>;

@compute @workgroup_size(256)
fn copy_vec4(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let i = id.y * grid.x * 256u + id.x;
  if (i < arrayLength(&source)) { destination[i] = source[i]; }
}
