/**
 * Running one WGSL compute shader on a GPUDevice — tfjs's own when the webgpu backend is active —
 * and handing its float32 output to tfjs as a tensor that never visits the CPU.
 *
 * Shaders here follow one binding convention: `@binding(0)` a uniform block of u32 parameters,
 * then the read-only storage inputs in order, then the read-write output last.
 *
 * @module
 */
import { tf } from "../deps.ts";
import { InputError } from "../core/errors.ts";

/** One compute dispatch: the shader, its parameters, inputs, output size and workgroup count. */
export interface ComputeJob {
  /** WGSL source with an entry point `main`. */
  shader: string;
  /** The `@binding(0)` uniform block (u32 fields). */
  params: Uint32Array;
  /** `@binding(1)`… read-only storage inputs; empty arrays are allowed. */
  inputs: readonly (Float32Array | Int32Array | Uint32Array)[];
  /** Float32 values the read-write output buffer holds. */
  outputValues: number;
  /**
   * What the output starts as, repeated end to end until it is full (uploaded once and copied
   * by buffer copies in the same submission, before the dispatch; not bound to the shader).
   * Without it the output starts as zeros.
   */
  tile?: Float32Array;
  /** Workgroups to launch (spread over x and y beyond the per-dimension limit). */
  workgroups: number;
  /** Names what is being built, for the size error. */
  what: string;
}

const pipelines = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/** The compiled shader, made once per device; a shader error rejects instead of computing zeros. */
function pipelineFor(device: GPUDevice, shader: string): Promise<GPUComputePipeline> {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, cache = new Map());
  let pipeline = cache.get(shader);
  if (!pipeline) {
    pipeline = device.createComputePipelineAsync({
      layout: "auto",
      compute: { module: device.createShaderModule({ code: shader }), entryPoint: "main" },
    });
    cache.set(shader, pipeline);
  }
  return pipeline;
}

/** A storage (or uniform) buffer holding `data`; zero-length data gets a 4-byte dummy (WebGPU binds nothing empty). */
function uploaded(
  device: GPUDevice,
  data: Float32Array | Int32Array | Uint32Array,
  usage: number,
): GPUBuffer {
  const bytes = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buffer = device.createBuffer({ size: bytes, usage, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
  buffer.unmap();
  return buffer;
}

/**
 * The x and y workgroup counts covering `workgroups` when one dimension holds at most
 * `maxPerDimension` (shaders linearise `id.x + id.y · num_workgroups.x` and skip the excess).
 *
 * @example
 * ```ts
 * import { workgroupGrid } from "./webgpu_compute.ts";
 * console.assert(workgroupGrid(10, 65535).join() === "10,1");
 * console.assert(workgroupGrid(70000, 65535).join() === "35000,2");
 * ```
 */
export function workgroupGrid(workgroups: number, maxPerDimension: number): [number, number] {
  const y = Math.ceil(workgroups / maxPerDimension);
  return [Math.ceil(workgroups / y), y];
}

/**
 * Submits `job` to `device`'s queue and returns its output buffer (`STORAGE | COPY_SRC |
 * COPY_DST`, the caller's to destroy). The inputs are uploaded into buffers of
 * their own, so no tfjs data is read and tfjs's pending work needs no flush.
 *
 * @throws {InputError} when the output exceeds the device's largest storage binding.
 *
 * @example
 * ```ts ignore
 * const buffer = await runCompute(device, { shader, params, inputs: [x], outputValues: x.length, workgroups, what: "copies" });
 * const values = await readFloat32(device, buffer, x.length);
 * ```
 */
export async function runCompute(device: GPUDevice, job: ComputeJob): Promise<GPUBuffer> {
  const outputBytes = job.outputValues * 4;
  const limit = device.limits.maxStorageBufferBindingSize;
  if (outputBytes > limit) {
    throw new InputError(
      `${job.what}: ${outputBytes} bytes exceed this GPU's largest storage binding ` +
        `(${limit} bytes); build fewer copies per call`,
    );
  }
  const pipeline = await pipelineFor(device, job.shader);
  const params = uploaded(device, job.params, GPUBufferUsage.UNIFORM);
  const inputs = job.inputs.map((data) => uploaded(device, data, GPUBufferUsage.STORAGE));
  const tile = job.tile && uploaded(device, job.tile, GPUBufferUsage.COPY_SRC);
  const output = device.createBuffer({
    // Exactly the values: tfjs reads a wrapped buffer's whole size back.
    size: Math.max(4, outputBytes),
    // tfjs copies it into a buffer of the same usage, which must accept the copy.
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [params, ...inputs, output].map((buffer, binding) => ({
      binding,
      resource: { buffer },
    })),
  });
  const encoder = device.createCommandEncoder();
  if (tile) {
    const tileBytes = job.tile!.byteLength;
    for (let offset = 0; tileBytes > 0 && offset < outputBytes; offset += tileBytes) {
      encoder.copyBufferToBuffer(
        tile,
        0,
        output,
        offset,
        Math.min(tileBytes, outputBytes - offset),
      );
    }
  }
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(
    ...workgroupGrid(job.workgroups, device.limits.maxComputeWorkgroupsPerDimension),
  );
  pass.end();
  device.queue.submit([encoder.finish()]);
  // Destruction waits for the submitted work that uses them.
  for (const buffer of [params, ...inputs, ...(tile ? [tile] : [])]) buffer.destroy();
  return output;
}

/**
 * The first `count` float32 values of a `COPY_SRC` buffer, copied back to the CPU (for tests
 * and benchmarks; metrics hand buffers to tfjs with {@link tensorFromBuffer} instead).
 *
 * @example
 * ```ts ignore
 * const values = await readFloat32(device, buffer, 12);
 * ```
 */
export async function readFloat32(
  device: GPUDevice,
  buffer: GPUBuffer,
  count: number,
): Promise<Float32Array> {
  const staging = device.createBuffer({
    size: Math.max(4, count * 4),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, count * 4);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const values = new Float32Array(staging.getMappedRange().slice(0, count * 4));
  staging.unmap();
  staging.destroy();
  return values;
}

/**
 * tfjs's GPUDevice when the active backend is webgpu, otherwise undefined.
 *
 * @example
 * ```ts
 * import { tf } from "../deps.ts";
 * import { tfjsWebGpuDevice } from "./webgpu_compute.ts";
 * await tf.setBackend("cpu");
 * console.assert(tfjsWebGpuDevice() === undefined);
 * ```
 */
export function tfjsWebGpuDevice(): GPUDevice | undefined {
  if (tf.getBackend() !== "webgpu") return undefined;
  return (tf.backend() as unknown as { device: GPUDevice }).device;
}

/**
 * A webgpu-backend tensor of `shape` holding the buffer's values. tfjs copies the buffer on the
 * GPU (the copy is submitted at once), so `buffer` is destroyed here.
 *
 * @example
 * ```ts ignore
 * const copies = tensorFromBuffer(await runCompute(device, job), [k * n, h, w, c]);
 * ```
 */
export function tensorFromBuffer(
  buffer: GPUBuffer,
  shape: readonly [number, number, number, number],
): tf.Tensor4D {
  const tensor = tf.tensor({ buffer }, [...shape], "float32") as tf.Tensor4D;
  buffer.destroy();
  return tensor;
}
