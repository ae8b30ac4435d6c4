/// <reference types="@webgpu/types" preserve="true" />
// The WebGPU backend: finds an adapter (the browser's navigator.gpu, or Dawn through the `webgpu`
// package in Node), asks for a device with the adapter's own limits (the defaults cap storage
// buffers at 8 a stage and buffers at 256 MiB), and turns WebGPU's silent validation errors into
// thrown ones: a kernel that fails validation must never look like one that computed zeros.

import { BackendUnavailableError } from '../errors.js';

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for a software rasteriser (SwiftShader, lavapipe, WARP): correct, but never fast. */
  software: boolean;
  features: string[];
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupSizeX: number;
  /** Every limit the adapter reports, by its WebGPU name. */
  limits: Record<string, number>;
}

export interface WebGPUBackend {
  kind: 'webgpu';
  device: GPUDevice;
  adapter: AdapterReport;
  /** Throws if the device reported any validation or out-of-memory error since the last call. */
  checkErrors(): Promise<void>;
  /** A storage buffer of `bytes`, optionally filled from `data`. */
  buffer(bytes: number, usage?: number, data?: ArrayBufferView): GPUBuffer;
  /** Copies a buffer back to the CPU (waits for the queue). */
  read(buffer: GPUBuffer, bytes?: number): Promise<Float32Array>;
  destroy(): void;
}

const DEFAULT_USAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** The bytes asked of createBuffer, which readBuffer copies back by default (not the padding). */
const requestedBytes = new WeakMap<GPUBuffer, number>();

/** A buffer of at least `bytes` (padded to 16, never 0, which cannot be bound), optionally filled. */
export function createBuffer(device: GPUDevice, bytes: number, usage = DEFAULT_USAGE(), data?: ArrayBufferView): GPUBuffer {
  // Whole vec4s, so that a shader may bind any buffer as array<vec4<f32>> (matmul.wgsl does).
  const size = Math.max(16, Math.ceil(bytes / 16) * 16);
  const buffer = device.createBuffer({ size, usage, mappedAtCreation: Boolean(data) });
  requestedBytes.set(buffer, Math.max(4, Math.ceil(bytes / 4) * 4));
  if (data) {
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buffer.unmap();
  }
  return buffer;
}

/** Copies `bytes` of a buffer back to the CPU as float32 (waits for the queue). */
export async function readBuffer(device: GPUDevice, buffer: GPUBuffer, bytes = requestedBytes.get(buffer) ?? buffer.size): Promise<Float32Array> {
  const encoder = device.createCommandEncoder();
  const read = recordReadBack(device, encoder, buffer, 0, bytes);
  device.queue.submit([encoder.finish()]);
  return read();
}

/**
 * Records into `encoder` a copy of `bytes` of `buffer` from `byteOffset` into a staging buffer:
 * it is read in the order of the encoder's other work. Once the encoder is submitted, the
 * returned function maps the copy and gives it as float32 (and frees the staging buffer).
 */
export function recordReadBack(device: GPUDevice, encoder: GPUCommandEncoder, buffer: GPUBuffer, byteOffset: number, bytes: number): () => Promise<Float32Array> {
  const staging = device.createBuffer({ size: Math.max(4, Math.ceil(bytes / 4) * 4), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  encoder.copyBufferToBuffer(buffer, byteOffset, staging, 0, staging.size);
  return async () => {
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(staging.getMappedRange().slice(0, bytes));
    staging.unmap();
    staging.destroy();
    return out;
  };
}

/** Runs `work` inside validation and out-of-memory error scopes, and throws what they caught. */
export async function withErrorScopes<T>(device: GPUDevice, work: () => Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = await work();
  } finally {
    const validation = await device.popErrorScope();
    const memory = await device.popErrorScope();
    const error = validation ?? memory;
    if (error) throw new Error(`WebGPU ${validation ? 'validation' : 'out-of-memory'} error: ${error.message}`);
  }
  return result;
}

let nodeGpu: GPU | undefined;

/** Workgroups for `count` items of `size` a workgroup, folded into two dimensions (65535 at most in each). */
export function workgroupGrid(count: number, size: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / size));
  return [Math.min(groups, 65535), Math.ceil(groups / 65535), 1];
}

/** Chromium's software Vulkan driver (Debian package `chromium`). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * In Node on Linux, with no Vulkan driver chosen by the environment and no GPU device node
 * (/dev/dri/renderD*, /dev/nvidia*): use SwiftShader if Chromium is installed, rather than the
 * installed software fallback (Debian 12's lavapipe is too old for Dawn). Also gives the Vulkan
 * loader the XDG_RUNTIME_DIR it complains without.
 */
