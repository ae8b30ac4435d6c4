// Learning-rate schedules: linear warmup, then cosine decay to a floor, or the paper's plateau
// decay (3e-4 held, then lowered step by step to 1e-5 when validation stops improving).

import { WaveletInputError } from '../errors.js';

export type ScheduleKind = 'cosine' | 'plateau' | 'constant';

export interface ScheduleSettings {
  kind: ScheduleKind;
  peak: number;
  floor: number;
  warmupSteps: number;
  totalSteps: number;
  /** Plateau: evaluations without improvement before the rate is divided by `factor`. */
  patience: number;
  factor: number;
}

export function checkSchedule(s: ScheduleSettings): ScheduleSettings {
  if (!['cosine', 'plateau', 'constant'].includes(s.kind)) throw new WaveletInputError(`--schedule: expected cosine, plateau or constant, found '${s.kind}'`);
  if (!(s.peak > 0) || !(s.floor >= 0) || s.floor > s.peak) throw new WaveletInputError(`learning rate: expected 0 <= floor (${s.floor}) <= peak (${s.peak}), peak > 0`);
  return s;
}

/** The state of a plateau schedule, saved in checkpoints. */
export interface PlateauState {
  rate: number;
  best: number;
  waited: number;
}

export function initialPlateau(s: ScheduleSettings): PlateauState {
  return { rate: s.peak, best: Infinity, waited: 0 };
}

/** Plateau: after an evaluation, lower the rate if validation has not improved for `patience` evaluations. */
export function plateauAfterEvaluation(s: ScheduleSettings, state: PlateauState, validationLoss: number): PlateauState {
  if (validationLoss < state.best) return { ...state, best: validationLoss, waited: 0 };
  if (state.waited + 1 < s.patience) return { ...state, waited: state.waited + 1 };
  return { rate: Math.max(s.floor, state.rate / s.factor), best: state.best, waited: 0 };
}

/** The rate at `step` (0-based). */
export function learningRate(s: ScheduleSettings, step: number, plateau?: PlateauState): number {
  if (step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps;
  if (s.kind === 'constant') return s.peak;
  if (s.kind === 'plateau') return plateau?.rate ?? s.peak;
  const progress = Math.min(1, (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps));
  return s.floor + 0.5 * (s.peak - s.floor) * (1 + Math.cos(Math.PI * progress));
}
