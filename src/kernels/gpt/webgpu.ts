// The WGSL kernels (matmul, layernorm, attention, pointwise, crossentropy, encoder, WaveletLM,
// the optimizer) as pipelines, and `KernelLaunch`: one kernel launch with its uniforms and bind group made
// once, so that a training step is replayed by recording a list of them into one encoder.

import { createBuffer, workgroupGrid } from '../../runtime/webgpu.js';
import { attentionShader, defaultAttentionTiling, subgroupLanesUnsupported, needsSubgroups, subgroupLanes, type AttentionTiling } from './attention.js';
import { MATMUL_TILINGS, matmulShader, matmulTilingLabel, type MatmulLayout, type MatmulTiling } from './matmul_shader.js';
import { attentionBlocksWgsl, attentionSubgroupWgsl, attentionWgsl, crossentropyWgsl, decodeWgsl, encoderWgsl, layernormWgsl, matmulWgsl, optimizerWgsl, pointwiseWgsl, waveletLmWgsl } from '../../generated/wgsl.js';

type Binding = 'uniform' | 'storage' | 'read-only-storage';
const R: Binding = 'read-only-storage';
const W: Binding = 'storage';

const SHADERS = {
  matmul: { code: matmulWgsl, bindings: ['uniform', R, R, R, W], entries: ['matmul', 'reduce_splits'] },
  layernorm: { code: layernormWgsl, bindings: ['uniform', R, R, W, W, R, W], entries: ['forward', 'backward_input', 'backward_params_partials', 'backward_params_total'] },
  attention: { code: attentionWgsl, bindings: ['uniform', R, W, W, R, R, W], entries: ['forward', 'backward_query', 'backward_key_value'] },
  pointwise: { code: pointwiseWgsl, bindings: ['uniform', R, R, W], entries: ['gelu', 'gelu_backward', 'add', 'add_into', 'column_sums_partials', 'column_sums_total'] },
  crossentropy: { code: crossentropyWgsl, bindings: ['uniform', R, R, W, W], entries: ['forward', 'mean'] },
  encoder: { code: encoderWgsl, bindings: ['uniform', R, R, W, R, W, R], entries: ['forward', 'backward_tokens', 'backward_positions'] },
  optimizer: { code: optimizerWgsl, bindings: ['uniform', W, W, W, W, R, W], entries: ['norm_partials', 'norm_total', 'update_adamw', 'update_adagrad'] },
  decode: { code: decodeWgsl, bindings: ['uniform', R, R, R, W, W, W, R], entries: ['embed', 'store_kv', 'attend', 'wavelet_step'] },
  // WaveletLM's layers (src/kernels/wavelet_lm/wavelet-lm.wgsl)
  waveletLm: {
    code: waveletLmWgsl,
    bindings: ['uniform', R, R, R, W, W],
    entries: [
      'pad_forward', 'pad_backward', 'lifting_forward', 'lifting_backward_input', 'lifting_step', 'sum_forward', 'add_scaled', 'dot_partials', 'dot_total',
      'channel_scale_forward', 'channel_scale_backward_input', 'gain_partials', 'gain_total', 'hadamard', 'silu_gate_forward',
      'silu_gate_backward_input', 'silu_gate_backward_gate', 'running_mean_forward', 'running_mean_backward', 'running_mean_step',
    ],
  },
} satisfies Record<string, { code: string; bindings: Binding[]; entries: string[] }>;

export type ShaderName = keyof typeof SHADERS;

export interface KernelLaunch {
  pipeline: GPUComputePipeline;
  group: GPUBindGroup;
  workgroups: [number, number, number];
  /** The uniform buffer, for values that change between steps (learning rate, scale). */
  uniforms: GPUBuffer;
}

export { workgroupGrid as grid } from '../../runtime/webgpu.js';

export class GptKernels {
  private readonly layouts = new Map<ShaderName, GPUBindGroupLayout>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** matmul.wgsl's module and pipeline layout for each tiling, by its label. */
  private readonly matmulModules = new Map<string, { module: GPUShaderModule; layout: GPUPipelineLayout }>();
  /** A small buffer for bindings a kernel's entry point does not use. */
  readonly unused: GPUBuffer;
  readonly unusedWritable: GPUBuffer;
  /** The uniform buffers of launches made and not yet released. */
  private readonly launchUniforms = new Set<GPUBuffer>();

  /** How attention is tiled for this model (and so which shader runs it): its workgroups own `attention.queries` rows each. */
  readonly attention: AttentionTiling;

