/**
 * Running a hand-written WGSL compute kernel on the tfjs webgpu backend's own GPUDevice, reading
 * and writing tfjs tensors' GPU buffers in place: nothing goes through the CPU.
 *
 * tfjs records its programs into a command encoder it submits lazily, so before a kernel reads a
 * tensor's buffer the backend's queue is flushed (`submitQueue`); the kernel's own command
 * buffer is then submitted behind it on the same queue, which orders everything else. Outputs
 * are buffers taken from tfjs's buffer pool and handed to tfjs as tensors, so disposing them
 * returns the buffers to the pool as for any other tensor.
 *
 * The kernels built on it offer themselves to feature code by registering for `webgpu` with
 * their operation's `AcceleratedOp` (`backends/accelerated.ts`).
 *
 * @module
 */
import { tf } from "../../deps.ts";

/** The parts of tfjs-backend-webgpu 4.22's `WebGPUBackend` a kernel uses. */
interface WebGpuBackendInternals {
  device: GPUDevice;
  tensorMap: { get(dataId: object): { resource?: unknown } | undefined };
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** Invocations per workgroup of every kernel here; WGSL sees it as `override WORKGROUP_SIZE`. */
export const WORKGROUP_SIZE = 64;

/** WebGPU's guaranteed `maxComputeWorkgroupsPerDimension`. */
const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/**
 * The active backend as webgpu; an error naming the backend otherwise (a WGSL kernel called
 * directly rather than through its `AcceleratedOp`, which only offers it on webgpu).
 */
function webGpuBackend(kernel: string): WebGpuBackendInternals {
  if (tf.getBackend() !== "webgpu") {
    throw new Error(`${kernel}: the WGSL kernels need the webgpu backend, not ${tf.getBackend()}`);
  }
  return tf.backend() as unknown as WebGpuBackendInternals;
}

/** How a kernel binds a buffer (binding index = position in {@link WgslRun.bindings}). */
export type BindingKind = "uniform" | "read" | "write";

/** One binding: a tensor's buffer, an output {@link runWgsl} makes, or data uploaded for it. */
export type Binding =
  | { kind: "read"; tensor: tf.Tensor }
  | { kind: "read" | "uniform"; data: Float32Array | Uint32Array | ArrayBuffer }
  | {
    kind: "write";
    outputShape: number[];
    /**
     * What the output holds before the dispatches: these values repeated end to end (buffer
     * copies on the device, so only one repetition is uploaded). Without it the output starts
     * with whatever its pooled buffer held.
     */
    tile?: Float32Array;
  };

/**
 * One dispatch of an entry point over `invocations` threads, bounds-checked in WGSL. Without
 * `rows`, WGSL recovers a linear index from a 2-D dispatch ({@link dispatchSize}); with `rows`,
 * it is a grid: workgroup row y (`workgroup_id.y`, 0..rows − 1) covers `invocations` threads
 * along x.
 */
export interface WgslDispatch {
  entryPoint: string;
  invocations: number;
  rows?: number;
}

/** A kernel run: its WGSL module, bindings (all in group 0) and dispatches, in order. */
export interface WgslRun {
  /** Names the kernel in errors and as the GPU objects' label. */
  label: string;
  source: string;
  bindings: Binding[];
  dispatches: WgslDispatch[];
}

/**
 * Workgroup counts [x, y] covering `invocations` threads; WGSL recovers the linear index as
 * `gid.y * num_workgroups.x * WORKGROUP_SIZE + gid.x`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { dispatchSize, WORKGROUP_SIZE } from "./webgpu_kernel.ts";
 * assert(dispatchSize(100).join() === "2,1");
 * const [x, y] = dispatchSize(70000 * WORKGROUP_SIZE);
 * assert(x <= 65535 && x * y * WORKGROUP_SIZE >= 70000 * WORKGROUP_SIZE);
 * ```
 */
export function dispatchSize(invocations: number): [number, number] {
  const groups = Math.max(1, Math.ceil(invocations / WORKGROUP_SIZE));
  const rows = Math.ceil(groups / MAX_WORKGROUPS_PER_DIMENSION);
  return [Math.ceil(groups / rows), rows];
}

/** Compiled pipelines per device and kernel, sharing one explicit bind-group layout. */
interface CompiledKernel {
  layout: GPUBindGroupLayout;
  pipelines: Map<string, GPUComputePipeline>;
}
const compiled = new WeakMap<GPUDevice, Map<string, CompiledKernel>>();

function compile(device: GPUDevice, run: WgslRun): CompiledKernel {
  const perDevice = compiled.get(device) ?? new Map<string, CompiledKernel>();
  compiled.set(device, perDevice);
  const cached = perDevice.get(run.label);
  if (cached) return cached;
  const bufferTypes: Record<BindingKind, GPUBufferBindingType> = {
    uniform: "uniform",
    read: "read-only-storage",
    write: "storage",
  };
  const layout = device.createBindGroupLayout({
    label: run.label,
    entries: run.bindings.map((binding, index) => ({
      binding: index,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: bufferTypes[binding.kind] },
    })),
  });
  const module = device.createShaderModule({ label: run.label, code: run.source });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  const entryPoints = new Set(run.dispatches.map((d) => d.entryPoint));
  const pipelines = new Map([...entryPoints].map((entryPoint) => [
    entryPoint,
    device.createComputePipeline({
      label: `${run.label}.${entryPoint}`,
      layout: pipelineLayout,
      compute: { module, entryPoint, constants: { WORKGROUP_SIZE } },
    }),
  ]));
  const kernel = { layout, pipelines };
  perDevice.set(run.label, kernel);
  return kernel;
}

