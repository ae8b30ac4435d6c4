// The messages between a page (or a Node thread) and a model in a worker (worker_model.ts,
// worker_host.ts), and the one way both sides listen: a Web Worker, a worker's own scope and
// MessagePorts are EventTargets; Node's Worker and parentPort are EventEmitters.

import type { GeneratedToken, GenerateOptions } from './model.js';

/** What the worker loads with: LoadOptions that cross a thread (no callbacks, devices or signals; those have messages of their own). */
export interface WorkerLoadOptions {
  backend?: 'auto' | 'webgpu' | 'wasm' | 'js';
  chooseBudgetMs?: number;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  totalTimeoutMs?: number;
  cache?: boolean;
  adapter?: Uint8Array | ArrayBuffer | string;
}

export type SerializableGenerateOptions = Omit<GenerateOptions, 'signal'>;

export type ToWorker =
  | { kind: 'load'; source: Uint8Array | ArrayBuffer | string; options: WorkerLoadOptions }
  | { kind: 'generate'; id: number; prompt: string | string[]; options: SerializableGenerateOptions }
  | { kind: 'abort'; id: number }
  | { kind: 'dispose' };

export interface LoadedModel {
  config: import('../model/config.js').ModelConfig;
  backend: 'webgpu' | 'wasm' | 'js';
  /** Why the backend was chosen (backend 'auto'), as BackendChoice.reason says. */
  reason?: string;
}

export type FromWorker =
  | { kind: 'progress'; received: number; total: number | undefined; file: string }
  | { kind: 'loaded'; model: LoadedModel }
  | { kind: 'token'; id: number; token: GeneratedToken }
  | { kind: 'done'; id: number }
  | { kind: 'error'; id?: number; name: string; message: string }
  | { kind: 'disposed' };

/** Either face of a channel to or from a worker. */
export interface MessageEndpoint {
  /** (Node's transfer list and the DOM's differ in type; both take the buffers given.) */
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  addEventListener?(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener?(type: 'message', listener: (event: MessageEvent) => void): void;
  addEventListener?(type: 'error', listener: (event: ErrorEvent) => void): void;
  removeEventListener?(type: 'error', listener: (event: ErrorEvent) => void): void;
  on?(type: 'message' | 'error', listener: (data: unknown) => void): unknown;
  off?(type: 'message' | 'error', listener: (data: unknown) => void): unknown;
}

/** Calls `handle` with each message's data; returns how to stop listening. */
export function listen<Message>(endpoint: MessageEndpoint, handle: (message: Message) => void): () => void {
  if (typeof endpoint.on === 'function') {
    const listener = (data: unknown) => handle(data as Message);
    endpoint.on('message', listener);
    return () => endpoint.off?.('message', listener);
  }
  if (typeof endpoint.addEventListener !== 'function') throw new TypeError('expected a Worker, a worker scope or a MessagePort (postMessage and message events)');
  const listener = (event: MessageEvent) => handle(event.data as Message);
  endpoint.addEventListener('message', listener);
  // A MessagePort delivers nothing until started (a Worker and a worker scope need no start).
  (endpoint as { start?: () => void }).start?.();
  return () => endpoint.removeEventListener?.('message', listener);
}

/** Calls `handle` when the worker itself fails (its script does not load, an error nothing caught); returns how to stop listening. */
export function listenForFailure(worker: MessageEndpoint, handle: (error: Error) => void): () => void {
  if (typeof worker.on === 'function') {
    const listener = (error: unknown) => handle(error instanceof Error ? error : new Error(String(error)));
    worker.on('error', listener);
    return () => worker.off?.('error', listener);
  }
  if (typeof worker.addEventListener !== 'function') return () => {};
  const listener = (event: ErrorEvent) => {
    event.preventDefault?.();
    handle(new Error(`the model's worker failed: ${event.message || 'its script did not load (a wrong URL, or not a module worker: new Worker(url, { type: "module" }))'}`));
  };
  worker.addEventListener('error', listener);
  return () => worker.removeEventListener?.('error', listener);
}
