// The WebAssembly SIMD engine: the GPT's parameters, gradients, AdamW moments and activations
// live in one module's memory, allocated once (activations again only when the batch shape
// changes), and every layer is an AssemblyScript kernel (assembly/model/layers.ts, the wavelet
// filter bank beside it). The step mirrors src/model/ref/gpt.ts, which the tests hold it to.

import { createWasmBackend, type WasmBackend, type WasmSource } from '../../runtime/wasm.js';
import { WasmWaveletOp } from '../../kernels/wavelet/wasm.js';
import { waveletGaps } from '../../model/config.js';
import { tapsName, waveletPlanOf } from '../../model/parameters.js';
import { decayMask } from '../../kernels/adamw/ref.js';
import type { EngineOptions, OptimizerState, TrainingEngine } from '../../backends/model.js';

interface Block {
  input: number; ln1: number; ln1Mean: number; ln1Rstd: number; qkv: number; att: number; attOut: number;
  res2: number; ln2: number; ln2Mean: number; ln2Rstd: number; fc: number; fcGelu: number; res3: number; output: number;
}

interface Activations {
  B: number; T: number;
  tokens: number; targets: number; blocks: Block[];
  lnf: number; lnfMean: number; lnfRstd: number; dense: number; denseGelu: number; logits: number; probs: number;
  // gradients of activations
  dx: number; dres: number; dln: number; dqkv: number; dattOut: number; dfc: number; dfcGelu: number;
  ddense: number; ddenseGelu: number; dlogits: number; scratch: number; dTaps: number; projected: number;
}

export class WasmEngine implements TrainingEngine {
  readonly backend = 'wasm';
  readonly config;
  readonly layout;
  private readonly params: number;
  private readonly grads: number;
  private readonly m: number;
  private readonly v: number;
  private readonly mask: number;
  private t = 0;
  private readonly offsets: Map<string, number>;
  private readonly wavelet: WasmWaveletOp | undefined;
  private readonly activationMark: number;
  private acts: Activations | undefined;

  private constructor(private readonly wasm: WasmBackend, private readonly options: EngineOptions) {
    this.config = options.config;
    this.layout = options.layout;
    const { arena } = wasm;
    const n = this.layout.count;
    this.params = arena.put(options.parameters);
    this.grads = arena.alloc(4 * n);
    this.m = arena.alloc(4 * n);
    this.v = arena.alloc(4 * n);
    this.mask = arena.put(decayMask(this.layout));
    for (const ptr of [this.grads, this.m, this.v]) arena.f32(ptr, n).fill(0);
    this.offsets = new Map(this.layout.tensors.map((t) => [t.name, this.params + 4 * t.offset]));
    const plan = waveletPlanOf(this.config);
    this.wavelet = plan ? new WasmWaveletOp(wasm, plan) : undefined;
    this.activationMark = arena.mark();
  }

  static async create(options: EngineOptions, source?: WasmSource): Promise<WasmEngine> {
    return new WasmEngine(await createWasmBackend(source), options);
  }

  private p(name: string): number {
    return this.offsets.get(name)!;
  }
  private g(name: string): number {
    return this.offsets.get(name)! - this.params + this.grads;
  }

  private activations(B: number, T: number): Activations {
    if (this.acts && this.acts.B === B && this.acts.T === T) return this.acts;
    const { arena } = this.wasm;
    arena.release(this.activationMark);
    const { width: C, heads: NH, feedForward: F, headDense: D, vocabSize: V, layers } = this.config;
    const N = B * T;
    const f = (count: number) => arena.alloc(4 * Math.max(1, count));
    const blocks: Block[] = [];
    let input = f(N * C);
    for (let l = 0; l < layers; l++) {
      const res3 = f(N * C);
      const block: Block = {
        input, ln1: f(N * C), ln1Mean: f(N), ln1Rstd: f(N), qkv: f(N * 3 * C), att: f(B * NH * T * T), attOut: f(N * C),
        res2: f(N * C), ln2: f(N * C), ln2Mean: f(N), ln2Rstd: f(N), fc: f(N * F), fcGelu: f(N * F), res3,
        output: this.wavelet && l < waveletGaps(this.config) ? f(N * C) : res3,
      };
      blocks.push(block);
      input = block.output;
    }
    this.acts = {
      B, T, tokens: f(N), targets: f(N), blocks,
      lnf: f(N * C), lnfMean: f(N), lnfRstd: f(N), dense: f(N * D), denseGelu: f(N * D), logits: f(N * V), probs: f(N * V),
      dx: f(N * C), dres: f(N * C), dln: f(N * C), dqkv: f(N * 3 * C), dattOut: f(N * C), dfc: f(N * F), dfcGelu: f(N * F),
      ddense: f(N * D), ddenseGelu: f(N * D), dlogits: f(N * V), scratch: f(T), dTaps: f(this.wavelet?.plan.tapCount ?? 0), projected: f(N * C),
    };
    return this.acts;
  }

