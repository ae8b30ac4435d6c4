// The layers of a GPT in plain TypeScript, each a forward and a backward function over flat
// Float32Arrays, in the manner of llm.c's train_gpt2.c. The oracle for the fast engines: written
// for clarity, sums in float64. Backward functions accumulate (+=) into gradients.
// Shapes in comments: B batch, T time, C channels, OC output channels, NH heads, V vocabulary.

import { LAYERNORM_EPSILON } from '../../model/network.js';

/** out (B, T, C) = wte[token] + wpe[t]; wpe null for a network without positions (WaveletLM). */
export function encoderForward(out: Float32Array, tokens: Int32Array, wte: Float32Array, wpe: Float32Array | null, B: number, T: number, C: number): void {
  for (let bt = 0; bt < B * T; bt++) {
    const t = bt % T;
    const token = tokens[bt];
    for (let c = 0; c < C; c++) out[bt * C + c] = wte[token * C + c] + (wpe ? wpe[t * C + c] : 0);
  }
}

export function encoderBackward(dwte: Float32Array, dwpe: Float32Array | null, dout: Float32Array, tokens: Int32Array, B: number, T: number, C: number): void {
  for (let bt = 0; bt < B * T; bt++) {
    const t = bt % T;
    const token = tokens[bt];
    for (let c = 0; c < C; c++) {
      dwte[token * C + c] += dout[bt * C + c];
      if (dwpe) dwpe[t * C + c] += dout[bt * C + c];
    }
  }
}

export { LAYERNORM_EPSILON };

/** out (N, C) = (inp - mean) / sqrt(var + eps) * w + b; keeps mean and rstd (N) for backward. */
export function layernormForward(out: Float32Array, mean: Float32Array, rstd: Float32Array, inp: Float32Array, w: Float32Array, b: Float32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const x = inp.subarray(n * C, n * C + C);
    let m = 0;
    for (let c = 0; c < C; c++) m += x[c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[c] - m) ** 2;
    v /= C;
    const s = 1 / Math.sqrt(v + LAYERNORM_EPSILON);
    for (let c = 0; c < C; c++) out[n * C + c] = (x[c] - m) * s * w[c] + b[c];
    mean[n] = m;
    rstd[n] = s;
  }
}

export function layernormBackward(
  dinp: Float32Array, dw: Float32Array, db: Float32Array,
  dout: Float32Array, inp: Float32Array, w: Float32Array, mean: Float32Array, rstd: Float32Array, N: number, C: number,
): void {
  for (let n = 0; n < N; n++) {
    const m = mean[n];
    const s = rstd[n];
    // dinp = s * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)), dnorm = dout * w
    let dnormMean = 0;
    let dnormNormMean = 0;
    for (let c = 0; c < C; c++) {
      const norm = (inp[n * C + c] - m) * s;
      const dnorm = dout[n * C + c] * w[c];
      dnormMean += dnorm;
      dnormNormMean += dnorm * norm;
    }
    dnormMean /= C;
    dnormNormMean /= C;
    for (let c = 0; c < C; c++) {
      const norm = (inp[n * C + c] - m) * s;
      const dnorm = dout[n * C + c] * w[c];
      db[c] += dout[n * C + c];
      dw[c] += norm * dout[n * C + c];
      dinp[n * C + c] += s * (dnorm - dnormMean - norm * dnormNormMean);
    }
  }
}

/** out (N, OC) = inp (N, C) @ w^T (w is (OC, C)) + bias (OC), bias optional. */
export function matmulForward(out: Float32Array, inp: Float32Array, w: Float32Array, bias: Float32Array | null, N: number, C: number, OC: number): void {
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OC; o++) {
      let sum = bias ? bias[o] : 0;
      for (let c = 0; c < C; c++) sum += inp[n * C + c] * w[o * C + c];
      out[n * OC + o] = sum;
    }
  }
}

export function matmulBackward(
  dinp: Float32Array, dw: Float32Array, dbias: Float32Array | null,
  dout: Float32Array, inp: Float32Array, w: Float32Array, N: number, C: number, OC: number,
): void {
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OC; o++) {
      const d = dout[n * OC + o];
      if (dbias) dbias[o] += d;
      for (let c = 0; c < C; c++) {
        dinp[n * C + c] += w[o * C + c] * d;
        dw[o * C + c] += inp[n * C + c] * d;
      }
    }
  }
}

/**
 * Causal multi-head attention. qkv (B, T, 3C) holds q, k, v side by side; out (B, T, C);
 * att (B, NH, T, T) keeps the softmax for backward.
 */
export function attentionForward(out: Float32Array, att: Float32Array, qkv: Float32Array, B: number, T: number, C: number, NH: number): void {
  const hs = C / NH;
  const scale = 1 / Math.sqrt(hs);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const q = (b * T + t) * 3 * C + h * hs;
        const row = ((b * NH + h) * T + t) * T;
        let max = -Infinity;
        for (let u = 0; u <= t; u++) {
          const k = (b * T + u) * 3 * C + C + h * hs;
          let dot = 0;
          for (let i = 0; i < hs; i++) dot += qkv[q + i] * qkv[k + i];
          att[row + u] = dot * scale;
          max = Math.max(max, dot * scale);
        }
        let sum = 0;
        for (let u = 0; u <= t; u++) sum += att[row + u] = Math.exp(att[row + u] - max);
        for (let u = 0; u < T; u++) att[row + u] = u <= t ? att[row + u] / sum : 0;
        for (let i = 0; i < hs; i++) {
          let acc = 0;
          for (let u = 0; u <= t; u++) acc += att[row + u] * qkv[(b * T + u) * 3 * C + 2 * C + h * hs + i];
          out[(b * T + t) * C + h * hs + i] = acc;
        }
      }
    }
  }
}

