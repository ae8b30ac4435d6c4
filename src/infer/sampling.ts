// Choosing the next token from logits: repetition penalty, temperature (0: the most likely),
// top-k, top-p (nucleus), then a draw from a seeded generator, so a seed gives the same text on
// every machine and backend.

import { WaveletInputError } from '../errors.js';
import type { SeededRandom } from '../model/random.js';

export interface SamplingOptions {
  /** Divides the logits; 0 takes the most likely token. Default 0.8. */
  temperature?: number;
  /** Keep the k most likely tokens (0: all). */
  topK?: number;
  /** Keep the fewest most likely tokens whose probabilities sum to p (1: all). */
  topP?: number;
  /** Logits of tokens already in the sequence are divided by this (multiplied when negative); 1: none (CTRL's penalty). */
  repetitionPenalty?: number;
}

export function checkSampling(o: SamplingOptions): Required<SamplingOptions> {
  const s = { temperature: o.temperature ?? 0.8, topK: o.topK ?? 0, topP: o.topP ?? 1, repetitionPenalty: o.repetitionPenalty ?? 1 };
  if (!(s.temperature >= 0)) throw new WaveletInputError(`temperature: expected a number >= 0, found ${s.temperature}`);
  if (!Number.isInteger(s.topK) || s.topK < 0) throw new WaveletInputError(`topK: expected an integer >= 0, found ${s.topK}`);
  if (!(s.topP > 0 && s.topP <= 1)) throw new WaveletInputError(`topP: expected a number in (0, 1], found ${s.topP}`);
  if (!(s.repetitionPenalty > 0)) throw new WaveletInputError(`repetitionPenalty: expected a number > 0, found ${s.repetitionPenalty}`);
  return s;
}

/** The next token from `logits` (V) given the tokens so far (for the repetition penalty). */
export function sampleToken(logits: ArrayLike<number>, history: ArrayLike<number>, options: Required<SamplingOptions>, random: SeededRandom): number {
  const scores = Float64Array.from(logits);
  if (options.repetitionPenalty !== 1) {
    for (const token of new Set(Array.from(history))) scores[token] = scores[token] > 0 ? scores[token] / options.repetitionPenalty : scores[token] * options.repetitionPenalty;
  }
  let order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
  if (options.temperature === 0) return order[0];
  if (options.topK > 0) order = order.slice(0, options.topK);
  const max = scores[order[0]];
  let weights = order.map((token) => Math.exp((scores[token] - max) / options.temperature));
  if (options.topP < 1) {
    const total = weights.reduce((a, b) => a + b, 0);
    let kept = 0;
    for (let mass = 0; kept < weights.length && mass < options.topP * total; kept++) mass += weights[kept];
    [order, weights] = [order.slice(0, kept), weights.slice(0, kept)];
  }
  let r = random.next() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < order.length; i++) if ((r -= weights[i]) < 0) return order[i];
  return order[order.length - 1];
}
