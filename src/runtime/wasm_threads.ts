// The wasm kernels on several threads: one shared memory (a SharedArrayBuffer under the module
// built with --sharedMemory, build/wavelet-threads.wasm) instantiated in this thread and in N - 1
// workers (worker_threads in Node, Web Workers elsewhere). A parallel section is one kernel cut
// into chunks, each a call on a slice of its arguments: this thread writes the chunks into a small
// shared block and wakes the workers (Atomics.notify). Each thread owns a run of consecutive
// chunks (the same at every section of the same shape, so a thread mostly reads what it wrote the
// section before) and takes them one by one from a counter of its own; when its run is done it
// takes what is left of the others' runs from their counters, then counts itself done. Workers
// sleep in Atomics.wait between sections: no messages, no copies; the tensors never leave the
// shared memory. A section costs a wake-up (tens of microseconds), so the callers
// (backends/wasm/parallel.ts) share out only work that is worth it.
//
// Why chunks are taken and not handed out once a thread: cores are not equal. On the GPU
// machine's 16-core host (a KVM guest), 8 workers each running the same matmul on their own memory,
// never waiting for one another, ran it in 0.97 to 0.99 ms on six cores and 1.35 and 1.65 on two;
// at 16 at once, 0.50 on some, 0.75 to 1.04 on others, changing from run to run. A section cut in
// equal shares waits for its slowest core; here the cores that finish early take its last chunks.

import { BackendUnavailableError } from '../errors.js';

/** Int32 fields of the control block. */
const GENERATION = 0; // bumped for each section: the workers wait on it
const DONE = 1; // workers that finished the current section
const STOP = 2; // 1: the workers leave
const KERNEL = 3; // the section's kernel, an index into the names sent at start
const READY = 4; // workers instantiated
const CHUNKS = 5; // the section's chunks
const SCRATCH_ARGUMENT = 6; // the argument that points at scratch memory (thread 0's), -1 for none
const SCRATCH_BYTES = 7; // added to it once for each thread index: a thread's own scratch
const FAILED = 8; // 1 + the index of the first thread whose chunk threw in this section, 0 for none
const PROFILING = 9; // 1: each thread leaves the times of its part of a section (SectionProfile)
/**
 * Thread t's counter, the next chunk of its run to take, at NEXT + t * COUNTER_STRIDE: each on a
 * cache line of its own (a line taken by one thread's atomic add is lost to the others' loads).
 */
const NEXT = 32;
const COUNTER_STRIDE = 16;
/** Chunks run by a thread other than their run's owner, since the start (a line of its own too). */
const TAKEN_FROM_OTHERS = 16;
/** Arguments of a chunk: a count, then up to 19 numbers, as float64 (wasm32 offsets exceed int32). */
const CHUNK_FLOATS = 20;
/** Bytes of the first failure's message, UTF-8, that a worker leaves for this thread. */
const MESSAGE_BYTES = 512;
/**
 * Float64 a thread leaves of a profiled section, at its index times this (a cache line of its
 * own): when its first chunk started, when its last one ended (ms since the epoch: workers' clocks
 * have other origins), and the ms spent inside chunks.
 */
const TIMES_STRIDE = 8;
/**
 * The most chunks a section may have a thread. Finer chunks even out unequal cores better but
 * cost a call and an atomic add each: on the 16-core host, paper model, 8 threads, 8 chunks a
 * thread gave steps of 326 / 229 ms against 328 / 272 with 4 and 358 / 370 with one share a
 * thread (old, 4, 8 alternated twice in one command).
 */
export const MAX_CHUNKS_PER_THREAD = 8;
/**
 * Loads of the control block a thread makes before it sleeps in Atomics.wait (some tens of
 * microseconds): a wake-up from the futex costs about as much again, and a training step's
 * sections follow one another closely, so a worker mostly finds the next one, and this thread
 * the workers done, without sleeping.
 */
const SPINS = 20_000;

