// `runBenchmarks`: the suite on every target found here (WebGPU, wasm at 1, 2, 4, ... threads up to
// the processors, the js reference), one figure per unit with its spread, and the device described,
// as one JSON document (schema/bench-report.schema.json). Runs in Node, Deno, Bun and browsers; a
// case that fails on one target is reported with its reason and the suite goes on.

import { BACKEND_NAMES, type BackendName } from '../backends/model.js';
import { checkBackendName, type BackendDevices } from '../backends/registry.js';
import { PARALLEL_KERNELS } from '../backends/wasm/parallel.js';
import { WaveletInputError } from '../errors.js';
import type { PackageInfo } from '../io/package_files.js';
import { createThreadedWasmBackend, createWasmBackend, wasmSimdSupported } from '../runtime/wasm.js';
import { processorCount, threadsUnavailable } from '../runtime/wasm_threads.js';
import { createWebGPUBackend, type WebGPUBackend } from '../runtime/webgpu.js';
import { generateCase, matmulCase, trainCase, waveletCase, type CaseRun, type Target, type TargetDevices } from './cases.js';
import { describeDevice, type DeviceDescription } from './device.js';
import { SUITE_NAMES, suiteOf, type BenchCase, type SuiteName, type TargetClass } from './suite.js';
import { measure, type TimeSummary } from './timing.js';

export const REPORT_FORMAT = 'wavelet-gpt-bench';
export const REPORT_FORMAT_VERSION = 1;

export interface BenchResult {
  /** The case's id and the unit's figure: 'matmul/256x256x256' and 'product'. */
  case: string;
  figure: string;
  target: string;
  backend: BackendName;
  threads: number;
  unit: 'GB/s' | 'GFLOP/s' | 'tokens/s';
  /** The rate at the median time; `low` and `high` at the upper and lower quartile times. */
  value: number;
  low: number;
  high: number;
  time: TimeSummary;
  /** Bytes, floating-point operations or tokens of one run. */
  work: number;
  /** This rate over the anchor figure's of the same case and target (the wavelet op over a copy). */
  anchor?: { figure: string; fraction: number };
  /** Largest |difference| from the plain TypeScript reference on a slice of the output. */
  max_abs_error?: number;
}

export interface BenchReport {
  format: typeof REPORT_FORMAT;
  format_version: number;
  suite: { name: SuiteName; version: number; timing: { warmups: number; minRuns: number; maxRuns: number; budgetMs: number } };
  settings: { backends: string[]; threads: number[] | 'auto' };
  created: string;
  duration_s: number;
  package: PackageInfo;
  device: DeviceDescription;
  targets: Target[];
  results: BenchResult[];
  /** Cases and targets not run, each with the reason (not offered here, too large for the reference, failed). */
  not_run: { case: string; target: string; reason: string }[];
}

export type { PackageInfo };

export interface BenchProgress {
  done: number;
  total: number;
  message: string;
  /** The figure just measured. */
  result?: BenchResult;
}

export interface BenchOptions {
  suite?: SuiteName;
  /** The backends to run (default all found). A software WebGPU adapter runs only when webgpu is named. */
  backends?: readonly BackendName[];
  /** wasm's thread counts (default 'auto': 1, 2, 4, ... and the processors). */
  threads?: readonly number[] | 'auto';
  /** The device's name in reports (default: the CPU or GPU and the runtime). */
  label?: string;
  package?: PackageInfo;
  /** Where the kernels are (the bundles pass them inlined), and a WebGPU device to use. */
  devices?: BackendDevices;
  onProgress?(progress: BenchProgress): void;
  signal?: AbortSignal;
}

const round = (value: number) => +value.toPrecision(5);

function checkOptions(options: BenchOptions): void {
  if (options.suite !== undefined && !SUITE_NAMES.includes(options.suite)) throw new WaveletInputError(`suite: expected ${SUITE_NAMES.join(' or ')}, found ${JSON.stringify(options.suite)}`);
  for (const name of options.backends ?? []) checkBackendName(name, 'backends', false);
  if (options.backends && !options.backends.length) throw new WaveletInputError('backends: expected at least one backend, found none');
  if (options.threads !== undefined && options.threads !== 'auto') {
    if (!Array.isArray(options.threads) || !options.threads.length) throw new WaveletInputError(`threads: expected 'auto' or a list of thread counts, found ${JSON.stringify(options.threads)}`);
    for (const n of options.threads) if (!Number.isInteger(n) || n < 1 || n > 256) throw new WaveletInputError(`threads: expected integers from 1 to 256, found ${JSON.stringify(n)}`);
  }
}

