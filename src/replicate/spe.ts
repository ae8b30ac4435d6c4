// The paper's measures of sample efficiency, from validation curves: the same-performance step
// (SPS: the first evaluation at which a variant reaches the baseline's final validation loss)
// and the speedup 1 - SPS / N, N the steps of the run. Each seed's variant is held to the
// baseline of the same seed (same initial weights, same data order).

/** Validation losses (nats) at training steps (the count of steps done when evaluated). */
export interface Curve {
  steps: number[];
  losses: number[];
}

/** The first step at which `curve` is at or below `target`, or null if it never is. */
export function samePerformanceStep(curve: Curve, target: number): number | null {
  for (let i = 0; i < curve.steps.length; i++) if (curve.losses[i] <= target) return curve.steps[i];
  return null;
}

export function finalLoss(curve: Curve): number {
  if (curve.losses.length === 0) throw new Error('a curve with no evaluations has no final loss');
  return curve.losses[curve.losses.length - 1];
}

/** Mean and sample standard deviation (0 for one value); null for none. */
export function meanAndSpread(values: number[]): { mean: number; spread: number } | null {
  if (values.length === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const spread = values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, spread };
}

export interface RunResult {
  variant: string;
  seed: number;
  curve: Curve;
  /** Milliseconds a training step (median over the run). */
  msPerStep: number;
  /** The model's parameter count (absent in results from before architectures were compared). */
  parameters?: number;
}

export interface VariantSummary {
  variant: string;
  seeds: number[];
  finalLoss: { mean: number; spread: number };
  /** Per seed: the same-performance step against that seed's baseline, null where never reached. */
  samePerformanceSteps: (number | null)[];
  /** Over the seeds that reached the baseline's loss; null if none did. */
  samePerformanceStep: { mean: number; spread: number } | null;
  speedup: { mean: number; spread: number } | null;
  reached: number;
  /** Time a step relative to the baseline's (mean of per-seed ratios). */
  relativeTime: number;
  /** Milliseconds a step, mean over seeds. */
  msPerStep: number;
  parameters?: number;
}

/**
 * Summaries of every variant against `baseline` over `steps` steps. Throws if a variant lacks a
 * seed that the baseline has (the comparison is paired).
 */
export function summarize(runs: RunResult[], baseline: string, steps: number): VariantSummary[] {
  const baselineRuns = new Map(runs.filter((r) => r.variant === baseline).map((r) => [r.seed, r]));
  if (baselineRuns.size === 0) throw new Error(`no runs of the baseline '${baseline}'`);
  const variants = [...new Set(runs.map((r) => r.variant))];
  return variants.map((variant) => {
    const own = runs.filter((r) => r.variant === variant).sort((a, b) => a.seed - b.seed);
    const sps = own.map((run) => {
      const base = baselineRuns.get(run.seed);
      if (!base) throw new Error(`${variant} seed ${run.seed}: no baseline run of that seed to compare with`);
      return samePerformanceStep(run.curve, finalLoss(base.curve));
    });
    const reached = sps.filter((s): s is number => s !== null);
    return {
      variant,
      seeds: own.map((r) => r.seed),
      finalLoss: meanAndSpread(own.map((r) => finalLoss(r.curve)))!,
      samePerformanceSteps: sps,
      samePerformanceStep: meanAndSpread(reached),
      speedup: meanAndSpread(reached.map((s) => 1 - s / steps)),
      reached: reached.length,
      relativeTime: own.reduce((sum, r) => sum + r.msPerStep / baselineRuns.get(r.seed)!.msPerStep, 0) / own.length,
      msPerStep: own.reduce((sum, r) => sum + r.msPerStep, 0) / own.length,
      parameters: own[0].parameters,
    };
  });
}
