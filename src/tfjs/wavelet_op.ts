// The wavelet structure as a TensorFlow.js op, with kernels for the `cpu`, `wasm` and `webgpu`
// backends and its gradient, so that tf.variableGrads works through it in a tfjs model.
//
// The kernels are ours, not tfjs compositions: on `webgpu` they record streaming.wgsl /
// learnable.wgsl on tfjs's own GPUDevice and buffers; on `cpu` and `wasm` they run the
// AssemblyScript SIMD kernels (one instance of ours beside tfjs's heap, so inputs are copied in).
// As in the engine, dL/dx is the same kernel run backwards in time (attr `reverse`).

import * as tf from '@tensorflow/tfjs-core';
import { createWasmBackend, type WasmBackend, type WasmSource } from '../runtime/wasm.js';
import { WaveletInputError } from '../errors.js';
import { planFromWindows, type WaveletForm, type WaveletPlan } from '../model/wavelet_plan.js';
import { WasmWaveletOp } from '../kernels/wavelet/wasm.js';
import { WebGPUWaveletOp } from '../kernels/wavelet/webgpu.js';

export const WAVELET_FILTER = 'WaveletCausalFilter';
export const WAVELET_TAP_GRADIENT = 'WaveletTapGradient';

interface FilterAttrs {
  form: WaveletForm;
  windows: number[];
  reverse: boolean;
}

const plans = new Map<string, WaveletPlan>();
function planOf(attrs: FilterAttrs): WaveletPlan {
  const key = `${attrs.form}:${attrs.windows.join(',')}`;
  let plan = plans.get(key);
  if (!plan) plans.set(key, (plan = planFromWindows(attrs.form, Int32Array.from(attrs.windows))));
  return plan;
}

function shapeOf(info: tf.TensorInfo) {
  const [batch, time, channels] = info.shape;
  return { batch, time, channels };
}

/**
 * y = the wavelet structure of `plan` applied to x of shape (B, T, E); `taps` for the learnable
 * form (plan.tapCount values, see haarInitialTaps). Differentiable in x and taps.
 */