  private forward(tokens: Int32Array, targets: Int32Array, B: number, T: number): number {
    const k = this.wasm.kernels;
    const a = this.activations(B, T);
    const { width: C, heads: NH, feedForward: F, headDense: D, vocabSize: V } = this.config;
    const N = B * T;
    this.wasm.arena.i32(a.tokens, N).set(tokens);
    this.wasm.arena.i32(a.targets, N).set(targets);
    k.encoderForward(a.blocks[0].input, a.tokens, this.p('wte'), this.p('wpe'), B, T, C);
    a.blocks.forEach((b, l) => {
      k.layernormForward(b.ln1, b.ln1Mean, b.ln1Rstd, b.input, this.p(`h${l}.ln1.w`), this.p(`h${l}.ln1.b`), N, C);
      k.matmulForward(b.qkv, b.ln1, this.p(`h${l}.qkv.w`), 0, N, C, 3 * C);
      k.attentionForward(b.attOut, b.att, b.qkv, B, T, C, NH);
      k.matmulForward(a.projected, b.attOut, this.p(`h${l}.proj.w`), 0, N, C, C);
      k.residualForward(b.res2, b.input, a.projected, N * C);
      k.layernormForward(b.ln2, b.ln2Mean, b.ln2Rstd, b.res2, this.p(`h${l}.ln2.w`), this.p(`h${l}.ln2.b`), N, C);
      k.matmulForward(b.fc, b.ln2, this.p(`h${l}.fc.w`), this.p(`h${l}.fc.b`), N, C, F);
      k.geluForward(b.fcGelu, b.fc, N * F);
      k.matmulForward(a.projected, b.fcGelu, this.p(`h${l}.fcproj.w`), this.p(`h${l}.fcproj.b`), N, F, C);
      k.residualForward(b.res3, b.res2, a.projected, N * C);
      if (b.output !== b.res3) this.wavelet!.forwardAt({ batch: B, time: T, channels: C }, b.res3, b.output, this.tapsOf(l, this.p.bind(this)));
    });
    const final = a.blocks[a.blocks.length - 1].output;
    k.layernormForward(a.lnf, a.lnfMean, a.lnfRstd, final, this.p('lnf.w'), this.p('lnf.b'), N, C);
    let head = a.lnf;
    if (D > 0) {
      k.matmulForward(a.dense, a.lnf, this.p('dense.w'), this.p('dense.b'), N, C, D);
      k.geluForward(a.denseGelu, a.dense, N * D);
      head = a.denseGelu;
    }
    k.matmulForward(a.logits, head, this.p('out.w'), 0, N, D > 0 ? D : C, V);
    return k.crossEntropyForward(a.probs, a.logits, a.targets, N, V);
  }

  private tapsOf(l: number, at: (name: string) => number): number {
    return this.wavelet?.plan.form === 'learnable' ? at(tapsName(this.config, l)) : 0;
  }

  private zero(ptr: number, count: number): void {
    this.wasm.arena.f32(ptr, count).fill(0);
  }

