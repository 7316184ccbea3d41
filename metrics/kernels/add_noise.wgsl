// Noise samples: out[s·N·V + j] = x[j] + noise[s·N·V + j] for S noise arrays over an NHWC
// batch of N·V values. The output arrives holding x repeated S times (buffer copies submitted
// just before this dispatch); each workgroup adds the noise of a block of values, all samples
// in one dispatch. Semantics: metrics/kernels/add_noise_reference.ts (f32 addition, correctly rounded in WGSL).

struct Params {
  total: u32, // S·N·H·W·C
}

override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> noise: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const VALUES_PER_GROUP: u32 = 4096u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn add_noise(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  // Each workgroup adds a block of VALUES_PER_GROUP values, its lanes striding through it.
  let start = (group.x + group.y * groups.x) * VALUES_PER_GROUP;
  let end = min(start + VALUES_PER_GROUP, params.total);
  for (var index = start + lane; index < end; index += WORKGROUP_SIZE) {
    out[index] = out[index] + noise[index];
  }
}