async function chooseVulkanDriver(): Promise<void> {
  const env = process.env;
  if (process.platform !== 'linux') return;
  env.XDG_RUNTIME_DIR ??= (await import('node:os')).tmpdir();
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES) return;
  const { existsSync, readdirSync } = await import('node:fs');
  const entries = (folder: string) => (existsSync(folder) ? readdirSync(folder) : []);
  const gpuNode = entries('/dev/dri').some((name) => name.startsWith('renderD')) || entries('/dev').some((name) => /^nvidia\d/.test(name));
  if (!gpuNode && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

/** The GPU: the browser's navigator.gpu, or Dawn in Node, then installed as navigator.gpu for code such as tfjs-webgpu that looks there. */
export async function ensureNavigatorGpu(): Promise<GPU> {
  const browserGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (browserGpu) return browserGpu;
  if (nodeGpu) return nodeGpu;
  if (typeof process === 'object' && process.versions?.node) await chooseVulkanDriver();
  let webgpu: { create(flags: string[]): GPU; globals: object };
  try {
    webgpu = (await import('webgpu')) as unknown as typeof webgpu;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND';
    throw new BackendUnavailableError(`no navigator.gpu, and the 'webgpu' package (Dawn for Node, an optional peer dependency) ${missing ? 'is not installed: npm install webgpu' : `did not load: ${(error as Error).message.split('\n')[0]}`}`);
  }
  Object.assign(globalThis, webgpu.globals);
  // Dawn crashes if the GPU object is collected while a device lives: keep it for the process.
  // Exact timestamps for profiles: Dawn rounds them to ~0.1 ms unless told not to (a browser's guard, not needed here).
  nodeGpu = webgpu.create(['disable-dawn-features=timestamp_quantization']);
  const holder = globalThis as { navigator?: { gpu?: GPU } };
  if (!holder.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu: nodeGpu }, configurable: true, writable: true });
  else if (!holder.navigator.gpu) Object.defineProperty(holder.navigator, 'gpu', { value: nodeGpu, configurable: true });
  return nodeGpu;
}

const SOFTWARE_ADAPTERS = /swiftshader|llvmpipe|lavapipe|software|warp|microsoft basic/i;

/** GPUSupportedLimits as a plain record (its fields are getters on the prototype, which JSON and Object.keys skip). */
function adapterLimits(limits: GPUSupportedLimits): Record<string, number> {
  const record: Record<string, number> = {};
  for (let proto = limits as object; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const value = (limits as unknown as Record<string, unknown>)[name];
      if (typeof value === 'number' && !(name in record)) record[name] = value;
    }
  }
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

function describeAdapter(adapter: GPUAdapter): AdapterReport {
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    software: Boolean((adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter) || SOFTWARE_ADAPTERS.test(text),
    features: [...adapter.features].map(String).sort(),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
    limits: adapterLimits(adapter.limits),
  };
}

export async function createWebGPUBackend(): Promise<WebGPUBackend> {
  const gpu = await ensureNavigatorGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    // The hint is Node's (Dawn finds its driver through Vulkan); a browser says itself why it has no adapter.
    const node = typeof process !== 'undefined' && Boolean(process.versions?.node) && typeof (globalThis as { Deno?: unknown }).Deno === 'undefined';
    throw new BackendUnavailableError(
      node
        ? 'WebGPU: no adapter. In Node on Linux, point VK_ICD_FILENAMES at a Vulkan driver: a GPU vendor\'s, or for a slow software one ' +
            "Chromium's SwiftShader (apt-get install chromium; VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json)"
        : 'WebGPU: no adapter (this browser has WebGPU off, or no GPU it accepts)',
    );
  }
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
    },
    // timestamp-query for --profile; subgroups for attention at large heads (kernels/gpt/attention.ts).
    requiredFeatures: (['timestamp-query', 'subgroups'] as GPUFeatureName[]).filter((feature) => adapter.features.has(feature)),
  });
  const errors: string[] = [];
  device.addEventListener('uncapturederror', (event) => errors.push((event as GPUUncapturedErrorEvent).error.message));
  device.lost.then((info) => {
    if (info.reason !== 'destroyed') errors.push(`device lost: ${info.message}`);
  });

  const backend: WebGPUBackend = {
    kind: 'webgpu',
    device,
    adapter: describeAdapter(adapter),
    async checkErrors() {
      await device.queue.onSubmittedWorkDone();
      if (errors.length) throw new Error(`WebGPU reported ${errors.length} error(s): ${errors.splice(0).join(' | ')}`);
    },
    buffer: (bytes, usage, data) => createBuffer(device, bytes, usage, data),
    read: (buffer, bytes) => readBuffer(device, buffer, bytes),
    destroy() {
      device.destroy();
    },
  };
  return backend;
}