  async forwardBackward(tokens: Int32Array, targets: Int32Array, B: number, T: number, scale: number): Promise<number> {
    const loss = this.forward(tokens, targets, B, T);
    const k = this.wasm.kernels;
    const a = this.acts!;
    const { width: C, heads: NH, feedForward: F, headDense: D, vocabSize: V } = this.config;
    const N = B * T;
    this.zero(a.dlogits, N * V);
    k.crossEntropyBackward(a.dlogits, a.probs, a.targets, N, V);
    k.addScaled(a.dlogits, a.dlogits, scale - 1, N * V); // every gradient below is linear in dlogits
    this.zero(a.dln, N * C);
    if (D > 0) {
      this.zero(a.ddenseGelu, N * D);
      this.zero(a.ddense, N * D);
      k.matmulBackward(a.ddenseGelu, this.g('out.w'), 0, a.dlogits, a.denseGelu, this.p('out.w'), N, D, V);
      k.geluBackward(a.ddense, a.dense, a.ddenseGelu, N * D);
      k.matmulBackward(a.dln, this.g('dense.w'), this.g('dense.b'), a.ddense, a.lnf, this.p('dense.w'), N, C, D);
    } else {
      k.matmulBackward(a.dln, this.g('out.w'), 0, a.dlogits, a.lnf, this.p('out.w'), N, C, V);
    }
    const final = a.blocks[a.blocks.length - 1].output;
    this.zero(a.dx, N * C);
    k.layernormBackward(a.dx, this.g('lnf.w'), this.g('lnf.b'), a.dln, final, this.p('lnf.w'), a.lnfMean, a.lnfRstd, N, C);
    for (let l = a.blocks.length - 1; l >= 0; l--) {
      const b = a.blocks[l];
      // dx holds dL/d(block output); dres becomes dL/d(res3), then dL/d(res2), then dL/d(input).
      if (b.output !== b.res3) {
        const shape = { batch: B, time: T, channels: C };
        const taps = this.tapsOf(l, this.p.bind(this));
        this.wavelet!.filterAt(true, shape, a.dx, a.dres, taps);
        if (taps) {
          this.wavelet!.tapGradientAt(shape, b.res3, a.dx, a.dTaps);
          k.addScaled(this.tapsOf(l, this.g.bind(this)), a.dTaps, 1, this.wavelet!.plan.tapCount);
        }
      } else {
        this.wasm.arena.f32(a.dres, N * C).set(this.wasm.arena.f32(a.dx, N * C));
      }
      // res3 = res2 + fcproj(gelu(fc(ln2(res2)))): dres flows to res2 unchanged, plus the MLP's part.
      this.zero(a.dfcGelu, N * F);
      this.zero(a.dfc, N * F);
      this.zero(a.dln, N * C);
      k.matmulBackward(a.dfcGelu, this.g(`h${l}.fcproj.w`), this.g(`h${l}.fcproj.b`), a.dres, b.fcGelu, this.p(`h${l}.fcproj.w`), N, F, C);
      k.geluBackward(a.dfc, b.fc, a.dfcGelu, N * F);
      k.matmulBackward(a.dln, this.g(`h${l}.fc.w`), this.g(`h${l}.fc.b`), a.dfc, b.ln2, this.p(`h${l}.fc.w`), N, C, F);
      k.layernormBackward(a.dres, this.g(`h${l}.ln2.w`), this.g(`h${l}.ln2.b`), a.dln, b.res2, this.p(`h${l}.ln2.w`), b.ln2Mean, b.ln2Rstd, N, C);
      // res2 = input + proj(attention(qkv(ln1(input))))
      this.zero(a.dattOut, N * C);
      this.zero(a.dqkv, N * 3 * C);
      this.zero(a.dln, N * C);
      k.matmulBackward(a.dattOut, this.g(`h${l}.proj.w`), 0, a.dres, b.attOut, this.p(`h${l}.proj.w`), N, C, C);
      k.attentionBackward(a.dqkv, a.dattOut, b.qkv, b.att, B, T, C, NH, a.scratch);
      k.matmulBackward(a.dln, this.g(`h${l}.qkv.w`), 0, a.dqkv, b.ln1, this.p(`h${l}.qkv.w`), N, C, 3 * C);
      k.layernormBackward(a.dres, this.g(`h${l}.ln1.w`), this.g(`h${l}.ln1.b`), a.dln, b.input, this.p(`h${l}.ln1.w`), b.ln1Mean, b.ln1Rstd, N, C);
      this.wasm.arena.f32(a.dx, N * C).set(this.wasm.arena.f32(a.dres, N * C));
    }
    k.encoderBackward(this.g('wte'), this.g('wpe'), a.dx, a.tokens, B, T, C);
    return loss;
  }

  async update(lr: number): Promise<number> {
    const k = this.wasm.kernels;
    const s = this.options.adamw;
    const n = this.layout.count;
    const norm = Math.sqrt(k.sumSquares(this.grads, n));
    const scale = s.clipNorm > 0 && norm > s.clipNorm ? s.clipNorm / norm : 1;
    this.t++;
    k.adamw(this.params, this.grads, this.m, this.v, this.mask, n, lr, s.beta1, s.beta2, s.epsilon, s.weightDecay, 1 - s.beta1 ** this.t, 1 - s.beta2 ** this.t, scale);
    this.zero(this.grads, n);
    return norm;
  }

  async evaluate(tokens: Int32Array, targets: Int32Array, B: number, T: number): Promise<number> {
    return this.forward(tokens, targets, B, T);
  }

  async nextLogits(tokens: Int32Array): Promise<Float32Array> {
    const T = tokens.length;
    this.forward(tokens, new Int32Array(T), 1, T);
    const V = this.config.vocabSize;
    return this.wasm.arena.f32(this.acts!.logits + 4 * (T - 1) * V, V).slice();
  }

  /** The size of the module's memory, which only grows: a benchmark checks that steps do not grow it. */
  memoryBytes(): number {
    return this.wasm.kernels.memory.buffer.byteLength;
  }

  async parameters(): Promise<Float32Array> {
    return this.wasm.arena.f32(this.params, this.layout.count).slice();
  }

  async optimizerState(): Promise<OptimizerState> {
    const n = this.layout.count;
    return { t: this.t, m: this.wasm.arena.f32(this.m, n).slice(), v: this.wasm.arena.f32(this.v, n).slice() };
  }

  async load(parameters: Float32Array, optimizer: OptimizerState): Promise<void> {
    const n = this.layout.count;
    this.wasm.arena.f32(this.params, n).set(parameters);
    this.wasm.arena.f32(this.m, n).set(optimizer.m);
    this.wasm.arena.f32(this.v, n).set(optimizer.v);
    this.zero(this.grads, n);
    this.t = optimizer.t;
  }
}
