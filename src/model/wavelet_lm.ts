// WaveletLM written once: its parameters (names, shapes, how each starts) and its network as a
// list of layers (model/network.ts) that every backend runs. The facts follow the public PyTorch
// code (ramongougis/WaveletLM, model.py) with its default switches; what is carried and what is
// not is listed in the README. Lifting networks are Linear -> GELU -> Linear with biases and start
// as identities (update's second at 0.5), their "haar" start; mixers start at identity plus
// N(0, 1e-3), gates N(0, 0.02), the low-rank factors N(0, 0.01), the scale routing at identity,
// the bypass gains at 0, the output projection at PyTorch's default times 1e-3, the MLP's second
// weight at PyTorch's default times 0.02. Their dropouts are training regularisers left out.

import { nextPowerOfTwo, type WaveletLMConfig } from './config.js';
import { networkBuilder, type Network } from './network.js';
import type { AddTensor } from './parameters.js';

/** Cp, the padded width the wavelet part works in. */
export function paddedWidth(config: WaveletLMConfig): number {
  return nextPowerOfTwo(config.width);
}

/** The prefix of the lifting networks used by block l. */
function liftingPrefix(config: WaveletLMConfig, l: number): string {
  return config.liftingSharing === 'shared' ? 'lift' : `b${l}.lift`;
}

export function waveletLmTensors(config: WaveletLMConfig, add: AddTensor): void {
  const { vocabSize: V, layers: blocks, width: C, levels: L, mlpExpansion, lowRank: r } = config;
  const Cp = paddedWidth(config);
  const S = L + 1;
  const M = mlpExpansion * C;
  const pytorchDefault = (fanIn: number) => ({ uniform: 1 / Math.sqrt(fanIn) });
  add('wte', [V, C], { normal: 1 }); // nn.Embedding's default
  const liftingSets = config.liftingSharing === 'shared' ? 1 : blocks;
  for (let set = 0; set < liftingSets; set++) {
    const prefix = liftingPrefix(config, set);
    for (let i = 0; i < L; i++) {
      for (const [net, second] of [['predict', 1], ['update', 0.5]] as const) {
        add(`${prefix}${i}.${net}1.w`, [Cp, Cp], { identity: 1 });
        add(`${prefix}${i}.${net}1.b`, [Cp], 'zeros');
        add(`${prefix}${i}.${net}2.w`, [Cp, Cp], { identity: second });
        add(`${prefix}${i}.${net}2.b`, [Cp], 'zeros');
      }
    }
  }
  for (let l = 0; l < blocks; l++) {
    const b = `b${l}`;
    add(`${b}.ln1.w`, [C], 'ones');
    add(`${b}.ln1.b`, [C], 'zeros');
    for (let s = 0; s < S; s++) add(`${b}.bypass${s}`, [C], 'zeros');
    add(`${b}.route`, [S, S], { identity: 1 });
    for (let s = 0; s < S; s++) {
      add(`${b}.mix${s}.w`, [Cp, Cp], { identity: 1, noise: 1e-3 });
      add(`${b}.gate${s}.w`, [Cp, Cp], { normal: 0.02 });
      if (r > 0) {
        add(`${b}.lowrank${s}.v`, [r, Cp], { normal: 0.01 });
        add(`${b}.lowrank${s}.u`, [Cp, r], { normal: 0.01 });
      }
      add(`${b}.scale${s}`, [1], 'ones');
    }
    add(`${b}.proj.w`, [C, Cp], { uniform: 1e-3 / Math.sqrt(Cp) });
    add(`${b}.proj.b`, [C], 'zeros');
    add(`${b}.alpha.mixing`, [1], 'ones');
    add(`${b}.ln2.w`, [C], 'ones');
    add(`${b}.ln2.b`, [C], 'zeros');
    add(`${b}.fc.w`, [M, C], pytorchDefault(C));
    add(`${b}.fc.b`, [M], pytorchDefault(C));
    add(`${b}.fcproj.w`, [C, M], { uniform: 0.02 / Math.sqrt(M) });
    add(`${b}.fcproj.b`, [C], 'zeros');
    add(`${b}.alpha.stream`, [1], 'ones');
    add(`${b}.alpha.mlp`, [1], 'ones');
  }
  add('lnf.w', [C], 'ones');
  add('lnf.b', [C], 'zeros');
  add('out.w', [V, C], pytorchDefault(C));
}

