// The explicit filter-bank view: causal Haar approximations of a signal at levels 1..L, each as
// long as the signal. Level l at time t is the mean of the last 2^l samples (zeros before t = 0),
// the undecimated, causal form of the Haar scaling coefficients; details are the differences of
// consecutive levels. WaveletGPT's filtered channels each see one of these levels.

import { WaveletInputError } from '../../errors.js';
import { planFromWindows, type ActivationShape, type WaveletPlan } from '../../model/wavelet_plan.js';
import { waveletForwardRef } from './ref.js';

/** Any forward implementation of the op (ref, wasm) for the filter bank to run on. */
export type ForwardFn = (plan: WaveletPlan, shape: ActivationShape, x: Float32Array) => Float32Array;

export interface HaarFilterBank {
  /** approximations[l - 1] is level l: (T, C), the mean over windows of 2^l steps. */
  approximations: Float32Array[];
  /** details[l - 1] = level l-1 minus level l (level 0 is the signal): what level l smooths away. */
  details: Float32Array[];
}

/** The plan of one level: every channel averaged over its last 2^level steps. */
export function haarLevelPlan(channels: number, level: number): WaveletPlan {
  return planFromWindows('haar', new Int32Array(channels).fill(2 ** level));
}

/**
 * Causal Haar approximations and details of a (T, C) signal, channel fastest, at levels 1..levels.
 * `forward` picks the implementation (the reference by default; pass a wasm op's forward for speed).
 */
export function haarFilterBank(signal: Float32Array, time: number, channels: number, levels: number, forward: ForwardFn = waveletForwardRef): HaarFilterBank {
  if (!Number.isInteger(levels) || levels < 1 || levels > 30) {
    throw new WaveletInputError(`filter bank: levels must be an integer in 1..30, found ${levels}`);
  }
  if (!Number.isInteger(time) || time < 1 || !Number.isInteger(channels) || channels < 1 || signal.length !== time * channels) {
    throw new WaveletInputError(`filter bank: expected ${time} x ${channels} = ${time * channels} values (T x C), found ${signal.length}`);
  }
  const approximations: Float32Array[] = [];
  const details: Float32Array[] = [];
  let previous = signal;
  for (let level = 1; level <= levels; level++) {
    const plan = haarLevelPlan(channels, level);
    const approximation = forward(plan, { batch: 1, time, channels }, signal);
    approximations.push(approximation);
    details.push(previous.map((value, i) => value - approximation[i]));
    previous = approximation;
  }
  return { approximations, details };
}
