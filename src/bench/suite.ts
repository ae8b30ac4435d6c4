// The benchmark suites, as data: what is measured, at which shapes, and on which kinds of target.
// A suite's cases are fixed for its version; a change to any of them (a shape, a preset, how a
// figure is computed) is a new SUITE_VERSION, so that two reports of one version compare figure for
// figure and bench-report warns where they do not.

import type { WaveletForm } from '../model/wavelet_plan.js';

export const SUITE_VERSION = 1;
export const SUITE_NAMES = ['quick', 'standard'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

/**
 * Where a case runs. 'gpu': a hardware WebGPU adapter. 'cpu': wasm at any thread count, and a
 * software WebGPU adapter (SwiftShader computes on the CPU). 'reference': the plain TypeScript
 * backend, the oracle, timed only on small work (a large case would take minutes there).
 */
export type TargetClass = 'gpu' | 'cpu' | 'reference';

interface CaseBase {
  /** Unique in the suite, stable across versions where the case is unchanged: 'matmul/1024x768x768'. */
  id: string;
  runsOn: readonly TargetClass[];
}

/** The wavelet op's forward and backward at every form, beside a plain copy of the same bytes. */
export interface WaveletCase extends CaseBase {
  kind: 'wavelet';
  batch: number;
  time: number;
  channels: number;
  forms: readonly WaveletForm[];
}

/** One product rows x inner . inner x outer (plus a bias), as the model's linear layers run it. */
export interface MatmulCase extends CaseBase {
  kind: 'matmul';
  rows: number;
  inner: number;
  outer: number;
}

/** A training step (forward, backward, AdamW) of a preset WaveletGPT (Haar) on random tokens. */
export interface TrainCase extends CaseBase {
  kind: 'train';
  preset: 'tiny' | 'paper-text8';
  batch: number;
}

/** Decoded tokens (KV cache and wavelet state) for `batch` sequences, from halfway into the context on. */
export interface GenerateCase extends CaseBase {
  kind: 'generate';
  preset: 'tiny' | 'paper-text8';
  batch: number;
}

export type BenchCase = WaveletCase | MatmulCase | TrainCase | GenerateCase;

export interface Suite {
  name: SuiteName;
  version: number;
  /** How long each figure is sampled, after warm-up: at least `minRuns` runs and about `budgetMs`. */
  timing: { warmups: number; minRuns: number; maxRuns: number; budgetMs: number };
  cases: readonly BenchCase[];
}

const ALL: readonly TargetClass[] = ['gpu', 'cpu', 'reference'];
const FAST: readonly TargetClass[] = ['gpu', 'cpu'];
const FORMS: readonly WaveletForm[] = ['haar', 'ema', 'learnable'];

const matmul = (rows: number, inner: number, outer: number, runsOn: readonly TargetClass[]): MatmulCase => ({ kind: 'matmul', id: `matmul/${rows}x${inner}x${outer}`, rows, inner, outer, runsOn });
const wavelet = (batch: number, time: number, channels: number, runsOn: readonly TargetClass[]): WaveletCase => ({ kind: 'wavelet', id: `wavelet/${batch}x${time}x${channels}`, batch, time, channels, forms: FORMS, runsOn });
const train = (preset: TrainCase['preset'], batch: number, runsOn: readonly TargetClass[]): TrainCase => ({ kind: 'train', id: `train/${preset}/b${batch}`, preset, batch, runsOn });
const generate = (preset: GenerateCase['preset'], batch: number, runsOn: readonly TargetClass[]): GenerateCase => ({ kind: 'generate', id: `generate/${preset}/b${batch}`, preset, batch, runsOn });

const QUICK: readonly BenchCase[] = [
  wavelet(4, 512, 128, ALL),
  matmul(256, 256, 256, ALL),
  matmul(1024, 768, 768, FAST), // a GPT-2 projection at batch x context 1024
  train('tiny', 8, ALL),
  generate('tiny', 1, ALL),
  generate('tiny', 8, ALL),
];

const SUITES: Record<SuiteName, Suite> = {
  quick: { name: 'quick', version: SUITE_VERSION, timing: { warmups: 1, minRuns: 5, maxRuns: 40, budgetMs: 400 }, cases: QUICK },
  standard: {
    name: 'standard',
    version: SUITE_VERSION,
    timing: { warmups: 2, minRuns: 7, maxRuns: 100, budgetMs: 1500 },
    cases: [
      ...QUICK,
      wavelet(32, 512, 128, FAST), // the paper's text8 model
      wavelet(16, 4096, 768, ['gpu']), // long context at GPT-2's width
      matmul(4096, 768, 3072, FAST), // GPT-2's MLP at batch 4, context 1024
      matmul(4096, 4096, 4096, ['gpu']),
      train('paper-text8', 4, FAST),
      train('paper-text8', 32, ['gpu']),
      generate('paper-text8', 1, FAST),
      generate('paper-text8', 8, FAST),
    ],
  },
};

export function suiteOf(name: SuiteName): Suite {
  return SUITES[name];
}