export function waveletFilter(x: tf.Tensor, plan: WaveletPlan, taps?: tf.Tensor): tf.Tensor3D {
  if (x.rank !== 3) throw new WaveletInputError(`waveletFilter: x must have rank 3 (B, T, E), found rank ${x.rank} with shape [${x.shape}]`);
  if (x.shape[2] !== plan.channels) throw new WaveletInputError(`waveletFilter: x has ${x.shape[2]} channels, the plan was made for ${plan.channels}`);
  if (x.dtype !== 'float32') throw new WaveletInputError(`waveletFilter: x must be float32, found ${x.dtype}`);
  if (plan.form === 'learnable' && (!taps || taps.size !== plan.tapCount)) {
    throw new WaveletInputError(`waveletFilter: the learnable form needs taps of ${plan.tapCount} values, found ${taps ? taps.size : 'none'}`);
  }
  const attrs: FilterAttrs = { form: plan.form, windows: Array.from(plan.windows), reverse: false };
  const inputs = { x, taps: taps ?? tf.zeros([1]) };
  return tf.engine().runKernel(WAVELET_FILTER, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
}

let cpuKernels: WasmBackend | undefined;
const wasmOps = new Map<WaveletPlan, WasmWaveletOp>();
const gpuOps = new WeakMap<GPUDevice, Map<WaveletPlan, WebGPUWaveletOp>>();

function wasmOp(plan: WaveletPlan): WasmWaveletOp {
  let op = wasmOps.get(plan);
  if (!op) wasmOps.set(plan, (op = new WasmWaveletOp(cpuKernels!, plan)));
  return op;
}

/** tfjs-webgpu's GPUBackend, as far as these kernels use it. */
interface TfjsWebGPU {
  device: GPUDevice;
  tensorMap: { get(dataId: object): { resource?: unknown } };
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

function gpuBuffer(backend: TfjsWebGPU, info: tf.TensorInfo): GPUBuffer {
  backend.uploadToGPU(info.dataId);
  return backend.tensorMap.get(info.dataId).resource as GPUBuffer;
}

function gpuOp(backend: TfjsWebGPU, plan: WaveletPlan): WebGPUWaveletOp {
  let ops = gpuOps.get(backend.device);
  if (!ops) gpuOps.set(backend.device, (ops = new Map()));
  let op = ops.get(plan);
  if (!op) ops.set(plan, (op = new WebGPUWaveletOp(backend.device, plan)));
  return op;
}

/** Runs `record` on tfjs-webgpu's device after the work tfjs has queued, writing into fresh outputs. */
function runOnTfjsWebGPU(backend: TfjsWebGPU, inputs: tf.TensorInfo[], outputs: { shape: number[] }[], record: (encoder: GPUCommandEncoder, ins: GPUBuffer[], outs: GPUBuffer[]) => void): tf.TensorInfo[] {
  const inBuffers = inputs.map((info) => gpuBuffer(backend, info));
  const outInfos = outputs.map(({ shape }) => backend.makeTensorInfo(shape, 'float32'));
  const outBuffers = outInfos.map((info) => gpuBuffer(backend, info));
  // tfjs's pending uploads and kernels go first (the queue keeps order); it has no public way to
  // record into its own encoder, so its encoder is closed and submitted.
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
  const encoder = backend.device.createCommandEncoder();
  record(encoder, inBuffers, outBuffers);
  backend.device.queue.submit([encoder.finish()]);
  return outInfos;
}

type KernelArgs = { inputs: Record<'x' | 'dy' | 'taps', tf.TensorInfo>; backend: unknown; attrs?: tf.NamedAttrMap };

/** Reads a tensor's values and makes an output on the cpu or wasm tfjs backend. */
function hostIO(backend: unknown) {
  const host = backend as {
    readSync(dataId: object): Float32Array;
    makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
    typedArrayFromHeap?(info: tf.TensorInfo): Float32Array;
    makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
  };
  return {
    read: (info: tf.TensorInfo) => host.readSync(info.dataId) as Float32Array,
    output(shape: number[], values: Float32Array): tf.TensorInfo {
      if (!host.typedArrayFromHeap) return host.makeTensorInfo(shape, 'float32', values);
      const out = host.makeOutput(shape, 'float32'); // tfjs-wasm: write into its heap
      host.typedArrayFromHeap(out).set(values);
      return out;
    },
  };
}

function filterOnHost({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { form, reverse } = attrs as unknown as FilterAttrs;
  const plan = planOf(attrs as unknown as FilterAttrs);
  const io = hostIO(backend);
  const x = inputs.x;
  const taps = form === 'learnable' ? io.read(inputs.taps) : undefined;
  return io.output(x.shape, wasmOp(plan).filter(reverse, shapeOf(x), io.read(x), taps));
}

function tapGradientOnHost({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const plan = planOf(attrs as unknown as FilterAttrs);
  const io = hostIO(backend);
  const op = wasmOp(plan);
  const { arena } = op.backend;
  const mark = arena.mark();
  try {
    const x = arena.put(io.read(inputs.x));
    const dy = arena.put(io.read(inputs.dy));
    const dTaps = arena.alloc(4 * plan.tapCount);
    op.tapGradientAt(shapeOf(inputs.x), x, dy, dTaps);
    return io.output([plan.tapCount], arena.f32(dTaps, plan.tapCount).slice());
  } finally {
    arena.release(mark);
  }
}

function filterOnWebGPU({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { reverse } = attrs as unknown as FilterAttrs;
  const gpu = backend as TfjsWebGPU;
  const op = gpuOp(gpu, planOf(attrs as unknown as FilterAttrs));
  const shape = shapeOf(inputs.x);
  const [y] = runOnTfjsWebGPU(gpu, [inputs.x, inputs.taps], [{ shape: inputs.x.shape }], (encoder, [x, taps], [out]) =>
    op.encodeFilter(encoder, reverse, shape, x, out, taps),
  );
  return y;
}

function tapGradientOnWebGPU({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const gpu = backend as TfjsWebGPU;
  const plan = planOf(attrs as unknown as FilterAttrs);
  const op = gpuOp(gpu, plan);
  const [dTaps] = runOnTfjsWebGPU(gpu, [inputs.x, inputs.dy, inputs.taps], [{ shape: [plan.tapCount] }], (encoder, [x, dy, taps], [out]) =>
    op.encodeTapGradient(encoder, shapeOf(inputs.x), x, dy, taps, out),
  );
  return dTaps;
}

let registered: Promise<void> | undefined;

/**
 * Registers the kernels (cpu, wasm, webgpu) and the gradient. Idempotent; call before the op is
 * used. Needs the wasm kernels (loaded here, from `source` if given) for the cpu and wasm backends.
 */
export function registerWaveletOp(source?: WasmSource): Promise<void> {
  registered ??= (async () => {
    cpuKernels = await createWasmBackend(source);
    const kernels: [string, string, (args: KernelArgs) => tf.TensorInfo][] = [
      [WAVELET_FILTER, 'cpu', filterOnHost],
      [WAVELET_FILTER, 'wasm', filterOnHost],
      [WAVELET_FILTER, 'webgpu', filterOnWebGPU],
      [WAVELET_TAP_GRADIENT, 'cpu', tapGradientOnHost],
      [WAVELET_TAP_GRADIENT, 'wasm', tapGradientOnHost],
      [WAVELET_TAP_GRADIENT, 'webgpu', tapGradientOnWebGPU],
    ];
    for (const [kernelName, backendName, kernelFunc] of kernels) {
      tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
    }
    tf.registerGradient({
      kernelName: WAVELET_FILTER,
      inputsToSave: ['x', 'taps'],
      gradFunc: (dy, saved, attrs) => {
        const [x, taps] = saved;
        const filterAttrs = attrs as unknown as FilterAttrs;
        const flipped = { ...filterAttrs, reverse: !filterAttrs.reverse } as unknown as tf.NamedAttrMap;
        return {
          x: () => tf.engine().runKernel(WAVELET_FILTER, { x: dy as tf.Tensor, taps } as tf.NamedTensorMap, flipped) as tf.Tensor,
          // For the reversed filter (y = F^T x), dh[k] = sum dy[t + k] x[t]: x and dy swap roles.
          taps: () => {
            if (filterAttrs.form !== 'learnable') return tf.zerosLike(taps);
            const pair = filterAttrs.reverse ? { x: dy, dy: x } : { x, dy };
            return tf.engine().runKernel(WAVELET_TAP_GRADIENT, { ...pair, taps } as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
          },
        };
      },
    });
  })();
  return registered;
}