/**
 * A worker's program, as text: it must run where no module of ours can be imported (a Blob URL
 * in a page, `eval` in Node), so it is plain JavaScript that knows only what it is sent.
 */
const WORKER_SOURCE = `
const start = async ({ module, memory, control, chunks, message, times, index, names, threads }) => {
  const instance = await WebAssembly.instantiate(module, { env: { memory, abort(_m, _f, line, column) { throw new Error('wavelet-threads.wasm aborted at ' + line + ':' + column); } } });
  instance.exports._initialize?.();
  const kernels = names.map((name) => instance.exports[name]);
  const ctl = new Int32Array(control);
  const all = new Float64Array(chunks);
  const thread = index + 1;
  const mine = new Float64Array(times, thread * ${TIMES_STRIDE} * 8, 3);
  const now = () => performance.timeOrigin + performance.now();
  const runChunk = (kernel, chunk) => {
    const at = chunk * ${CHUNK_FLOATS};
    const args = Array.from(all.subarray(at + 1, at + 1 + all[at]));
    const scratch = Atomics.load(ctl, ${SCRATCH_ARGUMENT});
    if (scratch >= 0) args[scratch] += thread * Atomics.load(ctl, ${SCRATCH_BYTES});
    kernel(...args);
  };
  Atomics.add(ctl, ${READY}, 1);
  Atomics.notify(ctl, ${READY});
  let seen = 0;
  for (;;) {
    // the next section usually comes within microseconds: look for it a while before sleeping
    for (let spin = 0; spin < ${SPINS} && Atomics.load(ctl, ${GENERATION}) === seen; spin++);
    // Waking is no proof of a new section: run() bumps GENERATION, then notifies, and a worker
    // that found the bump while spinning may have run its chunks and be asleep again when that
    // notify lands. Taking it for a section ran the old chunks twice and counted them done twice,
    // so the next section returned before a worker had finished: at 6 threads on 2 cores, one
    // training step in some hundreds gave other gradients than one thread did.
    while (Atomics.load(ctl, ${GENERATION}) === seen) Atomics.wait(ctl, ${GENERATION}, seen);
    seen = Atomics.load(ctl, ${GENERATION});
    if (Atomics.load(ctl, ${STOP})) break;
    const kernel = kernels[Atomics.load(ctl, ${KERNEL})];
    const count = Atomics.load(ctl, ${CHUNKS});
    const profiling = Atomics.load(ctl, ${PROFILING}) === 1;
    if (profiling) mine.fill(0);
    try {
      // its own run of chunks, then the others' from the next thread on
      for (let owner = thread, tried = 0; tried < threads; tried++, owner = owner + 1 === threads ? 0 : owner + 1) {
        const end = Math.floor((count * (owner + 1)) / threads);
        const counter = ${NEXT} + owner * ${COUNTER_STRIDE};
        for (let chunk = Atomics.add(ctl, counter, 1); chunk < end; chunk = Atomics.add(ctl, counter, 1)) {
          if (profiling) {
            const started = now();
            if (mine[0] === 0) mine[0] = started;
            runChunk(kernel, chunk);
            mine[1] = now();
            mine[2] += mine[1] - started;
          } else runChunk(kernel, chunk);
          if (owner !== thread) Atomics.add(ctl, ${TAKEN_FROM_OTHERS}, 1);
        }
      }
    } catch (error) {
      // counted done all the same, or this section would never end; the caller throws
      if (Atomics.compareExchange(ctl, ${FAILED}, 0, thread + 1) === 0) {
        const bytes = new Uint8Array(message);
        bytes.fill(0);
        bytes.set(new TextEncoder().encode(String((error && error.message) || error)).subarray(0, ${MESSAGE_BYTES} - 1));
      }
    }
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
};
`;

/** The first chunk of thread t's run, of `chunks` in a section on `threads` threads. */
export function firstChunkOf(thread: number, chunks: number, threads: number): number {
  return Math.floor((chunks * thread) / threads);
}

