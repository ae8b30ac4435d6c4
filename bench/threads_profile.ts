// Where a training step's time goes on the wasm backend at each thread count: milliseconds a step
// in each kernel, those shared out across the threads (ParallelKernels) and those run by this
// thread alone (the module's exports called directly), with each one's speedup over one thread.
// A kernel that does not speed up is what holds the step's efficiency down (bench/threads.ts).
// Times are the median step's of several, each kernel timed on this thread around its call.
// usage: node --expose-gc --import tsx bench/threads_profile.ts [--preset paper-text8] [--batch 4] [--threads 1,8] [--steps 5] [--out FILE]
// (Node 20: add --experimental-wasm-relaxed-simd to time the relaxed SIMD build, as bench/threads.ts does.)

import { availableParallelism, cpus } from 'node:os';
import { printReport } from './report.js';
import { WasmModel } from '../src/backends/wasm/model.js';
import { wasmStepSetup } from './wasm_step.js';
import { DEFAULT_ADAMW } from '../src/kernels/optimizer/ref.js';
import type { SectionProfile, WasmThreadPool } from '../src/runtime/wasm_threads.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const preset = option('--preset', 'paper-text8');
const B = Number(option('--batch', '4'));
const steps = Number(option('--steps', '5'));
const counts = option('--threads', `1,${Math.min(8, availableParallelism())}`).split(',').map(Number);
const { config, layout, parameters, T, batch, relaxed, source, threadsSource } = wasmStepSetup(preset, B);

type Times = Map<string, number>;
/** A copy of `target` whose functions add their milliseconds to `times` under prefix + name (a copy: a module's exports are frozen). */
function timed<T extends object>(target: T, prefix: string, times: { current: Times }): T {
  const copy: Record<string, unknown> = {};
  for (const name of Object.keys(target)) {
    const value = (target as Record<string, unknown>)[name];
    if (typeof value !== 'function') {
      Object.defineProperty(copy, name, { get: () => (target as Record<string, unknown>)[name] }); // the memory, the thread count
      continue;
    }
    copy[name] = (...callArgs: unknown[]) => {
      const started = performance.now();
      try {
        return value.apply(target, callArgs);
      } finally {
        const key = prefix + name;
        times.current.set(key, (times.current.get(key) ?? 0) + performance.now() - started);
      }
    };
  }
  return copy as T;
}

interface Profile {
  threads: number;
  stepMs: number;
  kernelsMs: Record<string, number>;
  /** The step less every kernel timed: JavaScript between calls. */
  otherMs: number;
  /**
   * The shared-out kernels' sections, ms a step (the mean over the steps): wall on this thread, and
   * the threads' time summed, inside chunks (busy), before their first (start: waking), after their
   * last (tail: unequal work or cores) and between chunks (gaps); busyOverOneThread: busy against the
   * kernel's time on one thread (above 1: the same work took longer spread out).
   */
  sections?: Record<string, { sections: number; wallMs: number; busyMs: number; startMs: number; tailMs: number; gapsMs: number; busyOverOneThread?: number }>;
}
const profiles: Profile[] = [];
for (const threads of counts) {
  const model = await WasmModel.create({ config, layout, parameters, optimizer: DEFAULT_ADAMW, threads }, source, threadsSource);
  // The layers read the module's exports and the shared-out kernels through these two fields when the program is built (the first step).
  const internals = model as unknown as { wasm: { kernels: object; pool?: WasmThreadPool }; parallel: object };
  const times = { current: new Map() as Times };
  internals.wasm.kernels = timed(internals.wasm.kernels, 'serial ', times);
  internals.parallel = timed(internals.parallel, 'shared ', times);
  const runs: { stepMs: number; times: Times }[] = [];
  let sections: Record<string, SectionProfile> = {};
  for (let s = 0; s < steps + 1; s++) {
    if (s === 1) internals.wasm.pool?.startProfiling();
    times.current = new Map();
    const started = performance.now();
    await model.forwardBackward(batch, batch, B, T, 1);
    await model.update(1e-4);
    if (s > 0) runs.push({ stepMs: performance.now() - started, times: times.current }); // the first builds the program
  }
  if (internals.wasm.pool) sections = internals.wasm.pool.stopProfiling();
  model.dispose();
  const median = runs.sort((a, b) => a.stepMs - b.stepMs)[Math.floor(runs.length / 2)];
  const kernelsMs = Object.fromEntries([...median.times].sort((a, b) => b[1] - a[1]).map(([name, ms]) => [name, +ms.toFixed(2)]));
  const timedMs = [...median.times.values()].reduce((a, b) => a + b, 0);
  const perStep = (ms: number) => +(ms / steps).toFixed(2);
  const sectionsPerStep = Object.entries(sections).map(([kernel, p]) => [kernel, { sections: p.sections / steps, wallMs: perStep(p.wallMs), busyMs: perStep(p.busyMs), startMs: perStep(p.startMs), tailMs: perStep(p.tailMs), gapsMs: perStep(p.wallMs * threads - p.busyMs - p.startMs - p.tailMs) }] as const);
  profiles.push({ threads, stepMs: +median.stepMs.toFixed(1), kernelsMs, otherMs: +(median.stepMs - timedMs).toFixed(2), ...(sectionsPerStep.length ? { sections: Object.fromEntries(sectionsPerStep) } : {}) });
  console.error(`${threads} threads: ${median.stepMs.toFixed(1)} ms a step`);
}
const one = profiles.find((p) => p.threads === 1);
// The workers' kernel names are the module's; the layers call them under ParallelKernels' names.
const sharedName: Record<string, string> = { matmulBackwardShare: 'matmulBackward', attentionForwardHeads: 'attentionForward', attentionBackwardHeads: 'attentionBackward', layernormBackwardShare: 'layernormBackward', zeroFloats: 'zero', sumSquaresBlocks: 'sumSquares' };
for (const profile of profiles) {
  for (const [kernel, section] of Object.entries(profile.sections ?? {})) {
    const oneThreadMs = one?.kernelsMs[`shared ${sharedName[kernel] ?? kernel}`];
    if (oneThreadMs) section.busyOverOneThread = +(section.busyMs / oneThreadMs).toFixed(2);
  }
}
const speedups = one
  ? Object.fromEntries(profiles.filter((p) => p.threads > 1).map((p) => [p.threads, Object.fromEntries(Object.entries(p.kernelsMs).map(([name, ms]) => [name, { ms, oneThreadMs: one.kernelsMs[name], speedup: +(one.kernelsMs[name] / ms).toFixed(2) }]))]))
  : undefined;
const report = {
  bench: 'threads_profile',
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, processors: availableParallelism(), node: process.versions.node },
  model: { preset, wavelet: 'haar', batch: B, context: T, simd: relaxed ? 'relaxed' : 'plain' },
  profiles,
  speedups,
  note: 'kernels timed on the calling thread around each call (a shared-out one includes waking the workers and waiting for the last); the median step of --steps. sections: the threads\' time in each kernel\'s parallel sections, the mean over the steps (wallMs x threads = busyMs + startMs + tailMs + gapsMs)',
};
printReport(report, option('--out', ''));
