// Integrated Gradients along the straight path, on NHWC tensors. Path rows are step-major as
// Captum orders them: row r = k · N + i is step k of image i. A call covers rows
// rowStart .. rowStart + rowCount − 1 (all steps of the whole batch, or one model chunk).
// The TypeScript reference is ig_path_reference.ts.

override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  batch: u32,       // N
  imageSize: u32,   // H · W · C
  rowStart: u32,
  rowCount: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;            // [N, H, W, C]
@group(0) @binding(2) var<storage, read> baseline: array<f32>;     // [N, H, W, C]
// scaled_inputs: alpha_k; accumulate: the quadrature weight of step k.
@group(0) @binding(3) var<storage, read> perStep: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
// accumulate only: the gradients at rows rowStart.., and the attributions so far.
@group(0) @binding(5) var<storage, read> gradients: array<f32>;    // [rowCount, H, W, C]
@group(0) @binding(6) var<storage, read> attributionsIn: array<f32>;

fn linearIndex(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.y * groups.x * WORKGROUP_SIZE + gid.x;
}

// out [rowCount, H, W, C]: b + alpha_k (x − b) for each row.
@compute @workgroup_size(WORKGROUP_SIZE)
fn scaled_inputs(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
) {
  let index = linearIndex(gid, groups);
  if (index >= params.rowCount * params.imageSize) {
    return;
  }
  let row = params.rowStart + index / params.imageSize;
  let source = (row % params.batch) * params.imageSize + index % params.imageSize;
  let b = baseline[source];
  out[index] = b + perStep[row / params.batch] * (x[source] - b);
}

// out [N, H, W, C]: attributionsIn + (x − b) · Σ_k weight_k · g_k over this call's rows. One
// thread per value, looping over the rows of its own image, so no two threads write one value.
@compute @workgroup_size(WORKGROUP_SIZE)
fn accumulate(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
) {
  let index = linearIndex(gid, groups);
  if (index >= params.batch * params.imageSize) {
    return;
  }
  let image = index / params.imageSize;
  let within = index % params.imageSize;
  let rowEnd = params.rowStart + params.rowCount;
  // The first row of this call that belongs to `image`.
  var row = params.rowStart + (image + params.batch - params.rowStart % params.batch) % params.batch;
  var integral = 0.0;
  for (; row < rowEnd; row += params.batch) {
    integral += perStep[row / params.batch] * gradients[(row - params.rowStart) * params.imageSize + within];
  }
  out[index] = attributionsIn[index] + (x[index] - baseline[index]) * integral;
}
