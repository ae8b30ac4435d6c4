// Bytes from a URL that cannot hang or arrive short: a connect timeout (until the response's
// headers), an idle timeout (no byte for that long), a total timeout (a server that trickles a
// byte a second beats any idle timeout), the caller's AbortSignal, and a body shorter than its
// Content-Length refused. Each failure is one line naming the URL, what happened and after how
// many bytes. fetch and streams only: the same code runs in Node, browsers, Deno and workers.

import { WaveletInputError } from '../errors.js';

export interface FetchOptions {
  /** Stops the download (and the load waiting on it). */
  signal?: AbortSignal;
  /** Milliseconds until the response's headers arrive. Default 30,000. */
  connectTimeoutMs?: number;
  /** Milliseconds the body may go without a byte. Default 30,000. */
  idleTimeoutMs?: number;
  /** Milliseconds for the whole download. Default 600,000. */
  totalTimeoutMs?: number;
  /** Called as bytes arrive: received, the total when the server declared it, and the URL (a load fetches a checkpoint and maybe an adapter). */
  onProgress?(received: number, total: number | undefined, url: string): void;
}

export async function fetchBytes(url: string, options: FetchOptions = {}): Promise<Uint8Array> {
  const { connectTimeoutMs = 30_000, idleTimeoutMs = 30_000, totalTimeoutMs = 600_000 } = options;
  const controller = new AbortController();
  let why = '';
  const stop = (reason: string) => {
    why ||= reason;
    controller.abort();
  };
  const onAbort = () => stop('aborted by the caller');
  if (options.signal?.aborted) throw new WaveletInputError(`${url}: aborted by the caller`);
  options.signal?.addEventListener('abort', onAbort);
  const total = setTimeout(() => stop(`took longer than ${totalTimeoutMs} ms in all`), totalTimeoutMs);
  let idle = setTimeout(() => stop(`no response within ${connectTimeoutMs} ms`), connectTimeoutMs);
  let received = 0;
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal });
    } catch (error) {
      throw new WaveletInputError(`${url}: ${why || `could not be fetched (${(error as Error).message})`}`);
    }
    if (!response.ok) throw new WaveletInputError(`${url}: HTTP ${response.status} ${response.statusText}`);
    const declared = response.headers.get('content-length');
    const expected = declared !== null && /^\d+$/.test(declared) ? Number(declared) : undefined;
    const restart = () => {
      clearTimeout(idle);
      idle = setTimeout(() => stop(`no data for ${idleTimeoutMs} ms`), idleTimeoutMs);
    };
    restart();
    const chunks: Uint8Array[] = [];
    const reader = response.body?.getReader();
    try {
      for (;;) {
        if (!reader) break;
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        received += value.length;
        restart();
        options.onProgress?.(received, expected, url);
      }
    } catch (error) {
      const cause = why || `the connection failed (${(error as Error).message})`;
      throw new WaveletInputError(`${url}: ${cause} after ${received}${expected !== undefined ? ` of ${expected}` : ''} bytes`);
    }
    if (expected !== undefined && received !== expected) throw new WaveletInputError(`${url}: the body ended after ${received} of ${expected} bytes (the server closed the connection)`);
    const bytes = new Uint8Array(received);
    let at = 0;
    for (const chunk of chunks) bytes.set(chunk, (at += chunk.length) - chunk.length);
    return bytes;
  } finally {
    clearTimeout(total);
    clearTimeout(idle);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
