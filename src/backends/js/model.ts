// The plain TypeScript backend: the network run on the reference kernels. Correct everywhere and
// slow; the fallback where neither WebGPU nor wasm SIMD runs, and the oracle of the others.

import { decayMask, emptyOptimizerState, OPTIMIZER_SLOTS, optimizerStep, withoutFrozenState } from '../../kernels/optimizer/ref.js';
import { checkStepMemory } from '../memory.js';
import * as L from '../../kernels/gpt/ref.js';
import { networkOf } from '../../model/networks.js';
import { slice, waveletPlanOf } from '../../model/parameters.js';
import type { Network } from '../../model/network.js';
import { buildProgram, type Program } from '../program.js';
import { checkOptimizerState, frozenRanges, makeDecoder, trainingUnavailable, type BackendModel, type Decoder, type ModelOptions, type OptimizerState } from '../model.js';
import { jsLayer, type JsLayerContext, type JsOperation } from './layers.js';

interface TrainingProgram {
  B: number;
  T: number;
  tokens: Int32Array;
  targets: Int32Array;
  probs: Float32Array;
  dlogits: Float32Array;
  program: Program<Float32Array, JsOperation>;
}

const run = (operations: JsOperation[]) => {
  for (const operation of operations) operation();
};

export class JsModel implements BackendModel {
  readonly backend = 'js';
  readonly config;
  readonly layout;
  private readonly network: Network;
  private readonly params: Float32Array;
  private readonly training: { grads: Float32Array; state: OptimizerState; mask: Uint8Array } | undefined;
  private current: TrainingProgram | undefined;
  private readonly frozen: [number, number][];

  constructor(private readonly options: ModelOptions) {
    this.config = options.config;
    this.layout = options.layout;
    this.network = options.network ?? networkOf(this.config);
    this.params = options.parameters.slice();
    const n = this.layout.count;
    this.frozen = frozenRanges(options);
    this.training = options.optimizer ? { grads: new Float32Array(n), state: emptyOptimizerState(options.optimizer.kind, n), mask: decayMask(this.layout, this.frozen) } : undefined;
  }

  private context(B: number, T: number, tokens: Int32Array, generation?: JsLayerContext['generation']): JsLayerContext {
    const grads = this.training?.grads;
    return {
      config: this.config,
      plan: waveletPlanOf(this.config),
      parameter: (name) => slice(this.params, this.layout, name),
      gradient: (name) => {
        if (!grads) throw trainingUnavailable('js');
        return slice(grads, this.layout, name);
      },
      B, T, tokens, generation,
    };
  }

  private programFor(B: number, T: number): TrainingProgram {
    if (this.current?.B === B && this.current.T === T) return this.current;
    if (T > this.config.context) throw new Error(`sequence length ${T} exceeds the context ${this.config.context}`);
    if (this.training) checkStepMemory('js', this.config, this.network, OPTIMIZER_SLOTS[this.options.optimizer!.kind].length, B, T, this.options.memoryBudget);
    const N = B * T;
    const tokens = new Int32Array(N);
    const probs = new Float32Array(N * this.config.vocabSize);
    const dlogits = new Float32Array(N * this.config.vocabSize);
    const ctx = this.context(B, T, tokens);
    const program = buildProgram(this.network, this.training ? 'train' : 'generate', N, {
      allocate: (floats) => new Float32Array(floats),
      clear: (buffer) => () => buffer.fill(0),
      layer: (io) => jsLayer(io, ctx),
      logitsGradient: dlogits,
    });
    this.current = { B, T, tokens, targets: new Int32Array(N), probs, dlogits, program };
    return this.current;
  }

  private forward(tokens: Int32Array, targets: Int32Array, B: number, T: number): TrainingProgram {
    const p = this.programFor(B, T);
    p.tokens.set(tokens);
    p.targets.set(targets);
    run(p.program.forward);
    return p;
  }

  private loss(p: TrainingProgram): number {
    return L.crossEntropyForward(p.probs, p.program.activation(this.network.logits), p.targets, p.B * p.T, this.config.vocabSize);
  }

  async forwardBackward(tokens: Int32Array, targets: Int32Array, B: number, T: number, scale: number): Promise<number> {
    if (!this.training) throw trainingUnavailable('js');
    const p = this.forward(tokens, targets, B, T);
    const loss = this.loss(p);
    const N = B * T, V = this.config.vocabSize;
    const { dlogits } = p;
    dlogits.fill(0);
    L.crossEntropyBackward(dlogits, p.probs, p.targets, N, V);
    for (let i = 0; i < dlogits.length; i++) dlogits[i] *= scale; // every gradient below is linear in dlogits
    run(p.program.backward);
    return loss;
  }

  async update(lr: number): Promise<number> {
    const s = this.training;
    if (!s) throw trainingUnavailable('js');
    for (const [start, end] of this.frozen) s.grads.fill(0, start, end);
    const norm = optimizerStep(this.params, s.grads, s.state, s.mask, lr, this.options.optimizer!);
    s.grads.fill(0);
    return norm;
  }

  async evaluate(tokens: Int32Array, targets: Int32Array, B: number, T: number): Promise<number> {
    return this.loss(this.forward(tokens, targets, B, T));
  }

  async nextLogits(tokens: Int32Array): Promise<Float32Array> {
    const T = tokens.length;
    const V = this.config.vocabSize;
    const p = this.forward(tokens, new Int32Array(T), 1, T);
    return p.program.activation(this.network.logits).slice((T - 1) * V, T * V);
  }

  async parameters(): Promise<Float32Array> {
    return this.params.slice();
  }

  async gradients(): Promise<Float32Array> {
    if (!this.training) throw trainingUnavailable('js');
    return this.training.grads.slice();
  }

  async optimizerState(): Promise<OptimizerState> {
    const s = this.training;
    if (!s) throw trainingUnavailable('js');
    return { ...s.state, slots: Object.fromEntries(Object.entries(s.state.slots).map(([name, slot]) => [name, slot.slice()])) };
  }

  async load(parameters: Float32Array, optimizer?: OptimizerState): Promise<void> {
    this.params.set(parameters);
    const s = this.training;
    if (!s) return;
    if (optimizer) checkOptimizerState('js', this.options.optimizer, this.layout.count, optimizer);
    if (optimizer) optimizer = withoutFrozenState(optimizer, this.frozen);
    s.grads.fill(0);
    for (const [name, slot] of Object.entries(s.state.slots)) slot.set(optimizer?.slots[name] ?? new Float32Array(slot.length));
    s.state.t = optimizer?.t ?? 0;
  }

  async decoder(batch: number): Promise<Decoder> {
    const tokens = new Int32Array(batch);
    const resets: (() => void)[] = [];
    const ctx = this.context(batch, 1, tokens, { position: () => decoder.position, onReset: (clear) => resets.push(clear) });
    const program = buildProgram(this.network, 'generate', batch, {
      allocate: (floats) => new Float32Array(floats),
      clear: (buffer) => () => buffer.fill(0),
      layer: (io) => jsLayer(io, ctx),
    });
    const logits = program.activation(this.network.logits);
    const decoder = makeDecoder(this.config, batch, {
      run(next) {
        tokens.set(Array.from(next));
        run(program.forward);
        return logits.slice();
      },
      reset: () => resets.forEach((clear) => clear()),
      dispose() {},
    });
    return decoder;
  }

  dispose(): void {
    this.current = undefined;
  }
}
