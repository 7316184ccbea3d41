// Noise samples: out[s·N·V + j] = x[j] + noise[s·N·V + j] for S noise arrays over an NHWC
// batch of N·V values, one invocation per output value, all samples in one dispatch.
// Semantics: kernels/add_noise_reference.ts (f32 addition, correctly rounded in WGSL).

struct Params {
  batchValues: u32, // N·H·W·C
  total: u32,       // S·N·H·W·C
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> noise: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let index = (group.x + group.y * groups.x) * 256u + lane;
  if (index >= params.total) {
    return;
  }
  out[index] = x[index % params.batchValues] + noise[index];
}
