// How the benchmarks time work: the median of repeated runs after warm-up runs, so that one slow
// run (a GC pause, a shared machine) does not move the figure.

/** Median milliseconds of `unit` over `reps` runs, after `warmups` untimed ones. */
export async function medianMs(reps: number, unit: () => Promise<unknown>, warmups = 2): Promise<number> {
  for (let i = 0; i < warmups; i++) await unit();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const started = performance.now();
    await unit();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(reps / 2)];
}
