// The WebGPU engine: parameters, gradients and AdamW moments in one buffer each, activations in
// buffers of their own (a kernel may not write a buffer it also reads), all allocated once for a
// batch shape. A step is a list of kernel launches built once and recorded into one command
// encoder: forward, cross-entropy, backward; the optimizer is three more launches over all
// parameters. Nothing is read back but the loss, and the gradient norm when asked.
// The sequence mirrors src/model/ref/gpt.ts, which the tests hold it to.

import { createBuffer, createWebGPUBackend, readBuffer, recordReadBack, workgroupGrid, type WebGPUBackend } from '../../runtime/webgpu.js';
import { attentionBackward, attentionForward, f32Bits, GptKernels, grid, record, type Dispatch, type Step } from '../../kernels/gpt/webgpu.js';
import { WebGPUWaveletOp } from '../../kernels/wavelet/webgpu.js';
import { waveletGaps } from '../../model/config.js';
import { tapsName, waveletPlanOf } from '../../model/parameters.js';
import { decayMask } from '../../kernels/adamw/ref.js';
import type { AttentionTiling } from '../../kernels/gpt/attention.js';
import { matmulLaunches, matmulScratchFloats, type MatmulProduct } from '../../kernels/gpt/matmul.js';
import type { EngineOptions, OptimizerState, TrainingEngine } from '../../backends/model.js';

interface Plan {
  B: number;
  T: number;
  tokens: GPUBuffer;
  targets: GPUBuffer;
  losses: GPUBuffer;
  logits: GPUBuffer;
  forward: Step[];
  backward: Step[];
  crossEntropyBackward: Dispatch;
}

/** A step of a plan, or launches made when the plan is complete (they bind its scratch buffer). */
type PlanStep = Step | { later: () => Dispatch[] };

export class WebGPUEngine implements TrainingEngine {
  readonly backend = 'webgpu';
  readonly config;
  readonly layout;
  private readonly device: GPUDevice;
  private readonly kernels: GptKernels;
  private readonly params: GPUBuffer;
  private readonly grads: GPUBuffer;
  private readonly m: GPUBuffer;
  private readonly v: GPUBuffer;
  private readonly normState: GPUBuffer;
  private readonly optimizer: Dispatch[];
  private readonly wavelet: WebGPUWaveletOp | undefined;
  private t = 0;
  private plan: Plan | undefined;
  private planBuffers: GPUBuffer[] = [];

