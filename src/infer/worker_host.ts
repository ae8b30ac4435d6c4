// The worker's side of a model in a worker: loads the checkpoint it is sent, streams each
// generated token back as its own message (so the page paints between them), stops a generation
// when asked, and frees the model on dispose. A worker script is one call:
//   import { serveModel } from 'wavelet-gpt/bundle';    // a Web Worker: serveModel() serves `self`
//   serveModel();
//   import { parentPort } from 'node:worker_threads';  // a Node worker
//   import { serveModel } from 'wavelet-gpt'; serveModel(parentPort);

import { WaveletModel, type LoadOptions } from './model.js';
import { listen, type FromWorker, type MessageEndpoint, type ToWorker } from './worker_protocol.js';

export type ModelLoader = (source: Uint8Array | ArrayBuffer | string, options: LoadOptions) => Promise<WaveletModel>;

/** Serves a model over `endpoint` (a worker's scope by default) with `load` (WaveletModel.load, or the bundle's loadModel). */
export function serveModelWith(load: ModelLoader, endpoint: MessageEndpoint = globalThis as unknown as MessageEndpoint): void {
  const send = (message: FromWorker) => endpoint.postMessage(message);
  const failure = (error: unknown, id?: number): FromWorker => ({ kind: 'error', id, name: (error as Error)?.name ?? 'Error', message: (error as Error)?.message ?? String(error) });
  let model: Promise<WaveletModel> | undefined;
  const running = new Map<number, AbortController>();
  listen<ToWorker>(endpoint, async (message) => {
    switch (message.kind) {
      case 'load': {
        if (model) return send(failure(new Error('this worker already serves a model; make one worker per model')));
        const { source, options } = message;
        model = load(source, { ...options, onProgress: (received, total, file) => send({ kind: 'progress', received, total, file }) });
        try {
          const loaded = await model;
          send({ kind: 'loaded', model: { config: loaded.config, backend: loaded.backend, reason: loaded.choice?.reason } });
        } catch (error) {
          send(failure(error));
        }
        return;
      }
      case 'generate': {
        const controller = new AbortController();
        running.set(message.id, controller);
        try {
          if (!model) throw new Error('generate before load');
          for await (const token of (await model).generate(message.prompt, { ...message.options, signal: controller.signal })) send({ kind: 'token', id: message.id, token });
          send({ kind: 'done', id: message.id });
        } catch (error) {
          send(failure(error, message.id));
        } finally {
          running.delete(message.id);
        }
        return;
      }
      case 'abort':
        running.get(message.id)?.abort();
        return;
      case 'dispose':
        for (const controller of running.values()) controller.abort();
        try {
          (await model)?.dispose();
        } catch {
          // a model that failed to load holds nothing
        }
        send({ kind: 'disposed' });
    }
  });
}

/** Serves a model loaded by WaveletModel.load over `endpoint` (a worker's scope by default; Node: parentPort). */
export function serveModel(endpoint?: MessageEndpoint): void {
  serveModelWith((source, options) => WaveletModel.load(source, options), endpoint);
}
