// How a figure is sampled: warm-up runs untimed (compilation, caches, the first allocation), then
// runs until both a least count and a time budget are reached; the figure is the median, with the
// quartiles and extremes as its spread, so one slow run (a GC pause, a shared machine) moves
// nothing and a noisy one shows.

export interface TimingPlan {
  warmups: number;
  minRuns: number;
  maxRuns: number;
  budgetMs: number;
}

/** Milliseconds of one run of a measured unit: median, quartiles, extremes, and how many runs. */
export interface TimeSummary {
  median_ms: number;
  q1_ms: number;
  q3_ms: number;
  min_ms: number;
  max_ms: number;
  runs: number;
}

/** The value at fraction `q` of sorted `values`, interpolated between neighbours. */
export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) throw new RangeError('quantile of no values');
  const at = (sorted.length - 1) * q;
  const below = Math.floor(at);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (at - below);
}

export function summarize(times: readonly number[]): TimeSummary {
  const sorted = [...times].sort((a, b) => a - b);
  const round = (ms: number) => +ms.toPrecision(5);
  return {
    median_ms: round(quantile(sorted, 0.5)),
    q1_ms: round(quantile(sorted, 0.25)),
    q3_ms: round(quantile(sorted, 0.75)),
    min_ms: round(sorted[0]),
    max_ms: round(sorted[sorted.length - 1]),
    runs: sorted.length,
  };
}

/**
 * Times `unit` by `plan`. A unit that returns a number reports its own time (a GPU unit that
 * submits several repetitions and divides); otherwise the wall time around it counts. A unit
 * slower than the budget on its warm-up is run `minRuns` times only if that fits in 20 budgets,
 * else 3 times: the figure of a slow case should cost seconds, not minutes.
 */
export async function measure(unit: () => Promise<number | void> | number | void, plan: TimingPlan, signal?: AbortSignal): Promise<TimeSummary> {
  const once = async () => {
    const started = performance.now();
    const reported = await unit();
    return typeof reported === 'number' ? reported : performance.now() - started;
  };
  let warm = 0;
  for (let i = 0; i < Math.max(1, plan.warmups); i++) warm = await once();
  const least = warm * plan.minRuns > 20 * plan.budgetMs ? 3 : plan.minRuns;
  const times: number[] = [];
  const started = performance.now();
  while (times.length < least || (performance.now() - started < plan.budgetMs && times.length < plan.maxRuns)) {
    signal?.throwIfAborted();
    times.push(await once());
  }
  return summarize(times);
}
