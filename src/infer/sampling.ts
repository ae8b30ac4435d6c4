// Choosing the next token from logits: repetition penalty, temperature (0: the most likely),
// top-k, top-p (nucleus), then a draw from a seeded generator, so a seed gives the same text on
// every machine and backend. The kept tokens are found by selection, linear in the vocabulary.

import { WaveletInputError } from '../errors.js';
import { Heap } from '../heap.js';
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

/**
 * The tokens a draw chooses among and their unnormalised weights, in token order: the top k by
 * score (ties to the lower id), then the fewest of those, most likely first, whose weights reach p
 * of their total. Found by selection, not by sorting the vocabulary: a heap of k for top-k, and for
 * top-p a heap grown fourfold until it holds the mass (GPT-2's 50,257 logits cost O(V) a token).
 */
export function candidates(logits: ArrayLike<number>, history: ArrayLike<number> | ReadonlySet<number>, options: Required<SamplingOptions>): { tokens: number[]; weights: number[] } {
  const V = logits.length;
  const scores = penalised(logits, history, options.repetitionPenalty);
  let best = 0;
  for (let i = 1; i < V; i++) if (scores[i] > scores[best]) best = i;
  if (options.temperature === 0) return { tokens: [best], weights: [1] };
  const max = scores[best];
  const weight = (token: number) => Math.exp((scores[token] - max) / options.temperature);
  const k = options.topK > 0 ? Math.min(options.topK, V) : V;
  if (options.topP >= 1 && k === V) {
    const tokens = Array.from({ length: V }, (_, i) => i);
    return { tokens, weights: tokens.map(weight) };
  }
  let total = 0;
  if (options.topP < 1) {
    if (k === V) for (let i = 0; i < V; i++) total += weight(i);
    else total = topScores(scores, k).reduce((sum, token) => sum + weight(token), 0);
  }
  for (let size = options.topP < 1 ? Math.min(64, k) : k; ; size = Math.min(4 * size, k)) {
    const order = topScores(scores, size);
    let kept = order.length;
    if (options.topP < 1) {
      let mass = 0;
      for (kept = 0; kept < order.length && mass < options.topP * total; kept++) mass += weight(order[kept]);
      if (mass < options.topP * total && size < k) continue; // the mass lies further down: a larger heap
    }
    const tokens = order.slice(0, kept).sort((a, b) => a - b);
    return { tokens, weights: tokens.map(weight) };
  }
}

/** The logits as float64, those of tokens in `history` penalised (a Set: the caller keeps it as tokens come, and the cost stays O(V)). */
function penalised(logits: ArrayLike<number>, history: ArrayLike<number> | ReadonlySet<number>, penalty: number): Float64Array {
  const scores = Float64Array.from(logits);
  if (penalty !== 1) {
    for (const token of history instanceof Set ? history : new Set(Array.from(history as ArrayLike<number>))) scores[token] = scores[token] > 0 ? scores[token] / penalty : scores[token] * penalty;
  }
  return scores;
}

/** The `size` highest scores' tokens, highest first (ties: lower token first), by a min-heap of `size`. */
function topScores(scores: Float64Array, size: number): number[] {
  // worse(a, b): a is the worse candidate (lower score, or equal score and higher id); the worst kept comes out first
  const worse = (a: number, b: number) => scores[a] < scores[b] || (scores[a] === scores[b] && a > b);
  const heap = new Heap<number>(worse);
  for (let token = 0; token < scores.length; token++) {
    if (heap.size < size) heap.push(token);
    else if (worse(heap.peek()!, token)) heap.replaceTop(token);
  }
  return heap.toArray().sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}

/** The next token from `logits` (V) given the tokens so far (for the repetition penalty): a draw among candidates(), in token order. */
export function sampleToken(logits: ArrayLike<number>, history: ArrayLike<number> | ReadonlySet<number>, options: Required<SamplingOptions>, random: SeededRandom): number {
  if (options.temperature > 0 && options.topP >= 1 && (options.topK === 0 || options.topK >= logits.length)) {
    // Nothing cut: the draw walks the logits themselves (the same draw as over candidates(), without its arrays).
    const scores = penalised(logits, history, options.repetitionPenalty);
    let max = -Infinity;
    for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
    let total = 0;
    for (let i = 0; i < scores.length; i++) total += (scores[i] = Math.exp((scores[i] - max) / options.temperature));
    let r = random.next() * total;
    for (let i = 0; i < scores.length; i++) if ((r -= scores[i]) < 0) return i;
    return scores.length - 1;
  }
  const { tokens, weights } = candidates(logits, history, options);
  if (tokens.length === 1) return tokens[0];
  let total = 0;
  for (const w of weights) total += w;
  let r = random.next() * total;
  for (let i = 0; i < tokens.length; i++) if ((r -= weights[i]) < 0) return tokens[i];
  return tokens[tokens.length - 1];
}
