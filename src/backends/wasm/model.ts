// The WebAssembly SIMD backend: the parameters, gradients, optimizer state, activations and every
// decoder's caches live in one module's memory (one instance a model), and every layer is an
// AssemblyScript kernel (backends/wasm/layers.ts). Activations are allocated once for a batch
// shape and again only when it changes.

import { createThreadedWasmBackend, createWasmBackend, type WasmBackend, type WasmSource } from '../../runtime/wasm.js';
import { WaveletInputError } from '../../errors.js';
import { PARALLEL_KERNELS, parallelKernels, type ParallelKernels } from './parallel.js';
import { WasmWaveletOp } from '../../kernels/wavelet/wasm.js';
import { clipScale, decayMask, OPTIMIZER_SLOTS, withoutFrozenState } from '../../kernels/optimizer/ref.js';
import { networkOf } from '../../model/networks.js';
import type { ModelConfig } from '../../model/config.js';
import { waveletPlanOf } from '../../model/parameters.js';
import type { Network } from '../../model/network.js';
import { buildProgram, type Program } from '../program.js';
import { checkStepMemory } from '../memory.js';
import { checkOptimizerState, frozenRanges, makeDecoder, trainingUnavailable, type BackendModel, type Decoder, type ModelOptions, type OptimizerState } from '../model.js';
import { wasmLayer, type WasmLayerContext, type WasmOperation } from './layers.js';

interface TrainingProgram {
  B: number;
  T: number;
  tokens: number;
  targets: number;
  probs: number;
  dlogits: number;
  program: Program<number, WasmOperation>;
  /** Every block of memory it holds. */
  blocks: number[];
}

const run = (operations: WasmOperation[]) => {
  for (const operation of operations) operation();
};

export class WasmModel implements BackendModel {
  readonly backend = 'wasm';
  readonly config: ModelConfig;
  readonly layout;
  private wasm: WasmBackend | undefined;
  private readonly network: Network;
  private readonly params: number;
  private readonly offsets: Map<string, number>;
  /** slots: the optimizer's state (OPTIMIZER_SLOTS) by name, each a pointer to n floats. */
  /** squares: float64 for each squaresBlock() gradients, their sums of squares (the norm for clipping). */
  private readonly training: { grads: number; slots: Record<string, number>; mask: number; squares: number; t: number } | undefined;
  private wavelet: WasmWaveletOp | undefined;
  private current: TrainingProgram | undefined;
  private readonly decoders = new Set<Decoder>();
  private readonly frozen: [number, number][];
  /** The kernels shared out across threads; holds the instance, so dispose drops it too. */
  private parallel: ParallelKernels | undefined;

  private constructor(wasm: WasmBackend, private readonly options: ModelOptions) {
    this.wasm = wasm;
    this.parallel = parallelKernels(wasm);
    this.frozen = frozenRanges(options);
    this.config = options.config;
    this.layout = options.layout;
    this.network = options.network ?? networkOf(this.config);
    const { arena } = wasm;
    const n = this.layout.count;
    this.params = arena.put(options.parameters);
    this.offsets = new Map(this.layout.tensors.map((t) => [t.name, this.params + 4 * t.offset]));
    if (options.optimizer) {
      const zeros = () => {
        const ptr = arena.alloc(4 * n);
        arena.f32(ptr, n).fill(0);
        return ptr;
      };
      const slots = Object.fromEntries(OPTIMIZER_SLOTS[options.optimizer.kind].map((name) => [name, zeros()]));
      const squares = arena.alloc(8 * Math.ceil(n / wasm.kernels.squaresBlock()));
      this.training = { grads: zeros(), slots, mask: arena.put(decayMask(this.layout, this.frozen)), squares, t: 0 };
    }
    const plan = waveletPlanOf(this.config);
    const parallel = this.parallel;
    this.wavelet = plan ? new WasmWaveletOp(wasm, plan, (...args) => parallel.streamingFilter(...args)) : undefined;
  }

  /**
   * source: build/wavelet.wasm's bytes, module or URL; threadsSource likewise
   * build/wavelet-threads.wasm's, for options.threads above 1.
   */
  static async create(options: ModelOptions, source?: WasmSource, threadsSource?: WasmSource): Promise<WasmModel> {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new WaveletInputError(`threads: expected an integer >= 1, found ${threads}`);
    return new WasmModel(threads > 1 ? await createThreadedWasmBackend(threads, PARALLEL_KERNELS, threadsSource) : await createWasmBackend(source), options);
  }

