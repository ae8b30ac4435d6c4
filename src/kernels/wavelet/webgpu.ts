// The wavelet op on WebGPU (streaming.wgsl for Haar and EMA, learnable.wgsl for learnable
// kernels). A WebGPUWaveletOp binds a plan to a device: pipelines and the plan's tables are made
// once; encodeForward/encodeBackward record into a caller's command encoder, so a training step
// stays one submission. forward/backward with typed arrays are the copying convenience.

import { createBuffer, readBuffer, withErrorScopes, workgroupGrid } from '../../backends/webgpu.js';
import { learnableWgsl, streamingWgsl } from '../../generated/wgsl.js';
import { checkActivation, type ActivationShape, type WaveletPlan } from './plan.js';
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

const STORAGE = 'storage' as const;
const READ_ONLY = 'read-only-storage' as const;

function layout(device: GPUDevice, kinds: GPUBufferBindingType[]): GPUBindGroupLayout {
  return device.createBindGroupLayout({
    entries: kinds.map((type, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } })),
  });
}

export class WebGPUWaveletOp {
  private readonly bindLayout: GPUBindGroupLayout;
  private readonly pipelines: Record<string, GPUComputePipeline> = {};
  private readonly windows: GPUBuffer;
  private readonly alphas: GPUBuffer;
  private readonly tapOffsets: GPUBuffer;
  private readonly tapChannels: GPUBuffer;
  private readonly uniforms = new Map<string, GPUBuffer>();
  private summaries: GPUBuffer | undefined;
  private readonly placeholder: GPUBuffer;

  /** options.chunk fixes the streaming chunk (tests, tuning); by default streamingChunk(shape). */
  constructor(readonly device: GPUDevice, readonly plan: WaveletPlan, private readonly options: { chunk?: number } = {}) {
    const learnable = plan.form === 'learnable';
    this.bindLayout = learnable
      ? layout(device, ['uniform', READ_ONLY, READ_ONLY, STORAGE, READ_ONLY, READ_ONLY, READ_ONLY, READ_ONLY])
      : layout(device, ['uniform', READ_ONLY, STORAGE, READ_ONLY, READ_ONLY, STORAGE]);
    const module = device.createShaderModule({ code: learnable ? learnableWgsl : streamingWgsl });
    const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.bindLayout] });
    for (const entryPoint of learnable ? ['convolve', 'tap_gradient'] : ['summarize', 'run_chunk']) {
      this.pipelines[entryPoint] = device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint } });
    }
    this.windows = createBuffer(device, 4 * plan.channels, undefined, Uint32Array.from(plan.windows));
    this.alphas = createBuffer(device, 4 * plan.channels, undefined, plan.alphas);
    this.tapOffsets = createBuffer(device, 4 * (plan.channels + 1), undefined, Uint32Array.from(plan.tapOffsets));
    const tapChannels = new Uint32Array(plan.tapCount);
    for (let c = 0; c < plan.channels; c++) tapChannels.fill(c, plan.tapOffsets[c], plan.tapOffsets[c + 1]);
    this.tapChannels = createBuffer(device, 4 * plan.tapCount, undefined, tapChannels);
    this.placeholder = createBuffer(device, 4);
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
    if (this.plan.tapCount === 0) return;
    const { batch, time, channels } = shape;
    const params = this.uniform([batch, time, channels, this.plan.tapCount, 0, 0, 0, 0]);
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.pipelines.tap_gradient);
    pass.setBindGroup(0, this.bind([params, x, dy, dTaps, this.windows, this.tapOffsets, this.tapChannels, taps]));
    pass.dispatchWorkgroups(...workgroupGrid(this.plan.tapCount, 1)); // one workgroup a tap
    pass.end();
  }

  /** Records output = filter(input), or its transpose filter^T(input) (the backward pass) when `reverse`. */
  encodeFilter(encoder: GPUCommandEncoder, reverse: boolean, shape: ActivationShape, input: GPUBuffer, output: GPUBuffer, taps?: GPUBuffer): void {
    const { batch, time, channels } = shape;
    const columns = Math.ceil(channels / WORKGROUP);
    const pass = encoder.beginComputePass();
    if (this.plan.form === 'learnable') {
      const params = this.uniform([batch, time, channels, this.plan.tapCount, +reverse, 0, 0, 0]);
      pass.setPipeline(this.pipelines.convolve);
      pass.setBindGroup(0, this.bind([params, input, this.placeholder, output, this.windows, this.tapOffsets, this.tapChannels, taps!]));
      pass.dispatchWorkgroups(columns, time, batch);
    } else {
      const chunk = this.options.chunk ?? streamingChunk(shape);
      const chunks = Math.ceil(time / chunk);
      const one = new Uint32Array(new Float32Array([1]).buffer)[0]; // Params.one, as its bits
      const params = this.uniform([batch, time, channels, chunk, chunks, +(this.plan.form === 'ema'), +reverse, one]);
      const group = this.bind([params, input, output, this.windows, this.alphas, this.summaryBuffer(batch * chunks * channels)]);
      pass.setBindGroup(0, group);
      pass.setPipeline(this.pipelines.summarize);
      pass.dispatchWorkgroups(columns, chunks, batch);
      pass.setPipeline(this.pipelines.run_chunk);
      pass.dispatchWorkgroups(columns, chunks, batch);
    }
    pass.end();
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
    for (const buffer of [this.windows, this.alphas, this.tapOffsets, this.tapChannels, this.placeholder, ...this.uniforms.values()]) buffer.destroy();
    this.summaries?.destroy();
  }
}