  /**
   * headSize: the model's C / NH, compiled into the attention shader with the tiling (the
   * device's choice unless given). matmulTilings: the specialisations of matmul.wgsl to compile
   * (matmul.ts chooses among them per product).
   */
  constructor(readonly device: GPUDevice, headSize: number, attention: AttentionTiling = defaultAttentionTiling(headSize, device), readonly matmulTilings: readonly MatmulTiling[] = Object.values(MATMUL_TILINGS)) {
    this.attention = attention;
    const unsupported = needsSubgroups(attention) && subgroupLanesUnsupported(device, subgroupLanes(attention));
    if (unsupported) throw new Error(`attention: tiling ${JSON.stringify(attention)} exchanges values across ${subgroupLanes(attention)} subgroup lanes, but ${unsupported}`);
    const attentionLimits = needsSubgroups(attention) ? { bytes: device.limits.maxComputeWorkgroupStorageSize, invocations: device.limits.maxComputeInvocationsPerWorkgroup } : undefined;
    for (const [name, shader] of Object.entries(SHADERS) as [ShaderName, (typeof SHADERS)[ShaderName]][]) {
      const layout = device.createBindGroupLayout({
        entries: shader.bindings.map((type, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } })),
      });
      this.layouts.set(name, layout);
      const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
      // [entry-point suffix, code]: matmul.wgsl once per tiling (its 'matmul' entry named by the tiling), the others once.
      const variants: [string, string][] =
        name === 'matmul' ? matmulTilings.map((t) => [` ${matmulTilingLabel(t)}`, matmulShader(shader.code, t)])
        : name === 'attention' ? [['', attentionShader({ keySplit: shader.code, headSplit: attentionSubgroupWgsl, scoreBlocks: attentionBlocksWgsl }, headSize, attention, attentionLimits)]]
        : [['', shader.code]];
      for (const [suffix, code] of variants) {
        const module = device.createShaderModule({ code, label: name + suffix });
        for (const entryPoint of shader.entries) {
          // matmul's own entry is compiled per operand layout when a product first asks (matmulEntry).
          if (name === 'matmul' && entryPoint === 'matmul') this.matmulModules.set(suffix.trim(), { module, layout: pipelineLayout });
          else if (!this.pipelines.has(`${name}.${entryPoint}`)) this.pipelines.set(`${name}.${entryPoint}`, device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint }, label: `${name}.${entryPoint}` }));
        }
      }
    }
    this.unused = createBuffer(device, 4);
    this.unusedWritable = createBuffer(device, 4);
  }

  /**
   * The matmul shader's entry point for `tiling`, loading A and B as `layouts` say (matmul.wgsl's
   * A_LAYOUT and B_LAYOUT); its pipeline is compiled the first time a product asks for it.
   */
  matmulEntry(tiling: MatmulTiling, [aLayout, bLayout]: readonly [MatmulLayout, MatmulLayout]): string {
    const label = matmulTilingLabel(tiling);
    const compiled = this.matmulModules.get(label);
    if (!compiled) throw new Error(`matmul: tiling ${label} was not compiled (these were: ${this.matmulTilings.map(matmulTilingLabel).join(', ')})`);
    const entry = `matmul ${label} a${aLayout}b${bLayout}`;
    const key = `matmul.${entry}`;
    if (!this.pipelines.has(key)) {
      const compute = { module: compiled.module, entryPoint: 'matmul', constants: { A_LAYOUT: aLayout, B_LAYOUT: bLayout } };
      this.pipelines.set(key, this.device.createComputePipeline({ layout: compiled.layout, compute, label: key }));
    }
    return entry;
  }

  /**
   * A launch of shader.entry with `uniforms` (u32 values; floats as their bits through
   * f32Bits) and `buffers` for bindings 1.. in order.
   */
  dispatch(shader: ShaderName, entry: string, uniforms: number[], buffers: GPUBuffer[], workgroups: [number, number, number]): KernelLaunch {
    const padded = [...uniforms, ...new Array((4 - (uniforms.length % 4)) % 4).fill(0)];
    const uniformBuffer = createBuffer(this.device, 4 * padded.length, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, Uint32Array.from(padded));
    this.launchUniforms.add(uniformBuffer);
    const group = this.device.createBindGroup({
      layout: this.layouts.get(shader)!,
      entries: [uniformBuffer, ...buffers].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pipeline = this.pipelines.get(`${shader}.${entry}`);
    if (!pipeline) throw new Error(`${shader}: no entry point '${entry}' was compiled`);
    return { pipeline, group, workgroups, uniforms: uniformBuffer };
  }

  /** Frees the uniform buffers of launches this made (others' steps are left alone). */
  release(steps: GpuCommand[]): void {
    for (const step of steps) {
      if ('uniforms' in step && this.launchUniforms.delete(step.uniforms)) step.uniforms.destroy();
    }
  }

  /** Frees every buffer this holds; launches made from it cannot run after. */
  destroy(): void {
    for (const buffer of [this.unused, this.unusedWritable, ...this.launchUniforms]) buffer.destroy();
    this.launchUniforms.clear();
  }
}

/** Buffers of one attention layer: qkv (B, T, 3C) in, y (B, T, C) out, lse and delta (B, NH, T). */
export interface AttentionBuffers {
  qkv: GPUBuffer;
  y: GPUBuffer;
  lse: GPUBuffer;
}

/** The shape of an attention launch. */
export interface AttentionShape {
  B: number;
  T: number;
  C: number;
  NH: number;
}

/**
 * A launch of pointwise.wgsl's gelu, gelu_backward or add over n elements: four an invocation.
 * gelu: out = gelu(a); gelu_backward: out += b * gelu'(a) when `accumulate`, else out = it; add: out = a + b.
 */
export function pointwiseLaunch(k: GptKernels, entry: 'gelu' | 'gelu_backward' | 'add', n: number, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, accumulate = false): KernelLaunch {
  return k.dispatch('pointwise', entry, [n, accumulate ? 1 : 0, 0, 0], [a, b, out], workgroupGrid(Math.ceil(n / 4), 256));
}

/**
 * Parts of the rows a column sum's first pass cuts: 32 rows a part, so that each invocation's
 * chain of loads stays short (8 steps of 4), within 2^22 floats of scratch. (About 512 workgroups,
 * 190 rows a part for 384 columns of 16384 rows, took 32 us a launch on the H200.)
 */
function columnSumParts(rows: number, width: number): number {
  return Math.max(1, Math.min(Math.ceil(rows / 32), Math.floor(2 ** 22 / width), 65535)); // 65535: a grid dimension's most
}

/** Floats of scratch columnSumLaunches needs. */
export function columnSumScratchFloats(rows: number, width: number): number {
  return columnSumParts(rows, width) * width;
}

/**
 * grads[offset + c] += the sum over x's rows (rows x width) at column c, a bias's gradient: pointwise.wgsl's
 * column_sums_partials into `scratch` (columnSumScratchFloats), then column_sums_total.
 */
export function columnSumLaunches(k: GptKernels, rows: number, width: number, x: GPUBuffer, scratch: GPUBuffer, grads: GPUBuffer, offset: number): KernelLaunch[] {
  const parts = columnSumParts(rows, width);
  if (Math.ceil(width / 16) > 65535) throw new Error(`column sums: ${width} columns; at most ${16 * 65535} (a launch's workgroups)`);
  return [
    k.dispatch('pointwise', 'column_sums_partials', [rows, 0, 0, width], [x, k.unused, scratch], [Math.ceil(width / 64), parts, 1]),
    k.dispatch('pointwise', 'column_sums_total', [parts, 0, offset, width], [scratch, k.unused, grads], [Math.ceil(width / 16), 1, 1]),
  ];
}

/** attention.wgsl's forward: y and lse from qkv. */
export function attentionForward(k: GptKernels, { qkv, y, lse }: AttentionBuffers, { B, T, C, NH }: AttentionShape): KernelLaunch {
  return k.dispatch('attention', 'forward', [B, T, C, NH, 0], [qkv, y, lse, k.unused, k.unused, k.unusedWritable], [Math.ceil(T / k.attention.queries), NH, B]); // accumulate: backward's
}

/**
 * attention.wgsl's backward: dy into dqkv, added when `accumulate`, else written (attention is the
 * first layer to reach that gradient), with delta as scratch (B, NH, T).
 */
export function attentionBackward(k: GptKernels, { qkv, y, lse }: AttentionBuffers, dy: GPUBuffer, dqkv: GPUBuffer, delta: GPUBuffer, { B, T, C, NH }: AttentionShape, accumulate: boolean): KernelLaunch[] {
  const grid: [number, number, number] = [Math.ceil(T / k.attention.queries), NH, B];
  const uniforms = [B, T, C, NH, accumulate ? 1 : 0];
  return [
    k.dispatch('attention', 'backward_query', uniforms, [qkv, dqkv, lse, dy, y, delta], grid),
    k.dispatch('attention', 'backward_key_value', uniforms, [qkv, dqkv, lse, dy, y, delta], grid),
  ];
}

/** The bits of a float32, for uniform structs written as u32 arrays. */
export function f32Bits(value: number): number {
  return new Uint32Array(Float32Array.of(value).buffer)[0];
}

/**
 * A command of a recorded sequence: a kernel launch, a buffer copy, a buffer cleared to zero, or
 * another op that records itself (the wavelet op).
 */
export type GpuCommand = KernelLaunch | { copy: [GPUBuffer, number, GPUBuffer, number, number] } | { clear: GPUBuffer } | { encode: (encoder: GPUCommandEncoder) => void };

/**
 * Records the steps into `encoder`. Consecutive launches share a compute pass: WebGPU orders the
 * dispatches of a pass and makes each one's storage writes visible to the next.
 */
export function record(encoder: GPUCommandEncoder, steps: GpuCommand[]): void {
  let pass: GPUComputePassEncoder | undefined;
  for (const step of steps) {
    if ('pipeline' in step) {
      pass ??= encoder.beginComputePass();
      pass.setPipeline(step.pipeline);
      pass.setBindGroup(0, step.group);
      pass.dispatchWorkgroups(...step.workgroups);
      continue;
    }
    pass?.end();
    pass = undefined;
    if ('copy' in step) encoder.copyBufferToBuffer(...step.copy);
    else if ('clear' in step) encoder.clearBuffer(step.clear);
    else step.encode(encoder);
  }
  pass?.end();
}
