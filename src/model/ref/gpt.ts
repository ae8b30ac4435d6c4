// The whole GPT (baseline or WaveletGPT) as the reference layers composed: forward to the mean
// cross-entropy, and backward into a gradient buffer laid out as the parameters. The oracle
// for the engines; it allocates its activations on every call and is slow by design.

import { waveletGaps, type GPTConfig } from '../config.js';
import { slice, tapsName, waveletPlanOf, type ParameterLayout } from '../parameters.js';
import { waveletBackwardRef, waveletForwardRef } from '../../kernels/wavelet/ref.js';
import * as L from '../../kernels/gpt/ref.js';

interface BlockActivations {
  input: Float32Array; // (B, T, C) the residual stream entering the block
  ln1: Float32Array; ln1Mean: Float32Array; ln1Rstd: Float32Array;
  qkv: Float32Array; att: Float32Array; attOut: Float32Array;
  res2: Float32Array; // input + attention projection
  ln2: Float32Array; ln2Mean: Float32Array; ln2Rstd: Float32Array;
  fc: Float32Array; fcGelu: Float32Array;
  res3: Float32Array; // res2 + MLP: the block's output, before the wavelet structure
}

export interface ForwardState {
  loss: number;
  tokens: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
  blocks: BlockActivations[];
  final: Float32Array; // the residual stream after the last block
  lnf: Float32Array; lnfMean: Float32Array; lnfRstd: Float32Array;
  dense: Float32Array; denseGelu: Float32Array;
  probs: Float32Array;
}

export function gptForward(config: GPTConfig, layout: ParameterLayout, params: Float32Array, tokens: Int32Array, targets: Int32Array, B: number, T: number): ForwardState {
  const { width: C, heads: NH, feedForward: F, headDense: D, vocabSize: V } = config;
  if (T > config.context) throw new Error(`sequence length ${T} exceeds the context ${config.context}`);
  const p = (name: string) => slice(params, layout, name);
  const N = B * T;
  const plan = waveletPlanOf(config);
  let x: Float32Array = new Float32Array(N * C);
  L.encoderForward(x, tokens, p('wte'), p('wpe'), B, T, C);
  const blocks: BlockActivations[] = [];
  for (let l = 0; l < config.layers; l++) {
    const a: BlockActivations = {
      input: x,
      ln1: new Float32Array(N * C), ln1Mean: new Float32Array(N), ln1Rstd: new Float32Array(N),
      qkv: new Float32Array(N * 3 * C), att: new Float32Array(B * NH * T * T), attOut: new Float32Array(N * C),
      res2: new Float32Array(N * C),
      ln2: new Float32Array(N * C), ln2Mean: new Float32Array(N), ln2Rstd: new Float32Array(N),
      fc: new Float32Array(N * F), fcGelu: new Float32Array(N * F),
      res3: new Float32Array(N * C),
    };
    const scratch = new Float32Array(N * C);
    L.layernormForward(a.ln1, a.ln1Mean, a.ln1Rstd, x, p(`h${l}.ln1.w`), p(`h${l}.ln1.b`), N, C);
    L.matmulForward(a.qkv, a.ln1, p(`h${l}.qkv.w`), null, N, C, 3 * C);
    L.attentionForward(a.attOut, a.att, a.qkv, B, T, C, NH);
    L.matmulForward(scratch, a.attOut, p(`h${l}.proj.w`), null, N, C, C);
    L.residualForward(a.res2, x, scratch);
    L.layernormForward(a.ln2, a.ln2Mean, a.ln2Rstd, a.res2, p(`h${l}.ln2.w`), p(`h${l}.ln2.b`), N, C);
    L.matmulForward(a.fc, a.ln2, p(`h${l}.fc.w`), p(`h${l}.fc.b`), N, C, F);
    L.geluForward(a.fcGelu, a.fc);
    L.matmulForward(scratch, a.fcGelu, p(`h${l}.fcproj.w`), p(`h${l}.fcproj.b`), N, F, C);
    L.residualForward(a.res3, a.res2, scratch);
    blocks.push(a);
    x = plan && l < waveletGaps(config) ? waveletForwardRef(plan, { batch: B, time: T, channels: C }, a.res3, plan.form === 'learnable' ? p(tapsName(config, l)) : undefined) : a.res3;
  }
  const lnf = new Float32Array(N * C), lnfMean = new Float32Array(N), lnfRstd = new Float32Array(N);
  L.layernormForward(lnf, lnfMean, lnfRstd, x, p('lnf.w'), p('lnf.b'), N, C);
  let head = lnf;
  const dense = new Float32Array(N * D), denseGelu = new Float32Array(N * D);
  if (D > 0) {
    L.matmulForward(dense, lnf, p('dense.w'), p('dense.b'), N, C, D);
    L.geluForward(denseGelu, dense);
    head = denseGelu;
  }
  const logits = new Float32Array(N * V);
  L.matmulForward(logits, head, p('out.w'), null, N, D > 0 ? D : C, V);
  const probs = new Float32Array(N * V);
  const loss = L.crossEntropyForward(probs, logits, targets, N, V);
  return { loss, tokens, targets, B, T, blocks, final: x, lnf, lnfMean, lnfRstd, dense, denseGelu, probs };
}

