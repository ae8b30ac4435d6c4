// The wavelet structure of WaveletGPT resolved to one description per channel, shared by every
// backend: which channels are filtered, with which causal window, where each learnable kernel's
// taps live, and each EMA channel's rate. Backends read only this plan, so a new mapping or a
// different choice of half changes no kernel.

import { WaveletInputError } from '../errors.js';

/** The three ways the paper filters a channel over time. */
export type WaveletForm = 'haar' | 'learnable' | 'ema';
/**
 * How the window grows with the channel index over the filtered half:
 * - `linear-level`: the level rises linearly with the channel, window = 2^level (the paper);
 * - `linear-size`: the window itself rises linearly from 2 to maxWindow.
 */
export type WindowMapping = 'linear-level' | 'linear-size';
/** Which half of the channels is filtered; the other half passes through unchanged. */
export type FilteredHalf = 'upper' | 'lower';
/** Whether the layers of a model each learn their own kernels or share one set (used by the model). */
export type KernelSharing = 'per-layer' | 'shared';

export interface WaveletOptions {
  form: WaveletForm;
  /** The longest window, usually the context length. At least 2. */
  maxWindow: number;
  mapping?: WindowMapping;
  half?: FilteredHalf;
  kernelSharing?: KernelSharing;
}

export interface WaveletPlan {
  readonly form: WaveletForm;
  readonly mapping: WindowMapping;
  readonly half: FilteredHalf;
  readonly kernelSharing: KernelSharing;
  readonly maxWindow: number;
  /** E, the channel count the plan was made for. */
  readonly channels: number;
  /** Window f(c) of each channel; 0 for a channel that passes through unchanged. */
  readonly windows: Int32Array;
  /** Learnable form: channel c's taps are taps[tapOffsets[c] .. tapOffsets[c + 1]), tap k acts on x[t - k]. */
  readonly tapOffsets: Int32Array;
  /** Total number of learnable taps (0 for the other forms). */
  readonly tapCount: number;
  /** EMA form: s[t] = alpha x[t] + (1 - alpha) s[t - 1]; alpha = 2 / (f + 1), the usual EMA of span f. */
  readonly alphas: Float32Array;
}

const FORMS: readonly WaveletForm[] = ['haar', 'learnable', 'ema'];
const MAPPINGS: readonly WindowMapping[] = ['linear-level', 'linear-size'];
const HALVES: readonly FilteredHalf[] = ['upper', 'lower'];
const SHARINGS: readonly KernelSharing[] = ['per-layer', 'shared'];

function oneOf<T extends string>(field: string, value: T | undefined, allowed: readonly T[], fallback: T): T {
  const chosen = value ?? fallback;
  if (!allowed.includes(chosen)) {
    throw new WaveletInputError(`wavelet option '${field}': expected one of ${allowed.join(', ')}, found '${String(value)}'`);
  }
  return chosen;
}

/** Window of the j-th filtered channel of `filtered` (j = 0 is the finest, 2 taps). */
export function windowOf(j: number, filtered: number, maxWindow: number, mapping: WindowMapping): number {
  if (mapping === 'linear-level') {
    const levels = Math.floor(Math.log2(maxWindow)); // 2^levels <= maxWindow
    const level = 1 + Math.floor((j * levels) / filtered); // 1 .. levels
    return 2 ** level;
  }
  if (filtered === 1) return 2;
  return Math.round(2 + (j * (maxWindow - 2)) / (filtered - 1));
}