/** The targets here, and those asked for that cannot run, with why. */
async function findTargets(options: BenchOptions, notRun: BenchReport['not_run']): Promise<{ targets: Target[]; gpu?: WebGPUBackend; ownsGpu: boolean; gpuNote: string | null }> {
  const asked = options.backends ?? BACKEND_NAMES;
  const targets: Target[] = [];
  let gpu = options.devices?.gpu;
  let gpuNote: string | null = null;
  let ownsGpu = false;
  if (asked.includes('webgpu')) {
    if (!gpu) {
      try {
        gpu = await createWebGPUBackend();
        ownsGpu = true;
      } catch (error) {
        gpuNote = (error as Error).message.split('\n')[0];
      }
    }
    if (gpu?.adapter.software && !options.backends?.includes('webgpu')) {
      gpuNote = `${gpu.adapter.description || gpu.adapter.device} is a software adapter: run with the webgpu backend named to time it`;
      notRun.push({ case: '*', target: 'webgpu', reason: gpuNote });
      if (ownsGpu) gpu.destroy();
      gpu = undefined;
      ownsGpu = false;
    } else if (gpu) {
      targets.push({ id: 'webgpu', backend: 'webgpu', threads: 1, class: gpu.adapter.software ? 'cpu' : 'gpu' });
    } else {
      notRun.push({ case: '*', target: 'webgpu', reason: `not available: ${gpuNote}` });
    }
  }
  if (asked.includes('wasm')) {
    if (!wasmSimdSupported()) notRun.push({ case: '*', target: 'wasm', reason: 'not available: this engine has no WebAssembly SIMD' });
    else {
      const processors = await processorCount();
      let counts: number[];
      if (options.threads === undefined || options.threads === 'auto') {
        counts = [];
        for (let n = 1; n < processors; n *= 2) counts.push(n);
        counts.push(processors);
      } else counts = [...new Set(options.threads)].sort((a, b) => a - b);
      const why = threadsUnavailable();
      for (const threads of counts) {
        if (threads > 1 && why) notRun.push({ case: '*', target: `wasm-${threads}`, reason: `not available: ${why}` });
        else targets.push({ id: `wasm-${threads}`, backend: 'wasm', threads, class: 'cpu' });
      }
    }
  }
  if (asked.includes('js')) targets.push({ id: 'js', backend: 'js', threads: 1, class: 'reference' });
  return { targets, gpu, ownsGpu, gpuNote };
}

/** Why `c` does not run on `target`, or undefined when it does. */
function notRunReason(c: BenchCase, target: Target): string | undefined {
  if (!c.runsOn.includes(target.class)) {
    const reasons: Record<TargetClass, string> = {
      gpu: 'not a GPU case',
      cpu: 'GPU-sized: not run on a CPU (wasm, or a software WebGPU adapter)',
      reference: 'too large for the reference backend (it is timed on small work only)',
    };
    return reasons[target.class];
  }
  if (c.kind === 'wavelet' && target.backend === 'wasm' && target.threads > 1) return 'the wavelet op runs on one thread (see wasm-1)';
  return undefined;
}

function openCase(c: BenchCase, target: Target, devices: TargetDevices): CaseRun | Promise<CaseRun> {
  switch (c.kind) {
    case 'wavelet':
      return waveletCase(c, target, devices);
    case 'matmul':
      return matmulCase(c, target, devices);
    case 'train':
      return trainCase(c, target, devices);
    case 'generate':
      return generateCase(c, target, devices);
  }
}

