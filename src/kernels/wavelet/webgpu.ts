// The wavelet op on WebGPU (streaming.wgsl for Haar and EMA, learnable.wgsl for learnable
// kernels). A WebGPUWaveletOp binds a plan to a device: pipelines and the plan's tables are made
// once; encodeForward/encodeBackward record into a caller's command encoder, so a training step
// stays one submission. forward/backward with typed arrays are the copying convenience.

import { createBuffer, readBuffer, withErrorScopes, workgroupGrid } from '../../runtime/webgpu.js';
import { learnableWgsl, streamingWgsl } from '../../generated/wgsl.js';
import { checkActivation, type ActivationShape, type WaveletPlan } from '../../model/wavelet_plan.js';
import type { WaveletGradients } from './ref.js';

/**
 * Time steps one invocation of streaming.wgsl runs. Short chunks give small shapes enough
 * invocations to hide memory latency (about 2^18 on an H100); long ones cost fewer summary reads
 * when a chunk rebuilds a long window. The float32 error is bounded by the chunk either way.
 */
export function streamingChunk(shape: ActivationShape): number {
  const elements = shape.batch * shape.time * shape.channels;
  return Math.min(64, Math.max(8, 2 ** Math.floor(Math.log2(Math.max(1, elements / 2 ** 18)))));
}
const WORKGROUP = 64;
/** learnable.wgsl's SPAN: the times of a convolve workgroup, the lags of a tap_gradient one. */
const LEARNABLE_SPAN = 512;

const STORAGE = 'storage' as const;
const READ_ONLY = 'read-only-storage' as const;

function layout(device: GPUDevice, kinds: GPUBufferBindingType[]): GPUBindGroupLayout {
  return device.createBindGroupLayout({
    entries: kinds.map((type, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } })),
  });
}

/** One kernel launch of the op: its pipeline, bind group and grid (and its uniform buffer). */
export interface WaveletLaunch {
  pipeline: GPUComputePipeline;
  group: GPUBindGroup;
  workgroups: [number, number, number];
  uniforms: GPUBuffer;
}

function recordLaunches(encoder: GPUCommandEncoder, launches: WaveletLaunch[]): void {
  if (launches.length === 0) return;
  const pass = encoder.beginComputePass();
  for (const { pipeline, group, workgroups } of launches) {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(...workgroups);
  }
  pass.end();
}

export class WebGPUWaveletOp {
  private readonly bindLayout: GPUBindGroupLayout;
  private readonly pipelines: Record<string, GPUComputePipeline> = {};
  private readonly windows: GPUBuffer;
  private readonly alphas: GPUBuffer;
  private readonly tapOffsets: GPUBuffer;
  private readonly uniforms = new Map<string, GPUBuffer>();
  private summaries: GPUBuffer | undefined;
  private readonly placeholder: GPUBuffer;
  private readonly maxWindow: number;

