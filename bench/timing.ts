// How the benchmarks time work: the median of repeated runs after warm-up runs, so that one slow
// run (a GC pause, a shared machine) does not move the figure.

/** The middle of `values` once sorted (the upper one of the two middles of an even count). */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/** Median milliseconds of `unit` over `reps` runs, after `warmups` untimed ones. */
export async function medianMs(reps: number, unit: () => Promise<unknown>, warmups = 2): Promise<number> {
  for (let i = 0; i < warmups; i++) await unit();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const started = performance.now();
    await unit();
    times.push(performance.now() - started);
  }
  return median(times);
}
