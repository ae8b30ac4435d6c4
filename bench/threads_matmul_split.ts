// The matmul gradients alone, shared out across threads (ParallelKernels.matmulBackward) at the
// paper model's shapes: the threads' time inside chunks against the same work on one thread, with
// dout freshly written by all the threads' row chunks (as after the layer above, a GELU here) and
// with dout just read by every thread. In a training step on the 16-core host this kernel's busy
// time was 1.22 to 1.57x one thread's; this separates the split itself, and the cost of reading
// rows that other cores have just written, from the rest of the step. Prints JSON.
// usage: node [--experimental-wasm-relaxed-simd] --import tsx bench/threads_matmul_split.ts [--threads 8] [--repeats 30] [--out FILE]

import { availableParallelism, cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { printReport } from './report.js';
import { createThreadedWasmBackend, wasmRelaxedSimdSupported } from '../src/runtime/wasm.js';
import { PARALLEL_KERNELS, parallelKernels } from '../src/backends/wasm/parallel.js';
import { SeededRandom } from '../src/model/random.js';
import { median } from './timing.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const threads = Number(option('--threads', String(Math.min(8, availableParallelism()))));
const repeats = Number(option('--repeats', '30'));
const relaxed = wasmRelaxedSimdSupported();
const wasm = await createThreadedWasmBackend(threads, PARALLEL_KERNELS, readFileSync(relaxed ? 'build/wavelet-threads-relaxed.wasm' : 'build/wavelet-threads.wasm'));
const { arena, kernels } = wasm;
const shared = parallelKernels(wasm);
const pool = wasm.pool!;
const random = new SeededRandom(1);
/** A median in ms, to the microsecond. */
const roundedMedian = (values: number[]) => +median(values).toFixed(3);
const rows: Record<string, number | string>[] = [];
// [N, C, OC]: the attention's qkv, the MLP's up and down projections at batch 4 x 512 positions
for (const [N, C, OC] of [[2048, 128, 384], [2048, 128, 512], [2048, 512, 128]]) {
  const filled = (n: number) => {
    const ptr = arena.alloc(4 * n);
    arena.f32(ptr, n).set(Float32Array.from({ length: n }, () => random.normal()));
    return ptr;
  };
  const [source, inp, w] = [filled(N * OC), filled(N * C), filled(OC * C)];
  const [dout, dinp, dw, dbias] = [arena.alloc(4 * N * OC), arena.alloc(4 * N * C), arena.alloc(4 * OC * C), arena.alloc(4 * OC)];
  const scratch = arena.alloc(4 * kernels.matmulScratchFloats() * threads);
  shared.geluForward(dout, source, N * OC);
  const alone: number[] = [];
  for (let i = 0; i < 10; i++) {
    const started = performance.now();
    kernels.matmulBackward(dinp, dw, dbias, dout, inp, w, N, C, OC, scratch, 1);
    alone.push(performance.now() - started);
  }
  const busy = { fresh: [] as number[], read: [] as number[] };
  const wall = { fresh: [] as number[], read: [] as number[] };
  for (let i = 0; i < repeats; i++) {
    for (const before of ['fresh', 'read'] as const) {
      if (before === 'fresh') shared.geluForward(dout, source, N * OC); // dout's rows just written, a row chunk a thread
      else shared.matmulBackward(dinp, dw, dbias, dout, inp, w, N, C, OC, scratch, 1); // dout just read by every thread
      pool.startProfiling();
      const started = performance.now();
      shared.matmulBackward(dinp, dw, dbias, dout, inp, w, N, C, OC, scratch, 1);
      wall[before].push(performance.now() - started);
      busy[before].push(pool.stopProfiling().matmulBackwardShare.busyMs);
    }
  }
  const oneThreadMs = roundedMedian(alone);
  rows.push({ product: `${N} x ${C} -> ${OC}`, oneThreadMs, freshBusyMs: roundedMedian(busy.fresh), readBusyMs: roundedMedian(busy.read), freshWallMs: roundedMedian(wall.fresh), readWallMs: roundedMedian(wall.read), freshBusyOverOneThread: +(roundedMedian(busy.fresh) / oneThreadMs).toFixed(2), readBusyOverOneThread: +(roundedMedian(busy.read) / oneThreadMs).toFixed(2) });
  console.error(JSON.stringify(rows.at(-1)));
}
pool.dispose();
const report = {
  bench: 'threads_matmul_split',
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, processors: availableParallelism(), node: process.versions.node },
  threads,
  simd: relaxed ? 'relaxed' : 'plain',
  rows,
  note: 'medians; busy: the threads\' time inside chunks summed (WasmThreadPool profiling); fresh: dout written by a shared-out GELU just before, read: dout read by the same shared-out gradients just before; oneThreadMs: the same product on this thread alone',
};
printReport(report, option('--out', ''));
