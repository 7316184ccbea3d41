// Grad-CAM pooling on NHWC tensors: channel weights from the gradient (Grad-CAM's mean or
// GradCAM++'s alpha-weighted sum), ReLU of the weighted channel sum, and bilinear upsampling with
// half-pixel centres. Three entry points dispatched in order in one compute pass (each needs the
// previous one's complete output). The TypeScript reference is gradcam_pool_reference.ts.

override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  batch: u32,
  height: u32,      // h, the layer's
  width: u32,       // w
  channels: u32,    // C
  outHeight: u32,   // H, the input's
  outWidth: u32,    // W
  plusPlus: u32,    // 0: Grad-CAM, 1: GradCAM++
  alphaEps: f32,    // GradCAM++'s denominator constant
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> activation: array<f32>;        // A [N, h, w, C]
@group(0) @binding(2) var<storage, read> gradient: array<f32>;          // G [N, h, w, C]
@group(0) @binding(3) var<storage, read_write> weights: array<f32>;     // [N, C]
@group(0) @binding(4) var<storage, read_write> layerMaps: array<f32>;   // [N, h, w]
@group(0) @binding(5) var<storage, read_write> maps: array<f32>;        // [N, H, W]

fn linearIndex(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.y * groups.x * WORKGROUP_SIZE + gid.x;
}

// One thread per (n, c); neighbouring threads read neighbouring channels.
@compute @workgroup_size(WORKGROUP_SIZE)
fn channel_weights(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
) {
  let index = linearIndex(gid, groups);
  if (index >= params.batch * params.channels) {
    return;
  }
  let n = index / params.channels;
  let c = index % params.channels;
  let pixels = params.height * params.width;
  let first = n * pixels * params.channels + c;
  var weight = 0.0;
  if (params.plusPlus == 0u) {
    for (var p = 0u; p < pixels; p++) {
      weight += gradient[first + p * params.channels];
    }
    weight /= f32(pixels);
  } else {
    var activationSum = 0.0;
    for (var p = 0u; p < pixels; p++) {
      activationSum += activation[first + p * params.channels];
    }
    for (var p = 0u; p < pixels; p++) {
      let g = gradient[first + p * params.channels];
      if (g != 0.0) {
        let alpha = g * g / (2.0 * g * g + activationSum * g * g * g + params.alphaEps);
        weight += alpha * max(g, 0.0);
      }
    }
  }
  weights[index] = weight;
}

// One thread per (n, y, x) of the layer: relu(Σ_c weights[n, c] · A[n, y, x, c]).
@compute @workgroup_size(WORKGROUP_SIZE)
fn layer_maps(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
) {
  let index = linearIndex(gid, groups);
  let pixels = params.height * params.width;
  if (index >= params.batch * pixels) {
    return;
  }
  let n = index / pixels;
  var sum = 0.0;
  for (var c = 0u; c < params.channels; c++) {
    sum += weights[n * params.channels + c] * activation[index * params.channels + c];
  }
  layerMaps[index] = max(sum, 0.0);
}

struct Tap {
  lower: u32,
  upper: u32,
  t: f32,  // weight of `upper`
}

// torch's area_pixel_compute_source_index for align_corners=False: centres at +0.5, clamped at 0.
fn halfPixelTap(j: u32, inSize: u32, outSize: u32) -> Tap {
  let source = max((f32(j) + 0.5) * (f32(inSize) / f32(outSize)) - 0.5, 0.0);
  let lower = min(u32(floor(source)), inSize - 1u);
  return Tap(lower, min(lower + 1u, inSize - 1u), source - f32(lower));
}

// One thread per (n, Y, X) of the output.
@compute @workgroup_size(WORKGROUP_SIZE)
fn upsample(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
) {
  let index = linearIndex(gid, groups);
  let outPixels = params.outHeight * params.outWidth;
  if (index >= params.batch * outPixels) {
    return;
  }
  let n = index / outPixels;
  let row = halfPixelTap((index % outPixels) / params.outWidth, params.height, params.outHeight);
  let col = halfPixelTap(index % params.outWidth, params.width, params.outWidth);
  let first = n * params.height * params.width;
  let upperRow = first + row.upper * params.width;
  let lowerRow = first + row.lower * params.width;
  let top =
    layerMaps[lowerRow + col.lower] * (1.0 - col.t) + layerMaps[lowerRow + col.upper] * col.t;
  let bottom =
    layerMaps[upperRow + col.lower] * (1.0 - col.t) + layerMaps[upperRow + col.upper] * col.t;
  maps[index] = top * (1.0 - row.t) + bottom * row.t;
}