/** The worker's program with the way its runtime hands it its first message. */
function workerSource(web: boolean): string {
  return WORKER_SOURCE + (web ? "self.addEventListener('message', (event) => start(event.data), { once: true });\n" : "require('node:worker_threads').parentPort.once('message', start);\n");
}

/**
 * Where the threads' time went in one kernel's sections, summed over the sections profiled
 * (WasmThreadPool.startProfiling). wallMs x threads = busyMs + startMs + tailMs + the gaps between
 * a thread's chunks (taking them, copying their arguments).
 */
export interface SectionProfile {
  sections: number;
  /** From the start of run() to its return, on this thread. */
  wallMs: number;
  /** Inside chunks, summed over the threads. */
  busyMs: number;
  /** Before each thread's first chunk, summed over the threads: the workers' wake-up (a thread with no chunk: the whole section). */
  startMs: number;
  /** After each thread's last chunk until the section ended, summed over the threads: unequal work or cores. */
  tailMs: number;
}

/** Now in ms since the epoch: comparable across threads, whose performance.now() have other origins. */
const epochNow = () => performance.timeOrigin + performance.now();

/** A worker as either runtime gives it. */
interface ThreadWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/** Why threads cannot run here, or undefined when they can. */
export function threadsUnavailable(): string | undefined {
  if (typeof SharedArrayBuffer === 'undefined') {
    return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false
      ? 'this page is not cross-origin isolated (it needs the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), so SharedArrayBuffer is off'
      : 'this runtime has no SharedArrayBuffer';
  }
  if (typeof Atomics === 'undefined' || typeof Atomics.wait !== 'function') return 'this runtime has no Atomics.wait';
  const node = typeof process !== 'undefined' && Boolean(process.versions?.node);
  if (!node && typeof Worker !== 'function') return 'this runtime has no workers';
  return undefined;
}

/** The processors this runtime reports (navigator.hardwareConcurrency, or Node's os). */
export async function processorCount(): Promise<number> {
  const reported = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  if (reported) return reported;
  if (typeof process !== 'undefined' && process.versions?.node) return (await import('node:os')).availableParallelism();
  return 1;
}

/**
 * A worker: a Web Worker where the runtime has them (browsers, Deno, Bun), from a Blob URL to
 * revoke once it has started (a timer for it kept Deno and Bun alive for a minute), else Node's
 * worker_threads.
 */
async function spawn(): Promise<{ worker: ThreadWorker; url?: string }> {
  if (typeof Worker !== 'function') {
    const { Worker: NodeWorker } = await import('node:worker_threads');
    const worker = new NodeWorker(workerSource(false), { eval: true });
    worker.unref(); // a sleeping worker does not keep the process alive
    return { worker };
  }
  const url = URL.createObjectURL(new Blob([workerSource(true)], { type: 'text/javascript' }));
  return { worker: new Worker(url, { type: 'module' }), url };
}

export class WasmThreadPool {
  private readonly control: Int32Array;
  private readonly chunks: Float64Array;
  /** The first failure's message in a section, from the worker that threw. */
  private readonly message: Uint8Array;
  /** The most chunks a section may have. */
  private readonly capacity: number;
  private readonly kernelIndex: Map<string, number>;
  /** Each thread's times of the section just run, TIMES_STRIDE floats a thread, while profiling. */
  private readonly times: Float64Array;
  /** Sections profiled so far, by kernel; undefined when not profiling. */
  private profiles?: Map<string, SectionProfile>;
  /** Whether this thread may block in Atomics.wait (not a page's main thread). */
  private readonly canBlock: boolean;
  private disposed = false;

