// The GPT (baseline or WaveletGPT) written once, as a network description (model/network.ts):
// every backend, the training engines, the decoders and the TensorFlow.js model run this list.
// Parameter names are those of model/parameters.ts (checkpoints keep them).

import { waveletGaps, type GPTConfig } from './config.js';
import { tapsName, waveletPlanOf } from './parameters.js';
import { networkBuilder, type Network } from './network.js';

export function gptNetwork(config: GPTConfig): Network {
  const { vocabSize: V, width: C, heads: NH, feedForward: F, headDense: D, layers: blocks } = config;
  const { add, done } = networkBuilder();
  const learnable = waveletPlanOf(config)?.form === 'learnable';
  let x = add({ kind: 'embedding', out: 'embedded', tokens: 'wte', positions: 'wpe' }, C); // (B, T, C)
  for (let l = 0; l < blocks; l++) {
    const h = `h${l}`;
    const ln1 = add({ kind: 'layernorm', in: x, out: `${h}.ln1`, weight: `${h}.ln1.w`, bias: `${h}.ln1.b` }, C);
    const qkv = add({ kind: 'linear', in: ln1, out: `${h}.qkv`, weight: `${h}.qkv.w`, bias: null, inFeatures: C, outFeatures: 3 * C }, 3 * C);
    const att = add({ kind: 'attention', in: qkv, out: `${h}.attention`, heads: NH }, C);
    const proj = add({ kind: 'linear', in: att, out: `${h}.proj`, weight: `${h}.proj.w`, bias: null, inFeatures: C, outFeatures: C }, C);
    const res2 = add({ kind: 'residual', stream: x, branch: proj, out: `${h}.res2` }, C);
    const ln2 = add({ kind: 'layernorm', in: res2, out: `${h}.ln2`, weight: `${h}.ln2.w`, bias: `${h}.ln2.b` }, C);
    const fc = add({ kind: 'linear', in: ln2, out: `${h}.fc`, weight: `${h}.fc.w`, bias: `${h}.fc.b`, inFeatures: C, outFeatures: F }, F);
    const gelu = add({ kind: 'gelu', in: fc, out: `${h}.gelu` }, F);
    const fcproj = add({ kind: 'linear', in: gelu, out: `${h}.fcproj`, weight: `${h}.fcproj.w`, bias: `${h}.fcproj.b`, inFeatures: F, outFeatures: C }, C);
    x = add({ kind: 'residual', stream: res2, branch: fcproj, out: `${h}.res3` }, C);
    // The wavelet structure sits between blocks: after each but the last.
    if (l < waveletGaps(config)) x = add({ kind: 'wavelet', in: x, out: `${h}.wavelet`, taps: learnable ? tapsName(config, l) : null }, C);
  }
  let head = add({ kind: 'layernorm', in: x, out: 'lnf', weight: 'lnf.w', bias: 'lnf.b' }, C);
  if (D > 0) {
    // The paper's dense layer between the last LayerNorm and the vocabulary.
    const dense = add({ kind: 'linear', in: head, out: 'dense', weight: 'dense.w', bias: 'dense.b', inFeatures: C, outFeatures: D }, D);
    head = add({ kind: 'gelu', in: dense, out: 'dense.gelu' }, D);
  }
  const logits = add({ kind: 'linear', in: head, out: 'logits', weight: 'out.w', bias: null, inFeatures: D > 0 ? D : C, outFeatures: V }, V);
  return done(logits);
}
