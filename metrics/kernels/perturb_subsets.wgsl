// Subset perturbation: K copies of every image with chosen pixels replaced by a baseline value.
// The output arrives holding x repeated K times (buffer copies submitted just before this
// dispatch), so row k·N + i of the [K·N, H, W, C] output already is image i; one workgroup per
// row writes the baseline over that copy's pixels, all rows in one dispatch (run by
// backends/webgpu/webgpu_kernel.ts's runWgsl). Semantics and
// layouts: metrics/kernels/perturb_subsets_reference.ts.

struct Params {
  images: u32,         // N
  valuesPerImage: u32, // H·W·C
  channels: u32,       // C
  rows: u32,           // K·N copies in this dispatch
  cumulative: u32,     // 0: own subset per copy; 1: the image's first steps
  perCopy: u32,        // subsets: M pixels per subset
  steps: u32,          // cumulative: S, steps per image
  firstStep: u32,      // cumulative: the step of copy 0
}

override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> stepEnds: array<u32>; // cumulative: [N, S]
@group(0) @binding(3) var<storage, read> baselines: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn replace(base: u32, pixel: u32, value: f32) {
  let at = base + pixel * params.channels;
  for (var ch = 0u; ch < params.channels; ch++) {
    out[at + ch] = value;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn perturb(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let row = group.x + group.y * groups.x;
  if (row >= params.rows) {
    return;
  }
  let image = row % params.images;
  let copy = row / params.images;
  let destination = row * params.valuesPerImage;
  if (params.cumulative == 0u) {
    let first = row * params.perCopy;
    for (var q = lane; q < params.perCopy; q += WORKGROUP_SIZE) {
      replace(destination, pixels[first + q], baselines[row]);
    }
    return;
  }
  // Step j of this image covers pixels[start .. stepEnds[image·S + j]) and keeps its own
  // step's baseline; the workgroup's lanes share each step's pixels.
  let last = min(params.firstStep + copy, params.steps - 1u);
  var start = 0u;
  if (image > 0u) {
    start = stepEnds[image * params.steps - 1u];
  }
  for (var j = 0u; j <= last; j++) {
    let end = stepEnds[image * params.steps + j];
    let value = baselines[j * params.images + image];
    for (var q = start + lane; q < end; q += WORKGROUP_SIZE) {
      replace(destination, pixels[q], value);
    }
    start = end;
  }
}
