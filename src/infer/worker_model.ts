// A model in a worker, used from the page (or a Node thread) as a WaveletModel is: the weights
// load and the tokens are computed in the worker, and each token arrives as a message of its own,
// so the page's thread stays free to paint between them. Generation is cancelled by an
// AbortSignal; dispose() frees the model and ends the worker.
//
//   const model = await createWorkerModel(new Worker('/model-worker.js', { type: 'module' }), '/checkpoint.safetensors');
//   for await (const { text } of model.generate('Call me ', { maxTokens: 200 })) output.textContent += text;
//
// with /model-worker.js being `import { serveModel } from 'wavelet-gpt/bundle'; serveModel();`.

import { BackendUnavailableError, TokenizerInputError, WaveletInputError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import { collectTexts, type GeneratedToken, type GenerateOptions } from './model.js';
import { listen, listenForFailure, type FromWorker, type LoadedModel, type MessageEndpoint, type ToWorker, type WorkerLoadOptions } from './worker_protocol.js';

export interface WorkerModelOptions extends WorkerLoadOptions {
  /** Stops the load. */
  signal?: AbortSignal;
  /** Bytes of each file as they arrive (the checkpoint, and an adapter), with the total when known. */
  onProgress?(received: number, total: number | undefined, file: string): void;
}

/** A worker, as the page or Node holds it: it can be ended. */
export type WorkerLike = MessageEndpoint & { terminate?(): unknown };

/** The error the worker sent, as the class it was there (so that `instanceof` and the CLI's one-line form work). */
function rebuild(message: { name: string; message: string }): Error {
  const classes: Record<string, new (text: string) => Error> = { WaveletInputError, BackendUnavailableError, TokenizerInputError };
  if (message.name === 'AbortError') return new DOMException(message.message, 'AbortError');
  const error = new (classes[message.name] ?? Error)(message.message);
  if (!classes[message.name]) error.name = message.name;
  return error;
}

/** Loads `source` (a URL, or the checkpoint's bytes, which are moved to the worker) in `worker`, which runs serveModel(). */
export async function createWorkerModel(worker: WorkerLike, source: Uint8Array | ArrayBuffer | URL | string, options: WorkerModelOptions = {}): Promise<WorkerModel> {
  const { signal, onProgress, ...load } = options;
  const model = new WorkerModel(worker);
  const loaded = new Promise<LoadedModel>((resolve, reject) => {
    model.onLoad = (message) => {
      if (message.kind === 'progress') onProgress?.(message.received, message.total, message.file);
      else if (message.kind === 'loaded') resolve(message.model);
      else if (message.kind === 'error') reject(rebuild(message));
    };
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  const given = source instanceof ArrayBuffer ? new Uint8Array(source) : source;
  // Bytes are moved, not copied; a view into a larger buffer (Node's pooled Buffers) is copied first.
  const bytes = given instanceof Uint8Array && (given.byteOffset !== 0 || given.byteLength !== given.buffer.byteLength) ? given.slice() : given;
  const sent = bytes instanceof Uint8Array ? bytes : String(source);
  // A URL relative to the page means the same in the worker only if resolved here.
  const resolved = typeof sent === 'string' && typeof location !== 'undefined' && !/^[a-z]+:/i.test(sent) ? new URL(sent, location.href).href : sent;
  model.send({ kind: 'load', source: resolved, options: load }, bytes instanceof Uint8Array ? [bytes.buffer as ArrayBuffer] : []);
  try {
    model.loaded(await loaded);
  } catch (error) {
    model.terminate(); // an aborted or failed load: the worker (and its download) ends now
    throw error;
  }
  return model;
}

export class WorkerModel {
  config!: ModelConfig;
  /** The backend generating in the worker. */
  backend!: LoadedModel['backend'];
  /** Why that backend (backend 'auto'). */
  reason: string | undefined;
  /** @internal the load's messages, until it is done */
  onLoad: ((message: FromWorker) => void) | undefined;
  private readonly streams = new Map<number, (message: FromWorker) => void>();
  private nextId = 0;
  private disposed: Promise<void> | undefined;
  private readonly stop: () => void;
  private onDisposed: (() => void) | undefined;

  /** @internal made by createWorkerModel */
  constructor(private readonly worker: WorkerLike) {
    const stopMessages = listen<FromWorker>(worker, (message) => {
      if (message.kind === 'disposed') return this.onDisposed?.();
      if ('id' in message && message.id !== undefined) return this.streams.get(message.id)?.(message);
      this.onLoad?.(message);
    });
    // A worker that fails fails the load and every generation waiting on it, and says so.
    const stopFailures = listenForFailure(worker, (error) => {
      this.failure = error;
      const failed: FromWorker = { kind: 'error', name: error.name, message: error.message };
      this.onLoad?.(failed);
      for (const [id, stream] of this.streams) stream({ ...failed, id });
      this.onDisposed?.();
    });
    this.stop = () => {
      stopMessages();
      stopFailures();
    };
  }

  /** Why the worker failed, once it has. */
  failure: Error | undefined;

  /** @internal */
  send(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  /** @internal */
  loaded(model: LoadedModel): void {
    [this.config, this.backend, this.reason] = [model.config, model.backend, model.reason];
    this.onLoad = undefined;
  }

  /** Streams the continuation of one or several prompts, each token as the worker makes it. */
  async *generate(prompt: string | string[], options: GenerateOptions = {}): AsyncGenerator<GeneratedToken> {
    if (this.failure) throw this.failure;
    if (this.disposed) throw new Error('worker model: disposed');
    const { signal, ...rest } = options;
    signal?.throwIfAborted();
    const id = this.nextId++;
    const queue: FromWorker[] = [];
    let wake: (() => void) | undefined;
    this.streams.set(id, (message) => {
      queue.push(message);
      wake?.();
    });
    const abort = () => this.send({ kind: 'abort', id });
    signal?.addEventListener('abort', abort, { once: true });
    let finished = false;
    try {
      this.send({ kind: 'generate', id, prompt, options: rest });
      for (;;) {
        if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        const message = queue.shift()!;
        if (message.kind === 'token') yield message.token;
        else if (message.kind === 'done') return void (finished = true);
        else if (message.kind === 'error') {
          finished = true;
          throw signal?.aborted ? signal.reason : rebuild(message);
        }
      }
    } finally {
      // A caller that stops reading (break) stops the worker too.
      if (!finished) abort();
      signal?.removeEventListener('abort', abort);
      this.streams.delete(id);
    }
  }

  /** The generated text of each prompt. */
  async complete(prompt: string, options?: GenerateOptions): Promise<string>;
  async complete(prompt: string[], options?: GenerateOptions): Promise<string[]>;
  async complete(prompt: string | string[], options: GenerateOptions = {}): Promise<string | string[]> {
    return collectTexts(prompt, this.generate(prompt, options));
  }

  /** Ends the worker at once, without waiting for the model in it to be freed (the worker's memory goes with it). */
  terminate(): void {
    this.disposed ??= Promise.resolve();
    this.stop();
    this.worker.terminate?.();
  }

  /** Frees the model in the worker (its GPU buffers and wasm memory), then ends the worker. */
  dispose(): Promise<void> {
    this.disposed ??= new Promise<void>((resolve) => {
      this.onDisposed = resolve;
      if (this.failure) resolve();
      else this.send({ kind: 'dispose' });
    }).then(() => {
      this.stop();
      this.worker.terminate?.();
    });
    return this.disposed;
  }
}
