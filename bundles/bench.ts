// The entry of the benchmark bundles (scripts/build-bundles.mjs): runBenchmarks with both wasm
// builds inlined (each plain and relaxed SIMD), for the page `wavelet-gpt bench --serve` serves and for a user's own page, Deno
// or Bun script. The same suite and report as the CLI's.
import waveletWasm from '../build/wavelet.wasm';
import waveletRelaxedWasm from '../build/wavelet-relaxed.wasm';
import threadsWasm from '../build/wavelet-threads.wasm';
import threadsRelaxedWasm from '../build/wavelet-threads-relaxed.wasm';
import { runBenchmarks as runWith, type BenchOptions, type BenchReport } from '../src/bench/runner.js';

/** The package's version and the commit it was built from, inlined by the build. */
declare const __WAVELET_GPT_BUILD__: { version: string; commit: string | null };

/** runBenchmarks with the inlined kernels (unless `options.devices` names others) and this build named in the report. */
export function runBenchmarks(options: BenchOptions = {}): Promise<BenchReport> {
  return runWith({ package: { name: 'wavelet-gpt', ...__WAVELET_GPT_BUILD__ }, ...options, devices: { wasm: { simd: waveletWasm, relaxedSimd: waveletRelaxedWasm }, wasmThreads: { simd: threadsWasm, relaxedSimd: threadsRelaxedWasm }, ...options.devices } });
}

export { compareReports, formatValue } from '../src/bench/compare.js';
export { comparisonHtml } from '../src/bench/report_html.js';
export { SUITE_NAMES, SUITE_VERSION } from '../src/bench/suite.js';
export type { BenchOptions, BenchProgress, BenchReport, BenchResult } from '../src/bench/runner.js';