export function attentionBackward(dqkv: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array, B: number, T: number, C: number, NH: number): void {
  const hs = C / NH;
  const scale = 1 / Math.sqrt(hs);
  const datt = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const row = ((b * NH + h) * T + t) * T;
        const dy = (b * T + t) * C + h * hs;
        // through out = att @ v
        for (let u = 0; u <= t; u++) {
          const v = (b * T + u) * 3 * C + 2 * C + h * hs;
          let d = 0;
          for (let i = 0; i < hs; i++) {
            d += dout[dy + i] * qkv[v + i];
            dqkv[v + i] += att[row + u] * dout[dy + i];
          }
          datt[u] = d;
        }
        // through the softmax: dpre = att * (datt - sum(att * datt))
        let dot = 0;
        for (let u = 0; u <= t; u++) dot += att[row + u] * datt[u];
        const q = (b * T + t) * 3 * C + h * hs;
        for (let u = 0; u <= t; u++) {
          const dpre = att[row + u] * (datt[u] - dot) * scale;
          const k = (b * T + u) * 3 * C + C + h * hs;
          for (let i = 0; i < hs; i++) {
            dqkv[q + i] += qkv[k + i] * dpre;
            dqkv[k + i] += qkv[q + i] * dpre;
          }
        }
      }
    }
  }
}

const GELU_SCALE = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (GPT-2's). */
export function geluForward(out: Float32Array, inp: Float32Array): void {
  for (let i = 0; i < inp.length; i++) {
    const x = inp[i];
    out[i] = 0.5 * x * (1 + Math.tanh(GELU_SCALE * (x + 0.044715 * x * x * x)));
  }
}

export function geluBackward(dinp: Float32Array, inp: Float32Array, dout: Float32Array): void {
  for (let i = 0; i < inp.length; i++) {
    const x = inp[i];
    const u = GELU_SCALE * (x + 0.044715 * x * x * x);
    const th = Math.tanh(u);
    const du = GELU_SCALE * (1 + 3 * 0.044715 * x * x);
    dinp[i] += dout[i] * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * du);
  }
}

export function residualForward(out: Float32Array, a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
}

/**
 * Softmax cross-entropy, mean over the N = B * T positions. logits (N, V) -> probs (N, V);
 * returns the mean loss in nats over the positions whose target is not IGNORED_TARGET.
 */
export function crossEntropyForward(probs: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): number {
  let total = 0;
  for (let n = 0; n < N; n++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[n * V + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[n * V + v] - max);
    for (let v = 0; v < V; v++) probs[n * V + v] = Math.exp(logits[n * V + v] - max) / sum;
    if (targets[n] !== IGNORED_TARGET) total += -(logits[n * V + targets[n]] - max - Math.log(sum));
  }
  return total / countedTargets(targets, N);
}

/** A target that is not predicted (its position is left out of the loss): classification trains on the last position alone. */
export const IGNORED_TARGET = -1;

/** Positions whose target counts (at least 1): the loss is their mean. */
export function countedTargets(targets: Int32Array, N: number): number {
  let count = 0;
  for (let n = 0; n < N; n++) if (targets[n] !== IGNORED_TARGET) count++;
  return Math.max(1, count);
}

/** dlogits += (probs - onehot(target)) / counted, nothing at ignored positions. */
export function crossEntropyBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, N: number, V: number): void {
  const counted = countedTargets(targets, N);
  for (let n = 0; n < N; n++) {
    if (targets[n] === IGNORED_TARGET) continue;
    for (let v = 0; v < V; v++) dlogits[n * V + v] += (probs[n * V + v] - (v === targets[n] ? 1 : 0)) / counted;
  }
}

/**
 * One position of causal attention for B sequences at position t: the new keys and values of
 * qkv (B, 3C) are stored in the caches (B, T, C) at t, then each query attends over 0..t.
 * out (B, C). The reference of the decoders' attention.
 */
export function decodeAttention(out: Float32Array, qkv: Float32Array, keys: Float32Array, values: Float32Array, B: number, T: number, t: number, C: number, NH: number): void {
  const hs = C / NH;
  const scale = 1 / Math.sqrt(hs);
  const scores = new Float64Array(t + 1);
  for (let b = 0; b < B; b++) {
    keys.set(qkv.subarray(b * 3 * C + C, b * 3 * C + 2 * C), (b * T + t) * C);
    values.set(qkv.subarray(b * 3 * C + 2 * C, b * 3 * C + 3 * C), (b * T + t) * C);
    for (let h = 0; h < NH; h++) {
      const q = b * 3 * C + h * hs;
      let max = -Infinity;
      for (let u = 0; u <= t; u++) {
        const k = (b * T + u) * C + h * hs;
        let dot = 0;
        for (let i = 0; i < hs; i++) dot += qkv[q + i] * keys[k + i];
        scores[u] = dot * scale;
        if (scores[u] > max) max = scores[u];
      }
      let sum = 0;
      for (let u = 0; u <= t; u++) sum += scores[u] = Math.exp(scores[u] - max);
      for (let i = 0; i < hs; i++) {
        let acc = 0;
        for (let u = 0; u <= t; u++) acc += scores[u] * values[(b * T + u) * C + h * hs + i];
        out[b * C + h * hs + i] = acc / sum;
      }
    }
  }
}
