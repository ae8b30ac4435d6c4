// How a benchmark ends: its report printed as JSON and, with --out FILE, written there too
// (atomically: an interrupted run leaves the last whole report).

import { writeFileAtomic } from '../src/io/atomic.js';

/** Prints `report` as JSON and, where `out` names a file, writes it there. */
export function printReport(report: unknown, out?: string): void {
  const json = JSON.stringify(report, null, 2);
  console.log(json);
  if (out) writeFileAtomic(out, json + '\n');
}