  /** Whether the kernels are the relaxed SIMD build (multiply-adds fused where the CPU has FMA; runtime/wasm.ts). */
  get relaxedSimd(): boolean {
    return this.module.relaxedSimd;
  }

  /** Threads sharing the work (1: this one alone). */
  get threads(): number {
    return this.module.pool?.threads ?? 1;
  }

  private get module(): WasmBackend {
    if (!this.wasm) throw new Error('wasm model: disposed');
    return this.wasm;
  }

  private context(B: number, T: number, tokens: number, alloc: (bytes: number) => number, generation?: WasmLayerContext['generation']): WasmLayerContext {
    let matmulScratch: number | undefined;
    return {
      matmulScratch: () => (matmulScratch ??= alloc(4 * this.module.kernels.matmulScratchFloats() * this.threads)),
      wasm: this.module,
      parallel: this.parallel!,
      config: this.config,
      wavelet: this.wavelet,
      parameter: (name) => this.offsets.get(name)!,
      gradient: (name) => {
        if (!this.training) throw trainingUnavailable('wasm');
        return this.offsets.get(name)! - this.params + this.training.grads;
      },
      alloc,
      B, T, tokens, generation,
    };
  }

  private programFor(B: number, T: number): TrainingProgram {
    if (this.current?.B === B && this.current.T === T) return this.current;
    if (T > this.config.context) throw new Error(`sequence length ${T} exceeds the context ${this.config.context}`);
    if (this.training) checkStepMemory('wasm', this.config, this.network, OPTIMIZER_SLOTS[this.options.optimizer!.kind].length, B, T, this.options.memoryBudget);
    this.releaseProgram();
    const { arena } = this.module;
    const N = B * T;
    const V = this.config.vocabSize;
    const blocks: number[] = [];
    const alloc = this.allocator(blocks);
    const [tokens, targets, probs, dlogits] = [alloc(4 * N), alloc(4 * N), alloc(4 * N * V), alloc(4 * N * V)];
    const ctx = this.context(B, T, tokens, alloc);
    const program = buildProgram(this.network, this.training ? 'train' : 'generate', N, {
      allocate: (floats) => alloc(4 * floats),
      clear: (ptr, floats) => () => this.parallel!.zero(ptr, floats), // on every thread: some tens of MB a step
      layer: (io) => wasmLayer(io, ctx),
      logitsGradient: dlogits,
    });
    this.current = { B, T, tokens, targets, probs, dlogits, program, blocks };
    return this.current;
  }

  private releaseProgram(): void {
    if (!this.current || !this.wasm) return;
    for (const ptr of this.current.blocks) this.wasm.arena.free(ptr);
    this.current = undefined;
  }

  private forward(tokens: Int32Array, targets: Int32Array, B: number, T: number): TrainingProgram {
    const p = this.programFor(B, T);
    const { arena } = this.module;
    arena.i32(p.tokens, B * T).set(tokens);
    arena.i32(p.targets, B * T).set(targets);
    run(p.program.forward);
    return p;
  }

  private loss(p: TrainingProgram): number {
    return this.module.kernels.crossEntropyForward(p.probs, p.program.activation(this.network.logits), p.targets, p.B * p.T, this.config.vocabSize);
  }

  async forwardBackward(tokens: Int32Array, targets: Int32Array, B: number, T: number, scale: number): Promise<number> {
    if (!this.training) throw trainingUnavailable('wasm');
    const p = this.forward(tokens, targets, B, T);
    const loss = this.loss(p);
    const k = this.module.kernels;
    const NV = B * T * this.config.vocabSize;
    this.parallel!.zero(p.dlogits, NV);
    k.crossEntropyBackward(p.dlogits, p.probs, p.targets, B * T, this.config.vocabSize);
    k.addScaled(p.dlogits, p.dlogits, scale - 1, NV); // every gradient below is linear in dlogits
    run(p.program.backward);
    return loss;
  }

  async update(lr: number): Promise<number> {
    const s = this.training;
    if (!s) throw trainingUnavailable('wasm');
    const par = this.parallel!;
    const a = this.options.optimizer!;
    const n = this.layout.count;
    for (const [start, end] of this.frozen) par.zero(s.grads + 4 * start, end - start);
    const norm = Math.sqrt(par.sumSquares(s.grads, n, s.squares));
    const scale = clipScale(norm, a.clipNorm);
    s.t++;
    if (a.kind === 'adagrad') par.adagrad(this.params, s.grads, s.slots.sum, s.mask, n, lr, a.epsilon, a.weightDecay, scale);
    else par.adamw(this.params, s.grads, s.slots.m, s.slots.v, s.mask, n, lr, a.beta1, a.beta2, a.epsilon, a.weightDecay, 1 - a.beta1 ** s.t, 1 - a.beta2 ** s.t, scale);
    par.zero(s.grads, n);
    return norm;
  }