  private constructor(readonly threads: number, private readonly workers: ThreadWorker[], control: SharedArrayBuffer, chunks: SharedArrayBuffer, message: SharedArrayBuffer, times: SharedArrayBuffer, names: readonly string[]) {
    this.control = new Int32Array(control);
    this.chunks = new Float64Array(chunks);
    this.message = new Uint8Array(message);
    this.times = new Float64Array(times);
    this.capacity = this.chunks.length / CHUNK_FLOATS;
    this.kernelIndex = new Map(names.map((name, i) => [name, i]));
    let canBlock = true;
    try {
      Atomics.wait(this.control, READY, -1, 0);
    } catch {
      canBlock = false;
    }
    this.canBlock = canBlock;
  }

  /** N - 1 workers on `module` and `memory`, ready for sections of the kernels `names`. */
  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, threads: number, names: readonly string[]): Promise<WasmThreadPool> {
    const control = new SharedArrayBuffer(4 * (NEXT + threads * COUNTER_STRIDE));
    const chunks = new SharedArrayBuffer(8 * CHUNK_FLOATS * MAX_CHUNKS_PER_THREAD * threads);
    const message = new SharedArrayBuffer(MESSAGE_BYTES);
    const times = new SharedArrayBuffer(8 * TIMES_STRIDE * threads);
    const workers: ThreadWorker[] = [];
    const urls: string[] = [];
    try {
      for (let index = 0; index < threads - 1; index++) {
        const { worker, url } = await spawn();
        workers.push(worker);
        if (url) urls.push(url);
        worker.postMessage({ module, memory, control, chunks, message, times, index, names, threads });
      }
      const pool = new WasmThreadPool(threads, workers, control, chunks, message, times, names);
      await pool.ready();
      return pool;
    } catch (error) {
      for (const worker of workers) worker.terminate();
      throw new BackendUnavailableError(`wasm threads: ${threads - 1} workers could not start (${(error as Error).message})`);
    } finally {
      for (const url of urls) URL.revokeObjectURL(url); // the workers have read their script
    }
  }

  private async ready(): Promise<void> {
    const started = Date.now();
    while (Atomics.load(this.control, READY) < this.workers.length) {
      if (Date.now() - started > 30_000) throw new Error(`${Atomics.load(this.control, READY)} of ${this.workers.length} workers ready after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /**
   * Runs `kernel` once a chunk, on every thread at once: thread t first runs its own run of
   * chunks, from firstChunkOf(t) on (this thread is thread 0), then what the others have not yet
   * taken of theirs (the workers' program does the same). Returns when all are done. Chunks must
   * write disjoint memory and compute the same whichever thread runs them; `scratch.argument`
   * names the argument, if any, that points at thread 0's scratch block of `scratch.bytes`: each
   * thread's call gets its own block instead.
   */
  run(kernels: Record<string, (...args: number[]) => unknown>, kernel: string, chunks: number[][], scratch?: { argument: number; bytes: number }): void {
    if (this.disposed) throw new Error('wasm threads: disposed');
    const index = this.kernelIndex.get(kernel);
    if (index === undefined) throw new Error(`wasm threads: '${kernel}' is not a kernel the workers were given`);
    if (chunks.length > this.capacity) throw new Error(`wasm threads: ${chunks.length} chunks, more than ${this.capacity} (${MAX_CHUNKS_PER_THREAD} a thread)`);
    if (scratch && !(scratch.bytes >= 0 && scratch.bytes * this.threads < 2 ** 31)) throw new Error(`wasm threads: scratch of ${scratch.bytes} bytes a thread`);
    const profiles = this.profiles;
    const sectionStart = profiles ? epochNow() : 0;
    for (let i = 0; i < chunks.length; i++) {
      const at = i * CHUNK_FLOATS;
      if (chunks[i].length >= CHUNK_FLOATS) throw new Error(`wasm threads: ${chunks[i].length} arguments, at most ${CHUNK_FLOATS - 1}`);
      this.chunks[at] = chunks[i].length;
      this.chunks.set(chunks[i], at + 1);
    }
    const helpers = this.workers.length;
    Atomics.store(this.control, DONE, 0);
    Atomics.store(this.control, FAILED, 0);
    Atomics.store(this.control, KERNEL, index);
    Atomics.store(this.control, CHUNKS, chunks.length);
    Atomics.store(this.control, SCRATCH_ARGUMENT, scratch ? scratch.argument : -1);
    Atomics.store(this.control, SCRATCH_BYTES, scratch ? scratch.bytes : 0);
    const threads = this.threads;
    for (let t = 0; t < threads; t++) Atomics.store(this.control, NEXT + t * COUNTER_STRIDE, firstChunkOf(t, chunks.length, threads));
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    const run = kernels[kernel];
    const mine = this.times; // thread 0's times: its first TIMES_STRIDE floats
    if (profiles) mine.fill(0, 0, 3);
    let failure: unknown;
    try {
      for (let owner = 0; owner < threads; owner++) {
        const end = firstChunkOf(owner + 1, chunks.length, threads);
        const counter = NEXT + owner * COUNTER_STRIDE;
        for (let chunk = Atomics.add(this.control, counter, 1); chunk < end; chunk = Atomics.add(this.control, counter, 1)) {
          if (profiles) {
            const started = epochNow();
            if (mine[0] === 0) mine[0] = started;
            run(...chunks[chunk]);
            mine[1] = epochNow();
            mine[2] += mine[1] - started;
          } else run(...chunks[chunk]);
          if (owner !== 0) Atomics.add(this.control, TAKEN_FROM_OTHERS, 1);
        }
      }
    } catch (error) {
      failure = error; // thrown once the workers are done: the next section must not start under them
    }
    let spins = 0;
    for (let done = Atomics.load(this.control, DONE); done < helpers; done = Atomics.load(this.control, DONE)) {
      if (this.canBlock && ++spins > SPINS) Atomics.wait(this.control, DONE, done, 50);
    }
    if (profiles) this.record(profiles, kernel, sectionStart, epochNow());
    if (failure !== undefined) throw failure;
    const failed = Atomics.load(this.control, FAILED);
    if (failed) {
      const text = new TextDecoder().decode(this.message.slice(0, this.message.indexOf(0) < 0 ? MESSAGE_BYTES : this.message.indexOf(0)));
      throw new Error(`wasm threads: '${kernel}' failed on thread ${failed - 1}: ${text}`);
    }
  }

  /** Adds the section just run, from sectionStart to sectionEnd, to `kernel`'s profile. */
  private record(profiles: Map<string, SectionProfile>, kernel: string, sectionStart: number, sectionEnd: number): void {
    const profile = profiles.get(kernel) ?? { sections: 0, wallMs: 0, busyMs: 0, startMs: 0, tailMs: 0 };
    profile.sections++;
    profile.wallMs += sectionEnd - sectionStart;
    for (let t = 0; t < this.threads; t++) {
      const [first, last, busy] = this.times.subarray(t * TIMES_STRIDE, t * TIMES_STRIDE + 3);
      if (first === 0) {
        profile.startMs += sectionEnd - sectionStart; // no chunk left for it
        continue;
      }
      profile.busyMs += busy;
      profile.startMs += first - sectionStart;
      profile.tailMs += sectionEnd - last;
    }
    profiles.set(kernel, profile);
  }

  /** From now on each section's threads note where their time goes (it costs two clock reads a chunk). */
  startProfiling(): void {
    this.profiles = new Map();
    Atomics.store(this.control, PROFILING, 1);
  }

  /** The sections run since startProfiling, by kernel; profiling stops. */
  stopProfiling(): Record<string, SectionProfile> {
    Atomics.store(this.control, PROFILING, 0);
    const profiles = Object.fromEntries(this.profiles ?? []);
    this.profiles = undefined;
    return profiles;
  }

  /** Chunks a thread ran from another thread's run, over all sections so far. */
  get chunksTakenFromOthers(): number {
    return Atomics.load(this.control, TAKEN_FROM_OTHERS);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    for (const worker of this.workers) worker.terminate();
  }
}