export async function runBenchmarks(options: BenchOptions = {}): Promise<BenchReport> {
  checkOptions(options);
  const suite = suiteOf(options.suite ?? 'quick');
  const started = performance.now();
  const notRun: BenchReport['not_run'] = [];
  const { targets, gpu, ownsGpu, gpuNote } = await findTargets(options, notRun);
  const results: BenchResult[] = [];
  const plan: [Target, BenchCase][] = [];
  for (const target of targets) {
    for (const c of suite.cases) {
      const why = notRunReason(c, target);
      if (why) notRun.push({ case: c.id, target: target.id, reason: why });
      else plan.push([target, c]);
    }
  }
  const progress = (done: number, message: string, result?: BenchResult) => options.onProgress?.({ done, total: plan.length, message, result });
  let done = 0;
  try {
    for (const target of targets) {
      const cases = plan.filter(([t]) => t === target).map(([, c]) => c);
      if (!cases.length) continue;
      const devices: TargetDevices = { gpu: target.backend === 'webgpu' ? gpu : undefined, sources: options.devices ?? {} };
      try {
        if (target.backend === 'wasm') devices.wasm = target.threads > 1 ? await createThreadedWasmBackend(target.threads, PARALLEL_KERNELS, options.devices?.wasmThreads) : await createWasmBackend(options.devices?.wasm);
      } catch (error) {
        for (const c of cases) notRun.push({ case: c.id, target: target.id, reason: `failed: ${(error as Error).message.split('\n')[0]}` });
        done += cases.length;
        progress(done, `${target.id}: ${(error as Error).message.split('\n')[0]}`);
        continue;
      }
      try {
        for (const c of cases) {
          options.signal?.throwIfAborted();
          progress(done, `${c.id} on ${target.id}`);
          await runCase(c, target, devices, suite.timing, options.signal, results, notRun, (result) => progress(done, `${c.id} on ${target.id}`, result));
          progress(++done, `${c.id} on ${target.id}`);
        }
      } finally {
        devices.wasm?.pool?.dispose();
      }
    }
    if (gpu) await gpu.checkErrors();
  } finally {
    if (ownsGpu) gpu?.destroy();
  }
  return {
    format: REPORT_FORMAT,
    format_version: REPORT_FORMAT_VERSION,
    suite: { name: suite.name, version: suite.version, timing: { ...suite.timing } },
    settings: { backends: [...(options.backends ?? BACKEND_NAMES)], threads: options.threads === undefined || options.threads === 'auto' ? 'auto' : [...options.threads] },
    created: new Date().toISOString(),
    duration_s: round((performance.now() - started) / 1000),
    package: options.package ?? { name: 'wavelet-gpt', version: null, commit: null },
    device: await describeDevice(gpu?.adapter ?? null, gpu ? null : gpuNote, options.label),
    targets,
    results,
    not_run: notRun,
  };
}

async function runCase(
  c: BenchCase, target: Target, devices: TargetDevices, timing: BenchReport['suite']['timing'], signal: AbortSignal | undefined,
  results: BenchResult[], notRun: BenchReport['not_run'], onResult: (result: BenchResult) => void,
): Promise<void> {
  let run: CaseRun | undefined;
  try {
    run = await openCase(c, target, devices);
    const ofCase: BenchResult[] = [];
    for (const unit of run.units) {
      const time = await measure(unit.run, timing, signal);
      const rate = (ms: number) => round(unit.work / ms / (unit.unit === 'tokens/s' ? 1e-3 : 1e6));
      const result: BenchResult = {
        case: c.id, figure: unit.figure, target: target.id, backend: target.backend, threads: target.threads, unit: unit.unit,
        value: rate(time.median_ms), low: rate(time.q3_ms), high: rate(time.q1_ms), time, work: unit.work,
      };
      if (unit.check) result.max_abs_error = +(await unit.check()).toPrecision(3);
      const anchor = unit.anchor && ofCase.find((r) => r.figure === unit.anchor);
      if (anchor) result.anchor = { figure: anchor.figure, fraction: +(result.value / anchor.value).toFixed(4) };
      ofCase.push(result);
      results.push(result);
      onResult(result);
    }
  } catch (error) {
    if (signal?.aborted) throw error;
    notRun.push({ case: c.id, target: target.id, reason: `failed: ${(error as Error).message.split('\n')[0]}` });
  } finally {
    run?.dispose();
  }
}
