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

// Both entry points are dispatched as a grid: workgroup row y is one path row (scaled_inputs) or
// one image (accumulate), and x runs over that image's H · W · C values, so no thread divides.

// out [rowCount, H, W, C]: b + alpha_k (x − b) for each row.
@compute @workgroup_size(WORKGROUP_SIZE)
fn scaled_inputs(
  @builtin(workgroup_id) group: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
) {
  let within = group.x * WORKGROUP_SIZE + lane;
  if (within >= params.imageSize) {
    return;
  }
  let row = params.rowStart + group.y;
  let source = (row % params.batch) * params.imageSize + within;
  let b = baseline[source];
  out[group.y * params.imageSize + within] = b + perStep[row / params.batch] * (x[source] - b);
}

// out [N, H, W, C]: attributionsIn + (x − b) · Σ_k weight_k · g_k over this call's rows. One
// thread per value, looping over the rows of its own image, so no two threads write one value.
@compute @workgroup_size(WORKGROUP_SIZE)
fn accumulate(
  @builtin(workgroup_id) group: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
) {
  let within = group.x * WORKGROUP_SIZE + lane;
  if (within >= params.imageSize) {
    return;
  }
  let image = group.y;
  let index = image * params.imageSize + within;
  let rowEnd = params.rowStart + params.rowCount;
  // The first row of this call that belongs to `image`, and its step.
  let batch = params.batch;
  var row = params.rowStart + (image + batch - params.rowStart % batch) % batch;
  var step = row / params.batch;
  var integral = 0.0;
  for (; row < rowEnd; row += params.batch) {
    integral += perStep[step] * gradients[(row - params.rowStart) * params.imageSize + within];
    step += 1u;
  }
  out[index] = attributionsIn[index] + (x[index] - baseline[index]) * integral;
}
