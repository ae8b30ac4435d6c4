// The WebGPU backend: parameters, gradients and optimizer state in one buffer each; activations in
// buffers of their own (a launch may not write a buffer it also reads), laid out by
// model/buffers.ts for a batch shape, once. A training step is the program's launches recorded
// into one command encoder: forward, cross-entropy, backward; the optimizer is three more
// launches over all parameters. Nothing is read back but the loss, and the gradient norm when
// asked. Decoders share the model's pipelines and parameter buffer: a token is one submission
// and one read-back of the logits.

import { createBuffer, createWebGPUBackend, readBuffer, recordReadBack, type WebGPUBackend } from '../../runtime/webgpu.js';
import { columnSumScratchFloats, f32Bits, GptKernels, grid, record, type KernelLaunch, type GpuCommand } from '../../kernels/gpt/webgpu.js';
import { matmulScratchFloats, type MatmulProduct } from '../../kernels/gpt/matmul.js';
import { positionsByToken } from '../../kernels/gpt/embedding.js';
import type { AttentionTiling } from '../../kernels/gpt/attention.js';
import { WebGPUWaveletOp } from '../../kernels/wavelet/webgpu.js';
import { decayMask, OPTIMIZER_SLOTS, withoutFrozenState } from '../../kernels/optimizer/ref.js';
import { checkStepMemory } from '../memory.js';
import { networkOf } from '../../model/networks.js';
import { isWaveletLM, nextPowerOfTwo, type ModelConfig } from '../../model/config.js';
import { waveletPlanOf } from '../../model/parameters.js';
import type { Network } from '../../model/network.js';
import { buildProgram } from '../program.js';
import { checkOptimizerState, frozenRanges, makeDecoder, trainingUnavailable, type BackendModel, type Decoder, type ModelOptions, type OptimizerState } from '../model.js';
import { layernormPartialFloats, linearProducts, reductionFloats, webgpuLayer, type WebGPULayerContext } from './layers.js';

/**
 * Commands a command buffer in a step's submission. The paper model's step has about 400. In one
 * buffer, the GPU waited while the CPU recorded them all: on the H200 the step took 7 to 8 ms more
 * than its kernels' GPU time; in buffers of 48, 2 to 3 ms (bench/gpu_training/h200-submit-chunks/).
 */
const SUBMIT_EVERY = 48;

/** Layer kinds whose backward reduces into a parameter's gradient through the reductions' scratch. */
const REDUCING_KINDS = new Set(['sum', 'scale', 'channel_scale', 'scale_route']);

interface TrainingProgram {
  B: number;
  T: number;
  tokens: GPUBuffer;
  /** The positions sorted by token, for the token table's gradient (training only). */
  positionsByToken: GPUBuffer;
  targets: GPUBuffer;
  losses: GPUBuffer;
  logits: GPUBuffer;
  forward: GpuCommand[];
  backward: GpuCommand[];
  /** crossentropy.wgsl's forward (whose uniforms carry the gradient's scale) and mean: both read the count of targets that count. */
  crossEntropy: KernelLaunch;
  crossEntropyMean: KernelLaunch;
  owned: Owned;
}

/** The buffers and launches a program made, to free together. */
class Owned {
  readonly buffers: GPUBuffer[] = [];
  readonly steps: GpuCommand[][] = [];
  constructor(private readonly kernels: GptKernels) {}
  /** A storage buffer of `floats` (at least one), optionally filled from `data`, freed with the rest. */
  buffer = (floats: number, data?: ArrayBufferView): GPUBuffer => {
    const made = createBuffer(this.kernels.device, 4 * Math.max(1, floats), undefined, data);
    this.buffers.push(made);
    return made;
  };
  destroy(): void {
    for (const buffer of this.buffers) buffer.destroy();
    for (const steps of this.steps) this.kernels.release(steps);
    this.buffers.length = 0;
    this.steps.length = 0;
  }
}