  /** options.chunk fixes the streaming chunk (tests, tuning); by default streamingChunk(shape). */
  constructor(readonly device: GPUDevice, readonly plan: WaveletPlan, private readonly options: { chunk?: number } = {}) {
    const learnable = plan.form === 'learnable';
    if (learnable && plan.channels > 65535) throw new Error(`wavelet op on WebGPU: ${plan.channels} channels for the learnable form; at most 65535 (a workgroup a channel in one grid dimension)`);
    this.bindLayout = learnable
      ? layout(device, ['uniform', READ_ONLY, READ_ONLY, STORAGE, READ_ONLY, READ_ONLY, READ_ONLY])
      : layout(device, ['uniform', READ_ONLY, STORAGE, READ_ONLY, READ_ONLY, STORAGE]);
    const module = device.createShaderModule({ code: learnable ? learnableWgsl : streamingWgsl });
    const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.bindLayout] });
    for (const entryPoint of learnable ? ['convolve', 'tap_gradient', 'tap_gradient_total'] : ['summarize', 'run_chunk']) {
      this.pipelines[entryPoint] = device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint }, label: `wavelet.${entryPoint}` });
    }
    this.windows = createBuffer(device, 4 * plan.channels, undefined, Uint32Array.from(plan.windows));
    this.alphas = createBuffer(device, 4 * plan.channels, undefined, plan.alphas);
    this.tapOffsets = createBuffer(device, 4 * (plan.channels + 1), undefined, Uint32Array.from(plan.tapOffsets));
    this.placeholder = createBuffer(device, 4);
    this.maxWindow = plan.windows.reduce((a, b) => Math.max(a, b), 0);
  }

  private uniform(values: number[]): GPUBuffer {
    const key = values.join(',');
    let buffer = this.uniforms.get(key);
    if (!buffer) {
      buffer = createBuffer(this.device, 32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, Uint32Array.from(values));
      this.uniforms.set(key, buffer);
    }
    return buffer;
  }

  private bind(buffers: GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({
      layout: this.bindLayout,
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  private summaryBuffer(floats: number): GPUBuffer {
    if (!this.summaries || this.summaries.size < 4 * floats) {
      this.summaries?.destroy();
      this.summaries = createBuffer(this.device, 4 * floats);
    }
    return this.summaries;
  }

  /** Records y = filter(x) into `encoder`. x, y: (B, T, E) f32; taps: plan.tapCount f32 (learnable). */
  encodeForward(encoder: GPUCommandEncoder, shape: ActivationShape, x: GPUBuffer, y: GPUBuffer, taps?: GPUBuffer): void {
    this.encodeFilter(encoder, false, shape, x, y, taps);
  }

  /** Records dx = filter^T(dy) and, for the learnable form, dTaps. */
  encodeBackward(encoder: GPUCommandEncoder, shape: ActivationShape, x: GPUBuffer, dy: GPUBuffer, dx: GPUBuffer, taps?: GPUBuffer, dTaps?: GPUBuffer): void {
    this.encodeFilter(encoder, true, shape, dy, dx, taps);
    if (this.plan.form === 'learnable') this.encodeTapGradient(encoder, shape, x, dy, taps!, dTaps!);
  }

  /** Records dTaps[c, k] = sum_{b, t} dy[t, c] x[t - k, c] (learnable form). */
  encodeTapGradient(encoder: GPUCommandEncoder, shape: ActivationShape, x: GPUBuffer, dy: GPUBuffer, taps: GPUBuffer, dTaps: GPUBuffer): void {
    recordLaunches(encoder, this.tapGradientLaunches(shape, x, dy, taps, dTaps));
  }

  /** Records output = filter(input), or its transpose filter^T(input) (the backward pass) when `reverse`. */
  encodeFilter(encoder: GPUCommandEncoder, reverse: boolean, shape: ActivationShape, input: GPUBuffer, output: GPUBuffer, taps?: GPUBuffer): void {
    recordLaunches(encoder, this.filterLaunches(reverse, shape, input, output, taps));
  }

  /**
   * The launches of encodeTapGradient, bind groups made once, for a caller that records them
   * among its own in one compute pass (the training engine). `summaries`: scratch of
   * summaryFloats(shape) floats for the batch rows' partial sums, as filterLaunches takes it.
   */
  tapGradientLaunches(shape: ActivationShape, x: GPUBuffer, dy: GPUBuffer, taps: GPUBuffer, dTaps: GPUBuffer, summaries?: GPUBuffer): WaveletLaunch[] {
    const { tapCount } = this.plan;
    if (tapCount === 0) return [];
    const { batch, time, channels } = shape;
    const partials = summaries ?? this.summaryBuffer(this.summaryFloats(shape));
    const uniforms = this.uniform([batch, time, channels, tapCount, 0, 0, 0, 0]);
    return [
      // learnable.wgsl's tap_gradient: a workgroup for each channel, block of SPAN lags and batch row
      { pipeline: this.pipelines.tap_gradient, group: this.bind([uniforms, x, dy, partials, this.windows, this.tapOffsets, taps]), workgroups: [channels, Math.ceil(this.maxWindow / LEARNABLE_SPAN), batch], uniforms },
      { pipeline: this.pipelines.tap_gradient_total, group: this.bind([uniforms, partials, this.placeholder, dTaps, this.windows, this.tapOffsets, taps]), workgroups: [Math.ceil(tapCount / 256), 1, 1], uniforms },
    ];
  }

  /**
   * The launches of encodeFilter, bind groups made once. `summaries`: scratch of
   * summaryFloats(shape) floats for the streaming forms, owned by the caller; by default one the
   * op keeps (and replaces when a larger shape needs more, so launches made before then must not
   * be replayed after).
   */
  filterLaunches(reverse: boolean, shape: ActivationShape, input: GPUBuffer, output: GPUBuffer, taps?: GPUBuffer, summaries?: GPUBuffer): WaveletLaunch[] {
    const { batch, time, channels } = shape;
    const columns = Math.ceil(channels / WORKGROUP);
    if (this.plan.form === 'learnable') {
      const uniforms = this.uniform([batch, time, channels, this.plan.tapCount, +reverse, 0, 0, 0]);
      const group = this.bind([uniforms, input, this.placeholder, output, this.windows, this.tapOffsets, taps!]);
      // learnable.wgsl's convolve: a workgroup for each channel, block of SPAN times and batch row
      return [{ pipeline: this.pipelines.convolve, group, workgroups: [channels, Math.ceil(time / LEARNABLE_SPAN), batch], uniforms }];
    }
    const chunk = this.chunkFor(shape);
    const chunks = Math.ceil(time / chunk);
    const one = new Uint32Array(new Float32Array([1]).buffer)[0]; // Params.one, as its bits
    const uniforms = this.uniform([batch, time, channels, chunk, chunks, +(this.plan.form === 'ema'), +reverse, one]);
    const group = this.bind([uniforms, input, output, this.windows, this.alphas, summaries ?? this.summaryBuffer(this.summaryFloats(shape))]);
    return [
      { pipeline: this.pipelines.summarize, group, workgroups: [columns, chunks, batch], uniforms },
      { pipeline: this.pipelines.run_chunk, group, workgroups: [columns, chunks, batch], uniforms },
    ];
  }

  /**
   * Scratch floats the op needs for `shape`: the streaming forms' chunk summaries (filterLaunches),
   * the learnable form's batch rows' partial tap gradients (tapGradientLaunches).
   */
  summaryFloats(shape: ActivationShape): number {
    return this.plan.form === 'learnable' ? shape.batch * this.plan.tapCount : shape.batch * Math.ceil(shape.time / this.chunkFor(shape)) * shape.channels;
  }

  private chunkFor(shape: ActivationShape): number {
    return this.options.chunk ?? streamingChunk(shape);
  }

  /** Copies x (and taps) to the GPU, runs forward, reads y back. Throws on any WebGPU error. */
  forward(shape: ActivationShape, x: Float32Array, taps?: Float32Array): Promise<Float32Array> {
    checkActivation(this.plan, shape, x.length, 'x', taps);
    return this.roundTrip([x, taps ?? new Float32Array(0)], [x.byteLength], (encoder, [xb, tapsb], [yb]) => this.encodeForward(encoder, shape, xb, yb, tapsb)).then(([y]) => y);
  }

  /** Copies x, dy (and taps) to the GPU, runs backward, reads dx and dTaps back. */
  async backward(shape: ActivationShape, x: Float32Array, dy: Float32Array, taps?: Float32Array): Promise<WaveletGradients> {
    checkActivation(this.plan, shape, x.length, 'x', taps);
    checkActivation(this.plan, shape, dy.length, 'dy', taps);
    const [dx, dTaps] = await this.roundTrip([x, dy, taps ?? new Float32Array(0)], [x.byteLength, 4 * this.plan.tapCount], (encoder, [xb, dyb, tapsb], [dxb, dTapsb]) =>
      this.encodeBackward(encoder, shape, xb, dyb, dxb, tapsb, dTapsb),
    );
    return { dx, dTaps };
  }

  private roundTrip(inputs: Float32Array[], outputBytes: number[], record: (encoder: GPUCommandEncoder, ins: GPUBuffer[], outs: GPUBuffer[]) => void): Promise<Float32Array[]> {
    const { device } = this;
    return withErrorScopes(device, async () => {
      const ins = inputs.map((values) => createBuffer(device, values.byteLength, undefined, values));
      const outs = outputBytes.map((bytes) => createBuffer(device, bytes));
      try {
        const encoder = device.createCommandEncoder();
        record(encoder, ins, outs);
        device.queue.submit([encoder.finish()]);
        return await Promise.all(outs.map((buffer, i) => (outputBytes[i] ? readBuffer(device, buffer, outputBytes[i]) : new Float32Array(0))));
      } finally {
        for (const buffer of [...ins, ...outs]) buffer.destroy();
      }
    });
  }

  destroy(): void {
    for (const buffer of [this.windows, this.alphas, this.tapOffsets, this.placeholder, ...this.uniforms.values()]) buffer.destroy();
    this.summaries?.destroy();
  }
}
