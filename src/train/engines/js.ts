// The plain TypeScript engine: the reference layers and the reference AdamW. Correct everywhere
// and slow; the fallback where neither WebGPU nor wasm SIMD is available, and the oracle.

import { gptBackward, gptForward } from '../../model/ref/gpt.js';
import { adamwStep, decayMask } from '../../kernels/adamw/ref.js';
import type { EngineOptions, OptimizerState, TrainingEngine } from '../../backends/model.js';

export class JsEngine implements TrainingEngine {
  readonly backend = 'js';
  readonly config;
  readonly layout;
  private params: Float32Array;
  private readonly grads: Float32Array;
  private m: Float32Array;
  private v: Float32Array;
  private t = 0;
  private readonly mask: Uint8Array;

  constructor(private readonly options: EngineOptions) {
    this.config = options.config;
    this.layout = options.layout;
    this.params = options.parameters.slice();
    this.grads = new Float32Array(this.layout.count);
    this.m = new Float32Array(this.layout.count);
    this.v = new Float32Array(this.layout.count);
    this.mask = decayMask(this.layout);
  }

  async forwardBackward(tokens: Int32Array, targets: Int32Array, B: number, T: number, scale: number): Promise<number> {
    const state = gptForward(this.config, this.layout, this.params, tokens, targets, B, T);
    const grads = new Float32Array(this.layout.count);
    gptBackward(this.config, this.layout, this.params, state, grads);
    for (let i = 0; i < grads.length; i++) this.grads[i] += scale * grads[i];
    return state.loss;
  }

  async update(lr: number): Promise<number> {
    this.t++;
    const norm = adamwStep(this.params, this.grads, this.m, this.v, this.mask, this.t, lr, this.options.adamw);
    this.grads.fill(0);
    return norm;
  }

  async evaluate(tokens: Int32Array, targets: Int32Array, B: number, T: number): Promise<number> {
    return gptForward(this.config, this.layout, this.params, tokens, targets, B, T).loss;
  }

  async nextLogits(tokens: Int32Array): Promise<Float32Array> {
    const T = tokens.length;
    const state = gptForward(this.config, this.layout, this.params, tokens, new Int32Array(T), 1, T);
    // probs are a softmax of the logits: their logs are logits up to a constant, enough to sample from.
    const V = this.config.vocabSize;
    return state.probs.subarray((T - 1) * V, T * V).map(Math.log);
  }

  async parameters(): Promise<Float32Array> {
    return this.params.slice();
  }

  async optimizerState(): Promise<OptimizerState> {
    return { t: this.t, m: this.m.slice(), v: this.v.slice() };
  }

  async load(parameters: Float32Array, optimizer: OptimizerState): Promise<void> {
    this.params = parameters.slice();
    this.m = optimizer.m.slice();
    this.v = optimizer.v.slice();
    this.t = optimizer.t;
    this.grads.fill(0);
  }
}
