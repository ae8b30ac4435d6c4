// The wasm kernels on several threads: one shared memory (a SharedArrayBuffer under the module
// built with --sharedMemory, build/wavelet-threads.wasm) instantiated in this thread and in N - 1
// workers (worker_threads in Node, Web Workers elsewhere). A parallel section is one kernel with a
// share of its arguments a thread: this thread writes the workers' shares into a small control
// block, wakes them (Atomics.notify), runs its own share and waits until every worker has counted
// itself done. Workers sleep in Atomics.wait between sections: no messages, no copies; the
// tensors never leave the shared memory. A section costs a wake-up (tens of microseconds), so the
// callers (backends/wasm/parallel.ts) share out only work that is worth it.

import { BackendUnavailableError } from '../errors.js';

/** Int32 fields of the control block. */
const GENERATION = 0; // bumped for each section: the workers wait on it
const DONE = 1; // workers that finished the current section
const STOP = 2; // 1: the workers leave
const KERNEL = 3; // the section's kernel, an index into the names sent at start
const READY = 4; // workers instantiated
const CONTROL_INTS = 8;
/** Arguments of a share: a count, then up to 15 numbers, as float64 (wasm32 offsets exceed int32). */
const SHARE_FLOATS = 16;
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
const start = async ({ module, memory, control, shares, index, names }) => {
  const instance = await WebAssembly.instantiate(module, { env: { memory, abort(_m, _f, line, column) { throw new Error('wavelet-threads.wasm aborted at ' + line + ':' + column); } } });
  instance.exports._initialize?.();
  const kernels = names.map((name) => instance.exports[name]);
  const ctl = new Int32Array(control);
  const args = new Float64Array(shares, index * ${SHARE_FLOATS} * 8, ${SHARE_FLOATS});
  Atomics.add(ctl, ${READY}, 1);
  Atomics.notify(ctl, ${READY});
  let seen = 0;
  for (;;) {
    // the next section usually comes within microseconds: look for it a while before sleeping
    for (let spin = 0; spin < ${SPINS} && Atomics.load(ctl, ${GENERATION}) === seen; spin++);
    // Waking is no proof of a new section: run() bumps GENERATION, then notifies, and a worker
    // that found the bump while spinning may have run its share and be asleep again when that
    // notify lands. Taking it for a section ran the old share twice and counted it done twice,
    // so the next section returned before a worker had finished: at 6 threads on 2 cores, one
    // training step in some hundreds gave other gradients than one thread did.
    while (Atomics.load(ctl, ${GENERATION}) === seen) Atomics.wait(ctl, ${GENERATION}, seen);
    seen = Atomics.load(ctl, ${GENERATION});
    if (Atomics.load(ctl, ${STOP})) break;
    const count = args[0];
    if (count > 0) kernels[Atomics.load(ctl, ${KERNEL})](...args.subarray(1, 1 + count));
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
};
`;

/** The worker's program with the way its runtime hands it its first message. */
function workerSource(web: boolean): string {
  return WORKER_SOURCE + (web ? "self.addEventListener('message', (event) => start(event.data), { once: true });\n" : "require('node:worker_threads').parentPort.once('message', start);\n");
}

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
  private readonly shares: Float64Array;
  private readonly kernelIndex: Map<string, number>;
  /** Whether this thread may block in Atomics.wait (not a page's main thread). */
  private readonly canBlock: boolean;
  private disposed = false;

  private constructor(readonly threads: number, private readonly workers: ThreadWorker[], control: SharedArrayBuffer, shares: SharedArrayBuffer, names: readonly string[]) {
    this.control = new Int32Array(control);
    this.shares = new Float64Array(shares);
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
    const control = new SharedArrayBuffer(4 * CONTROL_INTS);
    const shares = new SharedArrayBuffer(8 * SHARE_FLOATS * Math.max(1, threads - 1));
    const workers: ThreadWorker[] = [];
    const urls: string[] = [];
    try {
      for (let index = 0; index < threads - 1; index++) {
        const { worker, url } = await spawn();
        workers.push(worker);
        if (url) urls.push(url);
        worker.postMessage({ module, memory, control, shares, index, names });
      }
      const pool = new WasmThreadPool(threads, workers, control, shares, names);
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
   * Runs `kernel` once a share, at the same time: shares[0] here, the others in the workers (at
   * most one a worker; fewer shares leave the rest idle). Returns when all are done.
   */
  run(kernels: Record<string, (...args: number[]) => unknown>, kernel: string, shares: number[][]): void {
    if (this.disposed) throw new Error('wasm threads: disposed');
    const index = this.kernelIndex.get(kernel);
    if (index === undefined) throw new Error(`wasm threads: '${kernel}' is not a kernel the workers were given`);
    const helpers = this.workers.length;
    if (shares.length - 1 > helpers) throw new Error(`wasm threads: ${shares.length} shares for ${helpers + 1} threads`);
    for (let i = 0; i < helpers; i++) {
      const share = shares[i + 1];
      const at = i * SHARE_FLOATS;
      this.shares[at] = share ? share.length : 0;
      if (share) this.shares.set(share, at + 1);
    }
    Atomics.store(this.control, DONE, 0);
    Atomics.store(this.control, KERNEL, index);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    kernels[kernel](...shares[0]);
    let spins = 0;
    for (let done = Atomics.load(this.control, DONE); done < helpers; done = Atomics.load(this.control, DONE)) {
      if (this.canBlock && ++spins > SPINS) Atomics.wait(this.control, DONE, done, 50);
    }
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
