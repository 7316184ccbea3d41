// Subset perturbation: K copies of every image with chosen pixels replaced by a baseline value.
// The output arrives holding x repeated K times (buffer copies submitted just before this
// dispatch), so row k·N + i of the [K·N, H, W, C] output already is image i; one workgroup per
// row writes the baseline over that copy's pixels, all rows in one dispatch (run by
// kernels/webgpu_kernel.ts's runWgsl). Semantics and
// layouts: kernels/perturb_subsets_reference.ts.

struct Params {
  images: u32,         // N
  valuesPerImage: u32, // H·W·C
  channels: u32,       // C
  rows: u32,           // K·N copies in this dispatch
  cumulative: u32,     // 0: own subset per copy; 1: prefix of the image's order
  perCopy: u32,        // subsets: M pixels per subset; cumulative: pixels per step
  orderLength: u32,    // cumulative: L, entries per image's order
  firstStep: u32,      // cumulative: the step of copy 0
}

override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> baselines: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

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
  var first: u32;
  var count: u32;
  if (params.cumulative == 0u) {
    first = row * params.perCopy;
    count = params.perCopy;
  } else {
    first = image * params.orderLength;
    count = min((params.firstStep + copy + 1u) * params.perCopy, params.orderLength);
  }
  for (var q = lane; q < count; q += WORKGROUP_SIZE) {
    var value: f32;
    if (params.cumulative == 0u) {
      value = baselines[row];
    } else {
      value = baselines[(q / params.perCopy) * params.images + image];
    }
    let base = destination + pixels[first + q] * params.channels;
    for (var ch = 0u; ch < params.channels; ch++) {
      out[base + ch] = value;
    }
  }
}