/** Gradients of the mean loss, added into `grads` (zero it first for plain gradients). */
export function gptBackward(config: GPTConfig, layout: ParameterLayout, params: Float32Array, s: ForwardState, grads: Float32Array): void {
  const { width: C, heads: NH, feedForward: F, headDense: D, vocabSize: V } = config;
  const { B, T } = s;
  const N = B * T;
  const p = (name: string) => slice(params, layout, name);
  const g = (name: string) => slice(grads, layout, name);
  const plan = waveletPlanOf(config);
  const dlogits = new Float32Array(N * V);
  L.crossEntropyBackward(dlogits, s.probs, s.targets, N, V);
  const dlnf = new Float32Array(N * C);
  if (D > 0) {
    const ddenseGelu = new Float32Array(N * D), ddense = new Float32Array(N * D);
    L.matmulBackward(ddenseGelu, g('out.w'), null, dlogits, s.denseGelu, p('out.w'), N, D, V);
    L.geluBackward(ddense, s.dense, ddenseGelu);
    L.matmulBackward(dlnf, g('dense.w'), g('dense.b'), ddense, s.lnf, p('dense.w'), N, C, D);
  } else {
    L.matmulBackward(dlnf, g('out.w'), null, dlogits, s.lnf, p('out.w'), N, C, V);
  }
  let dx = new Float32Array(N * C);
  L.layernormBackward(dx, g('lnf.w'), g('lnf.b'), dlnf, s.final, p('lnf.w'), s.lnfMean, s.lnfRstd, N, C);
  for (let l = config.layers - 1; l >= 0; l--) {
    const a = s.blocks[l];
    let dres3: Float32Array = dx;
    if (plan && l < waveletGaps(config)) {
      const taps = plan.form === 'learnable' ? p(tapsName(config, l)) : undefined;
      const { dx: through, dTaps } = waveletBackwardRef(plan, { batch: B, time: T, channels: C }, a.res3, dx, taps);
      dres3 = through;
      if (taps) g(tapsName(config, l)).forEach((_, i, d) => (d[i] += dTaps[i]));
    }
    // res3 = res2 + fcproj(gelu(fc(ln2(res2)))): the residual passes dres3 to res2 unchanged.
    const dres2 = dres3.slice();
    const dfcGelu = new Float32Array(N * F), dfc = new Float32Array(N * F), dln2 = new Float32Array(N * C);
    L.matmulBackward(dfcGelu, g(`h${l}.fcproj.w`), g(`h${l}.fcproj.b`), dres3, a.fcGelu, p(`h${l}.fcproj.w`), N, F, C);
    L.geluBackward(dfc, a.fc, dfcGelu);
    L.matmulBackward(dln2, g(`h${l}.fc.w`), g(`h${l}.fc.b`), dfc, a.ln2, p(`h${l}.fc.w`), N, C, F);
    L.layernormBackward(dres2, g(`h${l}.ln2.w`), g(`h${l}.ln2.b`), dln2, a.res2, p(`h${l}.ln2.w`), a.ln2Mean, a.ln2Rstd, N, C);
    // res2 = input + proj(attention(qkv(ln1(input))))
    const dinput = dres2.slice();
    const dattOut = new Float32Array(N * C), dqkv = new Float32Array(N * 3 * C), dln1 = new Float32Array(N * C);
    L.matmulBackward(dattOut, g(`h${l}.proj.w`), null, dres2, a.attOut, p(`h${l}.proj.w`), N, C, C);
    L.attentionBackward(dqkv, dattOut, a.qkv, a.att, B, T, C, NH);
    L.matmulBackward(dln1, g(`h${l}.qkv.w`), null, dqkv, a.ln1, p(`h${l}.qkv.w`), N, C, 3 * C);
    L.layernormBackward(dinput, g(`h${l}.ln1.w`), g(`h${l}.ln1.b`), dln1, a.input, p(`h${l}.ln1.w`), a.ln1Mean, a.ln1Rstd, N, C);
    dx = dinput;
  }
  L.encoderBackward(g('wte'), g('wpe'), dx, s.tokens, B, T, C);
}