/** A GPU buffer holding `data`, made mapped so no queue write is needed. */
function bufferWith(
  device: GPUDevice,
  data: Float32Array | Uint32Array | ArrayBuffer,
  usage: number,
): GPUBuffer {
  const bytes = data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // Bindings need a non-zero size that is a multiple of 4 (16 for uniforms).
  const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
  const buffer = device.createBuffer({ size, usage, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).set(bytes);
  buffer.unmap();
  return buffer;
}

/** Errors, naming the kernel, for what WebGPU would only report asynchronously. */
function checkLimits(run: WgslRun, device: GPUDevice): void {
  for (const { entryPoint, invocations, rows } of run.dispatches) {
    if (
      rows !== undefined &&
      Math.max(rows, Math.ceil(invocations / WORKGROUP_SIZE)) > MAX_WORKGROUPS_PER_DIMENSION
    ) {
      throw new Error(
        `${run.label}.${entryPoint}: a grid of ${rows} rows x ${invocations} threads exceeds ` +
          `${MAX_WORKGROUPS_PER_DIMENSION} workgroups per dimension`,
      );
    }
  }
  const maxBytes = device.limits.maxStorageBufferBindingSize;
  for (const binding of run.bindings) {
    const values = "tensor" in binding
      ? binding.tensor.size
      : "outputShape" in binding
      ? binding.outputShape.reduce((a, b) => a * b, 1)
      : 0;
    if (values * 4 > maxBytes) {
      throw new Error(
        `${run.label}: a ${values * 4}-byte buffer exceeds this device's binding limit of ` +
          `${maxBytes} bytes; pass fewer rows or images per call`,
      );
    }
  }
}

/**
 * Runs `run` on tfjs's device and returns one float32 tensor per `write` binding, in binding
 * order; the caller disposes them. Inputs are bound in place (uploaded first if their data is
 * still on the CPU). Synchronous, like any tfjs op, so it works inside `tf.tidy`.
 *
 * @throws {Error} when the active backend is not webgpu, or a buffer is larger than the device
 * binds.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf } from "../../deps.ts";
 * import { probeWebGpu } from "../backend.ts";
 * import { runWgsl } from "./webgpu_kernel.ts";
 * const source = `
 *   override WORKGROUP_SIZE: u32 = 64u;
 *   @group(0) @binding(0) var<storage, read> x: array<f32>;
 *   @group(0) @binding(1) var<storage, read_write> y: array<f32>;
 *   @compute @workgroup_size(WORKGROUP_SIZE)
 *   fn double(@builtin(global_invocation_id) gid: vec3<u32>) {
 *     if (gid.x < arrayLength(&y)) { y[gid.x] = 2.0 * x[gid.x]; }
 *   }`;
 * if ((await probeWebGpu()).available && await tf.setBackend("webgpu")) {
 *   const x = tf.tensor1d([1, 2, 3]);
 *   const [y] = runWgsl({
 *     label: "double",
 *     source,
 *     bindings: [{ kind: "read", tensor: x }, { kind: "write", outputShape: [3] }],
 *     dispatches: [{ entryPoint: "double", invocations: 3 }],
 *   });
 *   assert((await y.data()).join() === "2,4,6");
 *   tf.dispose([x, y]);
 * }
 * ```
 */
export function runWgsl(run: WgslRun): tf.Tensor[] {
  const backend = webGpuBackend(run.label);
  const device = backend.device;
  checkLimits(run, device);
  const kernel = compile(device, run);
  const scratch: GPUBuffer[] = [];
  const outputs: tf.TensorInfo[] = [];
  const tiles: { source: GPUBuffer; tileBytes: number; target: GPUBuffer; bytes: number }[] = [];
  const buffers = run.bindings.map((binding) => {
    if ("tensor" in binding) {
      backend.uploadToGPU(binding.tensor.dataId);
      const resource = backend.tensorMap.get(binding.tensor.dataId)?.resource;
      if (!(resource instanceof GPUBuffer)) {
        throw new Error(`${run.label}: an input tensor is not held in a GPU buffer`);
      }
      return resource;
    }
    if ("data" in binding) {
      const usage = binding.kind === "uniform" ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE;
      const buffer = bufferWith(device, binding.data, usage);
      scratch.push(buffer);
      return buffer;
    }
    const info = backend.makeTensorInfo(binding.outputShape, "float32");
    // With no values, this takes a STORAGE | COPY_SRC | COPY_DST buffer from tfjs's pool.
    backend.uploadToGPU(info.dataId);
    outputs.push(info);
    const buffer = backend.tensorMap.get(info.dataId)!.resource as GPUBuffer;
    if (binding.tile?.length) {
      const source = bufferWith(device, binding.tile, GPUBufferUsage.COPY_SRC);
      scratch.push(source);
      const bytes = binding.outputShape.reduce((a, b) => a * b, 1) * 4;
      tiles.push({ source, tileBytes: binding.tile.byteLength, target: buffer, bytes });
    }
    return buffer;
  });
  const bindGroup = device.createBindGroup({
    layout: kernel.layout,
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  // tfjs's pending programs (which may write our inputs, or upload them) go first.
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
  const encoder = device.createCommandEncoder({ label: run.label });
  for (const { source, tileBytes, target, bytes } of tiles) {
    for (let offset = 0; offset < bytes; offset += tileBytes) {
      encoder.copyBufferToBuffer(source, 0, target, offset, Math.min(tileBytes, bytes - offset));
    }
  }
  const pass = encoder.beginComputePass({ label: run.label });
  pass.setBindGroup(0, bindGroup);
  for (const { entryPoint, invocations, rows } of run.dispatches) {
    pass.setPipeline(kernel.pipelines.get(entryPoint)!);
    const [x, y] = rows === undefined
      ? dispatchSize(invocations)
      : [Math.ceil(invocations / WORKGROUP_SIZE), rows];
    pass.dispatchWorkgroups(x, y);
  }
  pass.end();
  device.queue.submit([encoder.finish()]);
  // Destroying after submission frees the buffers once the submitted work is done.
  scratch.forEach((buffer) => buffer.destroy());
  return outputs.map((info) => tf.engine().makeTensorFromTensorInfo(info));
}