export function planWavelet(channels: number, options: WaveletOptions): WaveletPlan {
  const form = oneOf('form', options.form, FORMS, 'haar');
  const mapping = oneOf('mapping', options.mapping, MAPPINGS, 'linear-level');
  const half = oneOf('half', options.half, HALVES, 'upper');
  const kernelSharing = oneOf('kernelSharing', options.kernelSharing, SHARINGS, 'per-layer');
  const { maxWindow } = options;
  if (!Number.isInteger(channels) || channels < 2 || channels % 2 !== 0) {
    throw new WaveletInputError(`channels (E): expected an even integer >= 2 so that half the channels can be filtered, found ${channels}`);
  }
  if (!Number.isInteger(maxWindow) || maxWindow < 2) {
    throw new WaveletInputError(`wavelet option 'maxWindow': expected an integer >= 2 (the longest causal window, usually the context), found ${maxWindow}`);
  }
  const filtered = channels / 2;
  const first = half === 'upper' ? filtered : 0;
  const windows = new Int32Array(channels);
  for (let j = 0; j < filtered; j++) windows[first + j] = windowOf(j, filtered, maxWindow, mapping);

  return planFromWindows(form, windows, { mapping, half, kernelSharing, maxWindow });
}

/**
 * A plan from explicit per-channel windows (0 = pass through), for views such as the filter bank
 * where every channel is filtered. The descriptive fields default to those of planWavelet.
 */
export function planFromWindows(
  form: WaveletForm,
  windows: Int32Array,
  described: Partial<Pick<WaveletPlan, 'mapping' | 'half' | 'kernelSharing' | 'maxWindow'>> = {},
): WaveletPlan {
  const channels = windows.length;
  for (let c = 0; c < channels; c++) {
    if (!Number.isInteger(windows[c]) || windows[c] < 0) {
      throw new WaveletInputError(`window of channel ${c}: expected 0 (pass through) or a positive integer, found ${windows[c]}`);
    }
  }
  const tapOffsets = new Int32Array(channels + 1);
  for (let c = 0; c < channels; c++) tapOffsets[c + 1] = tapOffsets[c] + (form === 'learnable' ? windows[c] : 0);
  const alphas = new Float32Array(channels);
  for (let c = 0; c < channels; c++) alphas[c] = windows[c] > 0 ? 2 / (windows[c] + 1) : 1;
  return {
    form,
    mapping: described.mapping ?? 'linear-level',
    half: described.half ?? 'upper',
    kernelSharing: described.kernelSharing ?? 'per-layer',
    maxWindow: described.maxWindow ?? Math.max(2, ...windows),
    channels,
    windows,
    tapOffsets,
    tapCount: tapOffsets[channels],
    alphas,
  };
}

/** Learnable taps initialised to the Haar average 1 / f, so a fresh learnable layer equals the fixed one. */
export function haarInitialTaps(plan: WaveletPlan): Float32Array {
  const taps = new Float32Array(plan.tapCount);
  for (let c = 0; c < plan.channels; c++) {
    for (let i = plan.tapOffsets[c]; i < plan.tapOffsets[c + 1]; i++) taps[i] = 1 / plan.windows[c];
  }
  return taps;
}

/** The shape of an activation tensor: B sequences of T steps of E channels, channel fastest. */
export interface ActivationShape {
  batch: number;
  time: number;
  channels: number;
}

/** Checks that a flat (B, T, E) buffer and its taps fit the plan; names the field that does not. */
export function checkActivation(plan: WaveletPlan, shape: ActivationShape, length: number, what = 'x', taps?: ArrayLike<number>): void {
  for (const [field, value] of Object.entries(shape)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new WaveletInputError(`${what}: shape field '${field}' must be a positive integer, found ${value}`);
    }
  }
  if (shape.channels !== plan.channels) {
    throw new WaveletInputError(`${what}: expected ${plan.channels} channels (the plan's E), found ${shape.channels}`);
  }
  const expected = shape.batch * shape.time * shape.channels;
  if (length !== expected) {
    throw new WaveletInputError(`${what}: expected ${expected} values for (B ${shape.batch}, T ${shape.time}, E ${shape.channels}), found ${length}`);
  }
  if (plan.form === 'learnable') {
    if (!taps) throw new WaveletInputError(`the learnable form needs its taps (${plan.tapCount} values), none were given`);
    if (taps.length !== plan.tapCount) {
      throw new WaveletInputError(`taps: expected ${plan.tapCount} values for this plan, found ${taps.length}`);
    }
  }
}