  private constructor(readonly gpu: WebGPUBackend, private readonly options: EngineOptions, attentionTiling?: AttentionTiling) {
    this.config = options.config;
    this.layout = options.layout;
    this.device = gpu.device;
    this.kernels = new GptKernels(this.device, this.config.width / this.config.heads, attentionTiling);
    const n = this.layout.count;
    this.params = createBuffer(this.device, 4 * n, undefined, options.parameters);
    this.grads = createBuffer(this.device, 4 * n);
    this.m = createBuffer(this.device, 4 * n);
    this.v = createBuffer(this.device, 4 * n);
    const mask = createBuffer(this.device, 4 * n, undefined, Uint32Array.from(decayMask(this.layout)));
    const [partials] = grid(n, 256);
    const partialCount = partials * grid(n, 256)[1];
    this.normState = createBuffer(this.device, 4 * (1 + partialCount));
    const optimizerBuffers = [this.params, this.grads, this.m, this.v, mask, this.normState];
    const uniforms = [n, partialCount, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    this.optimizer = [
      this.kernels.dispatch('adamw', 'norm_partials', uniforms, optimizerBuffers, grid(n, 256)),
      this.kernels.dispatch('adamw', 'norm_total', uniforms, optimizerBuffers, [1, 1, 1]),
      this.kernels.dispatch('adamw', 'update', uniforms, optimizerBuffers, grid(n, 256)),
    ];
    const plan = waveletPlanOf(this.config);
    this.wavelet = plan ? new WebGPUWaveletOp(this.device, plan) : undefined;
  }

  /** attentionTiling: how attention.wgsl divides its work; the default suits most head sizes (bench/attention.ts). */
  static async create(options: EngineOptions, gpu?: WebGPUBackend, attentionTiling?: AttentionTiling): Promise<WebGPUEngine> {
    return new WebGPUEngine(gpu ?? (await createWebGPUBackend()), options, attentionTiling);
  }

  private write(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.device.queue.writeBuffer(buffer, offset, data as ArrayBufferView<ArrayBuffer>);
  }

  private offset(name: string): number {
    return this.layout.byName.get(name)!.offset;
  }

  /** Builds every launch of a step for batch shape (B, T): buffers and bind groups, once. */
  private planFor(B: number, T: number): Plan {
    if (this.plan && this.plan.B === B && this.plan.T === T) return this.plan;
    for (const buffer of this.planBuffers) buffer.destroy();
    this.planBuffers = [];
    const { width: C, heads: NH, feedForward: F, headDense: D, vocabSize: V, layers } = this.config;
    const N = B * T;
    if (N > 65535) throw new Error(`webgpu engine: B * T = ${N} positions; at most 65535 for now`);
    const k = this.kernels;
    const buf = (floats: number) => {
      const buffer = createBuffer(this.device, 4 * Math.max(1, floats));
      this.planBuffers.push(buffer);
      return buffer;
    };
    const P = this.params;
    const G = this.grads;
    const tokens = buf(N), targets = buf(N), losses = buf(N + 2); // crossentropy.wgsl: per position, the mean, the count
    // Steps, some of them launches to be made once the plan's scratch is sized
    const forward: PlanStep[] = [];
    const backward: PlanStep[] = [];
    const shape = { batch: B, time: T, channels: C };
    // One product C (M x N) [+]= A . B [+ bias] (kernels/gpt/matmul.ts). Split products share one
    // scratch buffer, sized once every product is known: their launches are made then.
    let scratchFloats = 0;
    const product = (m: Omit<MatmulProduct, 'bias'> & { bias: string | null }): PlanStep => {
      const operands: MatmulProduct = { ...m, bias: m.bias ? [P, this.offset(m.bias)] : null };
      const floats = matmulScratchFloats(operands);
      if (floats === 0) return matmulLaunches(k, operands)[0];
      scratchFloats = Math.max(scratchFloats, floats);
      return { later: () => matmulLaunches(k, operands, scratch) };
    };
    let scratch: GPUBuffer | undefined;
    const linear = (out: GPUBuffer, inp: GPUBuffer, weight: string, bias: string | null, rows: number, inC: number, outC: number) =>
      product({ M: rows, N: outC, K: inC, accumulate: false, a: [inp, 0, inC, 1], b: [P, this.offset(weight), 1, inC], bias, c: [out, 0, outC] });
    // dinp (rows, inC) += dout (rows, outC) . W (outC, inC); dW += dout^T . inp; dbias += ones . dout
    const linearBackward = (dinp: GPUBuffer, dout: GPUBuffer, inp: GPUBuffer, weight: string, bias: string | null, rows: number, inC: number, outC: number, ones: GPUBuffer) => {
      backward.push(
        product({ M: rows, N: inC, K: outC, accumulate: true, a: [dout, 0, outC, 1], b: [P, this.offset(weight), inC, 1], bias: null, c: [dinp, 0, inC] }),
        product({ M: outC, N: inC, K: rows, accumulate: true, a: [dout, 0, 1, outC], b: [inp, 0, inC, 1], bias: null, c: [G, this.offset(weight), inC] }),
      );
      if (bias) backward.push(product({ M: 1, N: outC, K: rows, accumulate: true, a: [ones, 0, 0, 1], b: [dout, 0, outC, 1], bias: null, c: [G, this.offset(bias), outC] }));
    };
    const ones = buf(N);
    this.write(ones, 0, new Float32Array(N).fill(1));
    const pointwise = (entry: string, n: number, x: GPUBuffer, y: GPUBuffer, out: GPUBuffer, alpha = 1, offset = 0) =>
      k.dispatch('pointwise', entry, [n, f32Bits(alpha), offset, 0], [x, y, out], grid(n, 256));
    const layernorm = (out: GPUBuffer, stats: GPUBuffer, inp: GPUBuffer, name: string) =>
      k.dispatch('layernorm', 'forward', [N, C, this.offset(`${name}.w`), this.offset(`${name}.b`)], [inp, P, out, stats, k.unused, k.unusedWritable], [N, 1, 1]);
    const layernormBackward = (dinp: GPUBuffer, dout: GPUBuffer, inp: GPUBuffer, stats: GPUBuffer, name: string) => {
      const u = [N, C, this.offset(`${name}.w`), this.offset(`${name}.b`)];
      backward.push(
        k.dispatch('layernorm', 'backward_input', u, [inp, P, dinp, stats, dout, k.unusedWritable], [N, 1, 1]),
        k.dispatch('layernorm', 'backward_params', u, [inp, P, k.unusedWritable, stats, dout, G], [C, 1, 1]),
      );
    };
    const tapsBuffer = this.wavelet ? buf(this.wavelet.plan.tapCount) : undefined;
    const dTaps = this.wavelet ? buf(this.wavelet.plan.tapCount) : undefined;
    const summaries = this.wavelet ? buf(this.wavelet.summaryFloats(shape)) : undefined;

    // forward
    const encoderUniforms = [B, T, C, V, this.offset('wte'), this.offset('wpe'), 0, 0];
    let x = buf(N * C);
    const [positionRows, positionPages] = workgroupGrid(N, 1); // encoder.wgsl: bt = id.y + id.z * 65535
    forward.push(k.dispatch('encoder', 'forward', encoderUniforms, [tokens, P, x, k.unused, k.unusedWritable], [Math.ceil(C / 64), positionRows, positionPages]));
    const blocks: { input: GPUBuffer; ln1: GPUBuffer; s1: GPUBuffer; qkv: GPUBuffer; lse: GPUBuffer; attOut: GPUBuffer; res2: GPUBuffer; ln2: GPUBuffer; s2: GPUBuffer; fc: GPUBuffer; fcGelu: GPUBuffer; res3: GPUBuffer; output: GPUBuffer }[] = [];
    const projected = buf(N * C);
    for (let l = 0; l < layers; l++) {
      const b = { input: x, ln1: buf(N * C), s1: buf(2 * N), qkv: buf(N * 3 * C), lse: buf(B * NH * T), attOut: buf(N * C), res2: buf(N * C), ln2: buf(N * C), s2: buf(2 * N), fc: buf(N * F), fcGelu: buf(N * F), res3: buf(N * C), output: x };
      b.output = this.wavelet && l < waveletGaps(this.config) ? buf(N * C) : b.res3;
      forward.push(
        layernorm(b.ln1, b.s1, b.input, `h${l}.ln1`),
        linear(b.qkv, b.ln1, `h${l}.qkv.w`, null, N, C, 3 * C),
        attentionForward(k, { qkv: b.qkv, y: b.attOut, lse: b.lse }, { B, T, C, NH }),
        linear(projected, b.attOut, `h${l}.proj.w`, null, N, C, C),
        pointwise('add', N * C, b.input, projected, b.res2),
        layernorm(b.ln2, b.s2, b.res2, `h${l}.ln2`),
        linear(b.fc, b.ln2, `h${l}.fc.w`, `h${l}.fc.b`, N, C, F),
        pointwise('gelu', N * F, b.fc, k.unused, b.fcGelu),
        linear(projected, b.fcGelu, `h${l}.fcproj.w`, `h${l}.fcproj.b`, N, F, C),
        pointwise('add', N * C, b.res2, projected, b.res3),
      );
      if (b.output !== b.res3) forward.push(...this.waveletSteps(false, l, shape, b.res3, b.output, summaries!, tapsBuffer));
      blocks.push(b);
      x = b.output;
    }
    const lnf = buf(N * C), sf = buf(2 * N), dense = buf(N * D), denseGelu = buf(N * D), logits = buf(N * V);
    forward.push(layernorm(lnf, sf, x, 'lnf'));
    let head = lnf;
    if (D > 0) {
      forward.push(linear(dense, lnf, 'dense.w', 'dense.b', N, C, D), pointwise('gelu', N * D, dense, k.unused, denseGelu));
      head = denseGelu;
    }
    forward.push(linear(logits, head, 'out.w', null, N, D > 0 ? D : C, V));
    const probs = buf(N * V);
    const ceUniforms = [N, V, f32Bits(1), 0];
    forward.push(
      k.dispatch('crossentropy', 'forward', ceUniforms, [logits, targets, probs, losses], grid(N, 1)),
      k.dispatch('crossentropy', 'mean', ceUniforms, [logits, targets, probs, losses], [1, 1, 1]),
    );

    // backward: probs becomes dlogits in place (scaled by the micro-batch weight, written per call)
    const crossEntropyBackward = k.dispatch('crossentropy', 'backward', ceUniforms, [logits, targets, probs, losses], grid(N * V, 256));
    backward.push(crossEntropyBackward);
    const dln = buf(N * C);
    backward.push({ clear: dln });
    if (D > 0) {
      const ddenseGelu = buf(N * D), ddense = buf(N * D);
      backward.push({ clear: ddenseGelu }, { clear: ddense });
      linearBackward(ddenseGelu, probs, denseGelu, 'out.w', null, N, D, V, ones);
      backward.push(pointwise('gelu_backward', N * D, dense, ddenseGelu, ddense));
      linearBackward(dln, ddense, lnf, 'dense.w', 'dense.b', N, C, D, ones);
    } else {
      linearBackward(dln, probs, lnf, 'out.w', null, N, C, V, ones);
    }
    const dx = buf(N * C), dres = buf(N * C), dattOut = buf(N * C), dqkv = buf(N * 3 * C), dfc = buf(N * F), dfcGelu = buf(N * F), delta = buf(B * NH * T);
    backward.push({ clear: dx });
    layernormBackward(dx, dln, x, sf, 'lnf');
    for (let l = layers - 1; l >= 0; l--) {
      const b = blocks[l];
      if (b.output !== b.res3) backward.push(...this.waveletSteps(true, l, shape, dx, dres, summaries!, tapsBuffer, b.res3, dTaps));
      else backward.push({ copy: [dx, 0, dres, 0, 4 * N * C] });
      backward.push({ clear: dfcGelu }, { clear: dfc }, { clear: dln });
      linearBackward(dfcGelu, dres, b.fcGelu, `h${l}.fcproj.w`, `h${l}.fcproj.b`, N, F, C, ones);
      backward.push(pointwise('gelu_backward', N * F, b.fc, dfcGelu, dfc));
      linearBackward(dln, dfc, b.ln2, `h${l}.fc.w`, `h${l}.fc.b`, N, C, F, ones);
      layernormBackward(dres, dln, b.res2, b.s2, `h${l}.ln2`);
      backward.push({ clear: dattOut }, { clear: dqkv }, { clear: dln });
      linearBackward(dattOut, dres, b.attOut, `h${l}.proj.w`, null, N, C, C, ones);
      backward.push(...attentionBackward(k, { qkv: b.qkv, y: b.attOut, lse: b.lse }, dattOut, dqkv, delta, { B, T, C, NH }));
      linearBackward(dln, dqkv, b.ln1, `h${l}.qkv.w`, null, N, C, 3 * C, ones);
      layernormBackward(dres, dln, b.input, b.s1, `h${l}.ln1`);
      backward.push({ copy: [dres, 0, dx, 0, 4 * N * C] });
    }
    backward.push(
      k.dispatch('encoder', 'backward_tokens', encoderUniforms, [tokens, P, k.unusedWritable, dx, G], [Math.ceil(C / 64), V, 1]),
      k.dispatch('encoder', 'backward_positions', encoderUniforms, [tokens, P, k.unusedWritable, dx, G], [Math.ceil(C / 64), T, 1]),
    );
    if (scratchFloats > 0) scratch = buf(scratchFloats);
    const made = (steps: PlanStep[]) => steps.flatMap((step) => ('later' in step ? step.later() : [step]));
    this.plan = { B, T, tokens, targets, losses, logits, forward: made(forward), backward: made(backward), crossEntropyBackward };
    return this.plan;
  }

  /** The wavelet structure after block l, forward (x -> y) or backward (dy -> dx, and dTaps added into the gradients). */
  private waveletSteps(reverse: boolean, l: number, shape: { batch: number; time: number; channels: number }, input: GPUBuffer, output: GPUBuffer, summaries: GPUBuffer, taps?: GPUBuffer, x?: GPUBuffer, dTaps?: GPUBuffer): Step[] {
    const op = this.wavelet!;
    const steps: Step[] = [];
    const learnable = op.plan.form === 'learnable';
    const tapsOffset = learnable ? this.offset(tapsName(this.config, l)) : 0;
    if (learnable) steps.push({ copy: [this.params, 4 * tapsOffset, taps!, 0, 4 * op.plan.tapCount] });
    steps.push(...op.filterLaunches(reverse, shape, input, output, taps, summaries));
    if (reverse && learnable) {
      steps.push(...op.tapGradientLaunches(shape, x!, input, taps!, dTaps!));
      steps.push(this.kernels.dispatch('pointwise', 'add_into', [op.plan.tapCount, f32Bits(1), tapsOffset, 0], [dTaps!, this.kernels.unused, this.grads], grid(op.plan.tapCount, 256)));
    }
    return steps;
  }

  /**
   * Records `steps` and a copy of `read` (a range of a buffer) into a staging buffer, and submits
   * them, all before it returns: so calls made without awaiting the one before (a step's
   * forward-backward and update, as the trainer makes them) run and read in call order, and the
   * GPU waits for the CPU once a step, not once a call. The promise gives the copied floats.
   */
  private submit(steps: Step[], read?: { buffer: GPUBuffer; offset: number; floats: number }): Promise<Float32Array> {
    const encoder = this.device.createCommandEncoder();
    record(encoder, steps);
    const readBack = read && recordReadBack(this.device, encoder, read.buffer, 4 * read.offset, 4 * read.floats);
    this.device.queue.submit([encoder.finish()]);
    return readBack ? readBack() : Promise.resolve(new Float32Array(0));
  }

  /** The mean loss the plan's cross-entropy wrote (after its per-position losses). */
  private lossRead(plan: Plan) {
    return { buffer: plan.losses, offset: plan.B * plan.T, floats: 1 };
  }

  forwardBackward(tokens: Int32Array, targets: Int32Array, B: number, T: number, scale: number): Promise<number> {
    const plan = this.planFor(B, T);
    this.write(plan.tokens, 0, tokens);
    this.write(plan.targets, 0, targets);
    this.write(plan.crossEntropyBackward.uniforms, 8, Uint32Array.of(f32Bits(scale)));
    return this.submit([...plan.forward, ...plan.backward], this.lossRead(plan)).then(([loss]) => loss);
  }

  update(lr: number): Promise<number> {
    const s = this.options.adamw;
    this.t++;
    const values = Float32Array.of(lr, s.beta1, s.beta2, s.epsilon, s.weightDecay, s.clipNorm, 1 - s.beta1 ** this.t, 1 - s.beta2 ** this.t);
    for (const d of this.optimizer) this.write(d.uniforms, 8, values);
    return this.submit(this.optimizer, { buffer: this.normState, offset: 0, floats: 1 }).then(([norm]) => norm);
  }

  evaluate(tokens: Int32Array, targets: Int32Array, B: number, T: number): Promise<number> {
    const plan = this.planFor(B, T);
    this.write(plan.tokens, 0, tokens);
    this.write(plan.targets, 0, targets);
    return this.submit(plan.forward, this.lossRead(plan)).then(([loss]) => loss);
  }

  nextLogits(tokens: Int32Array): Promise<Float32Array> {
    const T = tokens.length;
    const plan = this.planFor(1, T);
    this.write(plan.tokens, 0, tokens);
    this.write(plan.targets, 0, new Int32Array(T));
    const V = this.config.vocabSize;
    return this.submit(plan.forward, { buffer: plan.logits, offset: (T - 1) * V, floats: V });
  }

  /**
   * Where a step's time goes, by kernel (forward and backward, once). With the adapter's
   * 'timestamp-query' feature: GPU time, each launch in a compute pass of its own with timestamps
   * at its start and end (copies and clears are counted, not timed). Without it: wall time, each
   * launch in a submission of its own (so each includes one submission's latency).
   */
  async profile(tokens: Int32Array, targets: Int32Array, B: number, T: number): Promise<Record<string, { ms: number; launches: number }>> {
    const plan = this.planFor(B, T);
    this.write(plan.tokens, 0, tokens);
    this.write(plan.targets, 0, targets);
    const steps = [...plan.forward, ...plan.backward];
    const totals: Record<string, { ms: number; launches: number }> = {};
    const add = (label: string, ms: number) => {
      const entry = (totals[label] ??= { ms: 0, launches: 0 });
      entry.ms += ms;
      entry.launches++;
    };
    const labelOf = (step: Step) => ('pipeline' in step ? step.pipeline.label : 'copy' in step ? 'copy' : 'clear' in step ? 'clear' : 'encode');
    const launchCount = steps.filter((step) => 'pipeline' in step).length;
    if (!this.device.features.has('timestamp-query') || 2 * launchCount > 4096 /* WebGPU's most queries in a set */) {
      for (const step of steps) {
        const start = performance.now();
        await this.submit([step]);
        await this.device.queue.onSubmittedWorkDone();
        add(labelOf(step), performance.now() - start);
      }
      return totals;
    }
    const launches = steps.filter((step): step is Dispatch => 'pipeline' in step);
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

  async optimizerState(): Promise<OptimizerState> {
    const n = 4 * this.layout.count;
    return { t: this.t, m: await readBuffer(this.device, this.m, n), v: await readBuffer(this.device, this.v, n) };
  }

  async load(parameters: Float32Array, optimizer: OptimizerState): Promise<void> {
    this.write(this.params, 0, parameters);
    this.write(this.m, 0, optimizer.m);
    this.write(this.v, 0, optimizer.v);
    this.write(this.grads, 0, new Float32Array(this.layout.count));
    this.t = optimizer.t;
  }
}