export function waveletLmNetwork(config: WaveletLMConfig): Network {
  const { layers: blocks, width: C, levels: L, mlpExpansion, lowRank: r, vocabSize: V } = config;
  const Cp = paddedWidth(config);
  const S = L + 1;
  const M = mlpExpansion * C;
  const { add, done } = networkBuilder();
  const linear = (input: string, out: string, weight: string, bias: string | null, inFeatures: number, outFeatures: number) =>
    add({ kind: 'linear', in: input, out, weight: `${weight}.w`, bias: bias && `${bias}.b`, inFeatures, outFeatures }, outFeatures);
  // A lifting network (predict or update): Linear -> GELU -> Linear, Cp wide.
  const liftingNet = (input: string, out: string, net: string) => {
    const first = linear(input, `${out}.1`, `${net}1`, `${net}1`, Cp, Cp);
    const gelu = add({ kind: 'gelu', in: first, out: `${out}.gelu` }, Cp);
    return linear(gelu, out, `${net}2`, `${net}2`, Cp, Cp);
  };

  let x = add({ kind: 'embedding', out: 'embedded', tokens: 'wte', positions: null }, C);
  for (let l = 0; l < blocks; l++) {
    const b = `b${l}`;
    const lift = liftingPrefix(config, l);
    const history = add({ kind: 'running_mean', in: x, out: `${b}.history` }, C);
    const normed = add({ kind: 'layernorm', in: x, out: `${b}.ln1`, weight: `${b}.ln1.w`, bias: `${b}.ln1.b` }, C);
    const padded = Cp === C ? normed : add({ kind: 'pad', in: normed, out: `${b}.padded`, from: C, to: Cp }, Cp);

    // Decomposition: level i compares the signal with itself 2^i steps back.
    let approx = padded;
    const details: string[] = [];
    for (let i = 0; i < L; i++) {
      const at = `${b}.level${i}`;
      const predicted = liftingNet(approx, `${at}.predicted`, `${lift}${i}.predict`);
      const detail = add({ kind: 'lifting_predict', in: approx, predicted, out: `${at}.detail`, delay: 2 ** i }, Cp);
      const updated = liftingNet(detail, `${at}.updated`, `${lift}${i}.update`);
      approx = add({ kind: 'sum', a: approx, b: updated, out: `${at}.approx`, scaleA: Math.SQRT1_2, scaleB: Math.SQRT1_2 }, Cp);
      details.push(detail);
    }
    // Scales coarse first: the last approximation, then the details from the coarsest level down.
    const coefficients = [approx, ...details.slice().reverse()];
    const spectra = coefficients.map((coefficient, s) => {
      const gained = add({ kind: 'channel_scale', in: history, out: `${b}.scale${s}.history`, gain: `${b}.bypass${s}` }, C);
      const bypass = Cp === C ? gained : add({ kind: 'pad', in: gained, out: `${b}.scale${s}.history.padded`, from: C, to: Cp }, Cp);
      const biased = add({ kind: 'sum', a: coefficient, b: bypass, out: `${b}.scale${s}.biased`, scaleA: 1, scaleB: 1 }, Cp);
      return add({ kind: 'hadamard', in: biased, out: `${b}.scale${s}.spectrum` }, Cp);
    });
    const mixed = spectra.map((spectrum, s) => {
      const at = `${b}.scale${s}`;
      const routed = add({ kind: 'scale_route', ins: spectra, out: `${at}.routed`, matrix: `${b}.route`, row: s }, Cp);
      const signal = linear(spectrum, `${at}.mixed`, `${b}.mix${s}`, null, Cp, Cp);
      const gate = linear(routed, `${at}.gate`, `${b}.gate${s}`, null, Cp, Cp);
      let out = add({ kind: 'silu_gate', in: signal, gate, out: `${at}.gated` }, Cp);
      if (r > 0) {
        const down = add({ kind: 'linear', in: spectrum, out: `${at}.lowrank.down`, weight: `${b}.lowrank${s}.v`, bias: null, inFeatures: Cp, outFeatures: r }, r);
        const up = add({ kind: 'linear', in: down, out: `${at}.lowrank.up`, weight: `${b}.lowrank${s}.u`, bias: null, inFeatures: r, outFeatures: Cp }, Cp);
        out = add({ kind: 'sum', a: out, b: up, out: `${at}.out`, scaleA: 1, scaleB: 1 }, Cp);
      }
      const back = add({ kind: 'hadamard', in: out, out: `${at}.back` }, Cp);
      return add({ kind: 'scale', in: back, out: `${at}.weighted`, factor: `${b}.scale${s}` }, Cp);
    });
    // Reconstruction through the same update networks: even = approx * sqrt 2 - U(detail).
    let signal = mixed[0];
    for (let i = L - 1; i >= 0; i--) {
      const at = `${b}.rebuild${i}`;
      const updated = liftingNet(mixed[L - i], `${at}.updated`, `${lift}${i}.update`);
      signal = add({ kind: 'sum', a: signal, b: updated, out: `${at}.signal`, scaleA: Math.SQRT2, scaleB: -1 }, Cp);
    }
    const projected = linear(signal, `${b}.proj`, `${b}.proj`, `${b}.proj`, Cp, C);
    const mixedStream = add({ kind: 'sum', a: x, b: projected, out: `${b}.mixing`, scaleA: { parameter: `${b}.alpha.mixing` }, scaleB: 1 }, C);
    const normed2 = add({ kind: 'layernorm', in: mixedStream, out: `${b}.ln2`, weight: `${b}.ln2.w`, bias: `${b}.ln2.b` }, C);
    const hidden = linear(normed2, `${b}.fc`, `${b}.fc`, `${b}.fc`, C, M);
    const activated = add({ kind: 'gelu', in: hidden, out: `${b}.fc.gelu` }, M);
    const mlp = linear(activated, `${b}.fcproj`, `${b}.fcproj`, `${b}.fcproj`, M, C);
    x = add({ kind: 'sum', a: mixedStream, b: mlp, out: `${b}.out`, scaleA: { parameter: `${b}.alpha.stream` }, scaleB: { parameter: `${b}.alpha.mlp` } }, C);
  }
  const final = add({ kind: 'layernorm', in: x, out: 'lnf', weight: 'lnf.w', bias: 'lnf.b' }, C);
  const logits = add({ kind: 'linear', in: final, out: 'logits', weight: 'out.w', bias: null, inFeatures: C, outFeatures: V }, V);
  return done(logits);
}