export class WebGPUModel implements BackendModel {
  readonly backend = 'webgpu';
  readonly config: ModelConfig;
  readonly layout;
  private readonly device: GPUDevice;
  private readonly network: Network;
  private readonly kernels: GptKernels;
  private readonly params: GPUBuffer;
  /** slots: the optimizer's state (OPTIMIZER_SLOTS) by name, a buffer each. */
  private readonly training: { grads: GPUBuffer; slots: Record<string, GPUBuffer>; mask: GPUBuffer; normState: GPUBuffer; optimizer: GpuCommand[]; t: number; buffers: GPUBuffer[] } | undefined;
  private readonly frozen: [number, number][];
  private readonly wavelet: WebGPUWaveletOp | undefined;
  private current: TrainingProgram | undefined;
  private readonly decoders = new Set<Decoder>();
  private disposed = false;

  private constructor(readonly gpu: WebGPUBackend, private readonly options: ModelOptions, private readonly ownsDevice: boolean, attentionTiling?: AttentionTiling) {
    this.config = options.config;
    this.layout = options.layout;
    this.frozen = frozenRanges(options);
    this.device = gpu.device;
    this.network = options.network ?? networkOf(this.config);
    // WaveletLM has no attention: its attention pipeline is compiled for a small head and never runs.
    this.kernels = new GptKernels(this.device, isWaveletLM(this.config) ? 16 : this.config.width / this.config.heads, attentionTiling);
    const n = this.layout.count;
    this.params = createBuffer(this.device, 4 * n, undefined, options.parameters);
    if (options.optimizer) {
      const { kind } = options.optimizer;
      const grads = createBuffer(this.device, 4 * n);
      const slots = Object.fromEntries(OPTIMIZER_SLOTS[kind].map((name) => [name, createBuffer(this.device, 4 * n)]));
      // The shader binds two slots; Adagrad's second is a placeholder it never reads.
      const [slot0, slot1 = createBuffer(this.device, 4)] = Object.values(slots);
      const mask = createBuffer(this.device, 4 * n, undefined, Uint32Array.from(decayMask(this.layout, this.frozen)));
      const [partials, pages] = grid(n, 256);
      const partialCount = partials * pages;
      const normState = createBuffer(this.device, 4 * (1 + partialCount));
      const buffers = [this.params, grads, slot0, slot1, mask, normState];
      const uniforms = [n, partialCount, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
      const optimizer: GpuCommand[] = [
        // Frozen parameters: their gradients zeroed before the norm reads them.
        ...this.frozen.map(([start, end]): GpuCommand => ({ encode: (encoder) => encoder.clearBuffer(grads, 4 * start, 4 * (end - start)) })),
        this.kernels.dispatch('optimizer', 'norm_partials', uniforms, buffers, grid(n, 256)),
        this.kernels.dispatch('optimizer', 'norm_total', uniforms, buffers, [1, 1, 1]),
        this.kernels.dispatch('optimizer', `update_${kind}`, uniforms, buffers, grid(n, 256)),
      ];
      this.training = { grads, slots, mask, normState, optimizer, t: 0, buffers: [grads, slot0, slot1, mask, normState] };
    }
    const plan = waveletPlanOf(this.config);
    this.wavelet = plan ? new WebGPUWaveletOp(this.device, plan) : undefined;
  }

  /**
   * gpu: the device to use (one is made, and destroyed with the model, when not given).
   * attentionTiling: how attention divides its work, and so which of its shaders runs; the
   * default is chosen for the head size and the device (kernels/gpt/attention.ts, bench/attention.ts).
   */
  static async create(options: ModelOptions, gpu?: WebGPUBackend, attentionTiling?: AttentionTiling): Promise<WebGPUModel> {
    return new WebGPUModel(gpu ?? (await createWebGPUBackend()), options, !gpu, attentionTiling);
  }

  /** The attention tiling this model runs (the head-split shader's has `lanes`). */
  get attentionTiling(): AttentionTiling {
    return this.kernels.attention;
  }

  private write(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.device.queue.writeBuffer(buffer, offset, data as ArrayBufferView<ArrayBuffer>);
  }

  private offset = (name: string): number => this.layout.byName.get(name)!.offset;

  /** The layer context and shared scratch of a program on `rows` positions (B, T). */
  private context(owned: Owned, B: number, T: number, tokens: GPUBuffer, positionsByToken: GPUBuffer, generation?: WebGPULayerContext['generation']): WebGPULayerContext {
    const { buffer } = owned;
    const N = B * T;
    const training = !generation && Boolean(this.training);
    const products = this.network.layers.flatMap((layer) => (layer.kind === 'linear' ? linearProducts(layer, N, training) : []));
    const shape = { batch: B, time: T, channels: this.config.width };
    const tapCount = this.wavelet?.plan.tapCount ?? 0;
    return {
      kernels: this.kernels,
      config: this.config,
      wavelet: this.wavelet,
      params: this.params,
      grads: this.training?.grads,
      offset: this.offset,
      buffer,
      B, T, tokens, positionsByToken,
      scratch: {
        matmul: buffer(Math.max(0, ...products.map((p) => matmulScratchFloats(p as MatmulProduct)))),
        attentionDelta: buffer(training ? B * heads(this.config) * T : 1),
        waveletSummaries: buffer(this.wavelet && !generation ? this.wavelet.summaryFloats(shape) : 1),
        taps: buffer(tapCount),
        tapGradient: buffer(training ? tapCount : 1),
        // WaveletLM's reductions are over activations at most Cp wide (a gain's are C wide).
        reductions: buffer(training && this.network.layers.some((l) => REDUCING_KINDS.has(l.kind)) ? reductionFloats(nextPowerOfTwo(this.config.width)) : 1),
        layernormPartials: buffer(training ? Math.max(1, ...this.network.layers.filter((l) => l.kind === 'layernorm').map((l) => layernormPartialFloats(this.network.widths.get(l.out)!))) : 1),
        columnSums: buffer(training ? Math.max(1, ...this.network.layers.map((l) => (l.kind === 'linear' && l.bias ? columnSumScratchFloats(N, l.outFeatures) : 0))) : 1),
      },
      generation,
    };
  }

  /** Builds every launch of a step for batch shape (B, T): buffers and bind groups, once. */
  private programFor(B: number, T: number): TrainingProgram {
    if (this.current?.B === B && this.current.T === T) return this.current;
    if (this.disposed) throw new Error('webgpu model: disposed');
    const N = B * T;
    if (T > this.config.context) throw new Error(`sequence length ${T} exceeds the context ${this.config.context}`);
    if (this.training) checkStepMemory('webgpu', this.config, this.network, OPTIMIZER_SLOTS[this.options.optimizer!.kind].length, B, T, this.options.memoryBudget, this.device.limits.maxStorageBufferBindingSize);
    this.current?.owned.destroy();
    const owned = new Owned(this.kernels);
    const { buffer } = owned;
    const V = this.config.vocabSize;
    const tokens = buffer(N), targets = buffer(N), losses = buffer(N + 2); // crossentropy.wgsl: per position, the mean, the count
    const positionsByToken = buffer(this.training ? N : 1);
    const dlogits = buffer(N * V); // written by the cross-entropy's forward
    const ctx = this.context(owned, B, T, tokens, positionsByToken);
    const program = buildProgram(this.network, this.training ? 'train' : 'generate', N, {
      allocate: buffer,
      clear: (target) => ({ clear: target }),
      layer: (io) => webgpuLayer(io, ctx),
      logitsGradient: dlogits,
    });
    const logits = program.activation(this.network.logits);
    const k = this.kernels;
    const ceUniforms = [N, V, f32Bits(1), f32Bits(N)]; // the scale and the count: set by prepare() and forwardBackward()
    const crossEntropy = k.dispatch('crossentropy', 'forward', ceUniforms, [logits, targets, dlogits, losses], grid(N, 1));
    const crossEntropyMean = k.dispatch('crossentropy', 'mean', ceUniforms, [logits, targets, dlogits, losses], [1, 1, 1]);
    const forward: GpuCommand[] = [...program.forward, crossEntropy, crossEntropyMean];
    const backward: GpuCommand[] = program.backward; // the logits' gradient is the cross-entropy forward's
    owned.steps.push(forward, backward);
    this.current = { B, T, tokens, positionsByToken, targets, losses, logits, forward, backward, crossEntropy, crossEntropyMean, owned };
    return this.current;
  }

  /**
   * Records `steps` and a copy of `read` (a range of a buffer) into a staging buffer, and submits
   * them, all before it returns: so calls made without awaiting the one before (a step's
   * forward-backward and update, as the trainer makes them) run and read in call order, and the
   * GPU waits for the CPU once a step, not once a call. The promise gives the copied floats.
   * The steps go in command buffers of SUBMIT_EVERY, each submitted as soon as it is recorded, so
   * that the GPU runs the first while the CPU records the rest (Dawn records a command buffer's
   * Vulkan commands when it is submitted).
   */
  private submit(steps: GpuCommand[], read?: { buffer: GPUBuffer; offset: number; floats: number }): Promise<Float32Array> {
    let readBack: (() => Promise<Float32Array>) | undefined;
    for (let start = 0; start === 0 || start < steps.length; start += SUBMIT_EVERY) {
      const encoder = this.device.createCommandEncoder();
      record(encoder, steps.slice(start, start + SUBMIT_EVERY));
      if (read && start + SUBMIT_EVERY >= steps.length) readBack = recordReadBack(this.device, encoder, read.buffer, 4 * read.offset, 4 * read.floats);
      this.device.queue.submit([encoder.finish()]);
    }
    return readBack ? readBack() : Promise.resolve(new Float32Array(0));
  }

  /** The mean loss the program's cross-entropy wrote (after its per-position losses). */
  private lossRead(p: TrainingProgram) {
    return { buffer: p.losses, offset: p.B * p.T, floats: 1 };
  }

  /** The program for (B, T) with this batch written; `backward`: also the order the embedding's gradient sums in. */
  private prepare(tokens: Int32Array, targets: Int32Array, B: number, T: number, backward = false): TrainingProgram {
    const p = this.programFor(B, T);
    this.write(p.tokens, 0, tokens);
    this.write(p.targets, 0, targets);
    // The positions whose target counts (crossentropy.wgsl's IGNORED is -1), at least one.
    let counted = 0;
    for (const target of targets) if (target !== -1) counted++;
    const count = Uint32Array.of(f32Bits(Math.max(1, counted)));
    this.write(p.crossEntropy.uniforms, 12, count);
    this.write(p.crossEntropyMean.uniforms, 12, count);
    if (backward) this.write(p.positionsByToken, 0, positionsByToken(tokens, this.config.vocabSize));
    return p;
  }

  forwardBackward(tokens: Int32Array, targets: Int32Array, B: number, T: number, scale: number): Promise<number> {
    if (!this.training) return Promise.reject(trainingUnavailable('webgpu'));
    const p = this.prepare(tokens, targets, B, T, true);
    this.write(p.crossEntropy.uniforms, 8, Uint32Array.of(f32Bits(scale)));
    return this.submit([...p.forward, ...p.backward], this.lossRead(p)).then(([loss]) => loss);
  }

  update(lr: number): Promise<number> {
    const s = this.training;
    if (!s) return Promise.reject(trainingUnavailable('webgpu'));
    const a = this.options.optimizer!;
    s.t++;
    // Adagrad reads lr, epsilon, weight decay and the clip; the moments' fields are AdamW's.
    const [beta1, beta2] = a.kind === 'adamw' ? [a.beta1, a.beta2] : [0, 0];
    const values = Float32Array.of(lr, beta1, beta2, a.epsilon, a.weightDecay, a.clipNorm, 1 - beta1 ** s.t, 1 - beta2 ** s.t);
    for (const d of s.optimizer) if ('uniforms' in d) this.write(d.uniforms, 8, values);
    return this.submit(s.optimizer, { buffer: s.normState, offset: 0, floats: 1 }).then(([norm]) => norm);
  }

  evaluate(tokens: Int32Array, targets: Int32Array, B: number, T: number): Promise<number> {
    const p = this.prepare(tokens, targets, B, T);
    return this.submit(p.forward, this.lossRead(p)).then(([loss]) => loss);
  }

  nextLogits(tokens: Int32Array): Promise<Float32Array> {
    const T = tokens.length;
    const p = this.prepare(tokens, new Int32Array(T), 1, T);
    const V = this.config.vocabSize;
    return this.submit(p.forward, { buffer: p.logits, offset: (T - 1) * V, floats: V });
  }

  /**
   * Where a step's time goes, by kernel (forward and backward, once). With the adapter's
   * 'timestamp-query' feature: GPU time, each launch in a compute pass of its own with timestamps
   * at its start and end (copies and clears are counted, not timed). Without it: wall time, each
   * launch in a submission of its own (so each includes one submission's latency).
   */
  async profile(tokens: Int32Array, targets: Int32Array, B: number, T: number): Promise<Record<string, { ms: number; launches: number }>> {
    const p = this.prepare(tokens, targets, B, T, Boolean(this.training));
    const steps = [...p.forward, ...(this.training ? p.backward : [])];
    const totals: Record<string, { ms: number; launches: number }> = {};
    const add = (label: string, ms: number) => {
      const entry = (totals[label] ??= { ms: 0, launches: 0 });
      entry.ms += ms;
      entry.launches++;
    };
    const labelOf = (step: GpuCommand) => ('pipeline' in step ? step.pipeline.label : 'copy' in step ? 'copy' : 'clear' in step ? 'clear' : 'encode');
    const launches = steps.filter((step): step is KernelLaunch => 'pipeline' in step);
    if (!this.device.features.has('timestamp-query') || 2 * launches.length > 4096 /* WebGPU's most queries in a set */) {
      for (const step of steps) {
        const start = performance.now();
        await this.submit([step]);
        await this.device.queue.onSubmittedWorkDone();
        add(labelOf(step), performance.now() - start);
      }
      return totals;
    }
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 * launches.length });
    const resolved = createBuffer(this.device, 16 * launches.length, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
    const encoder = this.device.createCommandEncoder();
    let index = 0;
    for (const step of steps) {
      if (!('pipeline' in step)) {
        record(encoder, [step]);
        add(`${labelOf(step)} (untimed)`, 0);
        continue;
      }
      const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * index, endOfPassWriteIndex: 2 * index + 1 } });
      pass.setPipeline(step.pipeline);
      pass.setBindGroup(0, step.group);
      pass.dispatchWorkgroups(...step.workgroups);
      pass.end();
      index++;
    }
    encoder.resolveQuerySet(querySet, 0, 2 * launches.length, resolved, 0);
    this.device.queue.submit([encoder.finish()]);
    const bytes = await readBuffer(this.device, resolved);
    const ns = new BigUint64Array(bytes.buffer, bytes.byteOffset, 2 * launches.length);
    launches.forEach((launch, i) => add(launch.pipeline.label, Number(ns[2 * i + 1] - ns[2 * i]) / 1e6));
    querySet.destroy();
    resolved.destroy();
    return totals;
  }

  async parameters(): Promise<Float32Array> {
    return readBuffer(this.device, this.params, 4 * this.layout.count);
  }

  async gradients(): Promise<Float32Array> {
    if (!this.training) throw trainingUnavailable('webgpu');
    return readBuffer(this.device, this.training.grads, 4 * this.layout.count);
  }

  async optimizerState(): Promise<OptimizerState> {
    const s = this.training;
    if (!s) throw trainingUnavailable('webgpu');
    const bytes = 4 * this.layout.count;
    const slots: Record<string, Float32Array> = {};
    for (const [name, buffer] of Object.entries(s.slots)) slots[name] = await readBuffer(this.device, buffer, bytes);
    return { kind: this.options.optimizer!.kind, t: s.t, slots };
  }

  async load(parameters: Float32Array, optimizer?: OptimizerState): Promise<void> {
    this.write(this.params, 0, parameters);
    const s = this.training;
    if (!s) return;
    if (optimizer) checkOptimizerState('webgpu', this.options.optimizer, this.layout.count, optimizer);
    if (optimizer) optimizer = withoutFrozenState(optimizer, this.frozen);
    const zeros = new Float32Array(this.layout.count);
    for (const [name, buffer] of Object.entries(s.slots)) this.write(buffer, 0, optimizer?.slots[name] ?? zeros);
    this.write(s.grads, 0, zeros);
    s.t = optimizer?.t ?? 0;
  }

  async decoder(batch: number): Promise<Decoder> {
    if (this.disposed) throw new Error('webgpu model: disposed');
    const { config, device } = this;
    const owned = new Owned(this.kernels);
    const { buffer } = owned;
    const stepBuffer = buffer(1 + batch); // [t, tokens]
    const plan = this.wavelet?.plan;
    const C = config.width;
    const planTable = plan
      ? buffer(3 * C, Uint32Array.from([...plan.windows, ...Array.from(plan.tapOffsets.subarray(0, C)), ...new Uint32Array(plan.alphas.buffer, plan.alphas.byteOffset, C)]))
      : buffer(1);
    const states: GPUBuffer[] = [];
    // Bindings a launch does not use: writable ones may not alias within a launch, so one each.
    const spare = [buffer(1), buffer(1), buffer(1)];
    const ctx = this.context(owned, batch, 1, stepBuffer, this.kernels.unused, { plan: planTable, spare, onReset: (state) => states.push(state) });
    const program = buildProgram(this.network, 'generate', batch, {
      allocate: buffer,
      clear: (target) => ({ clear: target }),
      layer: (io) => webgpuLayer(io, ctx),
    });
    owned.steps.push(program.forward);
    const logits = program.activation(this.network.logits);
    const V = config.vocabSize;
    const decoder = makeDecoder(config, batch, {
      run(tokens, position) {
        device.queue.writeBuffer(stepBuffer, 0, Uint32Array.from([position, ...Array.from(tokens)]));
        const encoder = device.createCommandEncoder();
        record(encoder, program.forward);
        const read = recordReadBack(device, encoder, logits, 0, 4 * batch * V);
        device.queue.submit([encoder.finish()]);
        return read();
      },
      reset() {
        const encoder = device.createCommandEncoder();
        for (const state of states) encoder.clearBuffer(state);
        device.queue.submit([encoder.finish()]);
      },
      dispose: () => {
        if (this.decoders.delete(decoder)) owned.destroy();
      },
    });
    this.decoders.add(decoder);
    return decoder;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const decoder of [...this.decoders]) decoder.dispose();
    this.current?.owned.destroy();
    this.current = undefined;
    this.params.destroy();
    for (const buffer of this.training?.buffers ?? []) buffer.destroy();
    this.wavelet?.destroy();
    this.kernels.destroy();
    if (this.ownsDevice) this.gpu.destroy();
  }
}

/** Attention heads (WaveletLM has no attention: its one 'head' sizes nothing that runs). */
function heads(config: ModelConfig): number {
  return isWaveletLM(config) ? 1 : config.heads;
}