  async evaluate(tokens: Int32Array, targets: Int32Array, B: number, T: number): Promise<number> {
    return this.loss(this.forward(tokens, targets, B, T));
  }

  async nextLogits(tokens: Int32Array): Promise<Float32Array> {
    const T = tokens.length;
    const V = this.config.vocabSize;
    const p = this.forward(tokens, new Int32Array(T), 1, T);
    return this.module.arena.f32(p.program.activation(this.network.logits) + 4 * (T - 1) * V, V).slice();
  }

  /** The size of the module's memory, which only grows: a benchmark checks that steps do not grow it. */
  memoryBytes(): number {
    return this.module.kernels.memory.buffer.byteLength;
  }

  /** Bytes of the module's memory held by this model now (weights, optimizer, the step's buffers, decoders). */
  memoryInUse(): number {
    return this.module.arena.bytesInUse();
  }

  async parameters(): Promise<Float32Array> {
    return this.module.arena.f32(this.params, this.layout.count).slice();
  }

  async gradients(): Promise<Float32Array> {
    if (!this.training) throw trainingUnavailable('wasm');
    return this.module.arena.f32(this.training.grads, this.layout.count).slice();
  }

  async optimizerState(): Promise<OptimizerState> {
    const s = this.training;
    if (!s) throw trainingUnavailable('wasm');
    const n = this.layout.count;
    const { arena } = this.module;
    return { kind: this.options.optimizer!.kind, t: s.t, slots: Object.fromEntries(Object.entries(s.slots).map(([name, ptr]) => [name, arena.f32(ptr, n).slice()])) };
  }

  async load(parameters: Float32Array, optimizer?: OptimizerState): Promise<void> {
    const n = this.layout.count;
    const { arena } = this.module;
    arena.f32(this.params, n).set(parameters);
    const s = this.training;
    if (!s) return;
    if (optimizer) checkOptimizerState('wasm', this.options.optimizer, n, optimizer);
    if (optimizer) optimizer = withoutFrozenState(optimizer, this.frozen);
    arena.f32(s.grads, n).fill(0);
    for (const [name, ptr] of Object.entries(s.slots)) arena.f32(ptr, n).set(optimizer?.slots[name] ?? new Float32Array(n));
    s.t = optimizer?.t ?? 0;
  }

  async decoder(batch: number): Promise<Decoder> {
    const blocks: number[] = [];
    const alloc = this.allocator(blocks);
    const tokens = alloc(4 * batch);
    const resets: (() => void)[] = [];
    const ctx = this.context(batch, 1, tokens, alloc, { position: () => decoder.position, onReset: (clear) => resets.push(clear) });
    const program = buildProgram(this.network, 'generate', batch, {
      allocate: (floats) => alloc(4 * floats),
      clear: () => () => undefined,
      layer: (io) => wasmLayer(io, ctx),
    });
    const logits = program.activation(this.network.logits);
    const V = this.config.vocabSize;
    const decoder = makeDecoder(this.config, batch, {
      run: (next) => {
        const { arena } = this.module;
        arena.i32(tokens, batch).set(Array.from(next));
        run(program.forward);
        return arena.f32(logits, batch * V).slice();
      },
      reset: () => resets.forEach((clear) => clear()),
      dispose: () => {
        if (!this.decoders.delete(decoder) || !this.wasm) return;
        for (const ptr of blocks) this.wasm.arena.free(ptr);
      },
    });
    this.decoders.add(decoder);
    return decoder;
  }

  /** Allocation from the module's arena, each block recorded in `blocks` to be freed together. */
  private allocator(blocks: number[]): (bytes: number) => number {
    return (bytes) => {
      const ptr = this.module.arena.alloc(bytes);
      blocks.push(ptr);
      return ptr;
    };
  }

  dispose(): void {
    for (const decoder of [...this.decoders]) decoder.dispose();
    this.releaseProgram();
    this.wavelet = undefined;
    this.wasm?.pool?.dispose();
    this.wasm = undefined; // the instance and its memory go with the last reference
    this.parallel = undefined;
  }
}
