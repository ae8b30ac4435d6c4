// Downloads kept in the browser's Cache API (as transformers.js keeps its models), so that a page
// opened again loads its checkpoint without the network. Keyed by URL; a response is stored only
// once it has arrived whole (fetch_bytes.ts checks its length). Where there is no Cache API (Node,
// an insecure page) caching is off, and asking for it is an error rather than ignored.

import { WaveletInputError } from '../errors.js';
import { fetchBytes, type FetchOptions } from './fetch_bytes.js';

/** The cache's name: one for every model this package downloads. */
export const MODEL_CACHE = 'wavelet-gpt-models';

export function cacheAvailable(): boolean {
  return typeof caches !== 'undefined' && typeof caches.open === 'function';
}

/**
 * The bytes at `url`: from the cache when it holds them, else downloaded and stored.
 * `cache`: true (needs the Cache API), false (the network only), or undefined: where available.
 */
export async function fetchCached(url: string, options: FetchOptions & { cache?: boolean }): Promise<Uint8Array> {
  if (options.cache === true && !cacheAvailable()) throw new WaveletInputError(`cache: this runtime has no Cache API (a browser page served over https or from localhost has one); leave 'cache' out to download ${url} without it`);
  // The Cache API keeps http(s) responses only; data: and blob: URLs are in memory already.
  if (options.cache === false || !cacheAvailable() || !/^https?:/.test(url)) return fetchBytes(url, options);
  const store = await caches.open(MODEL_CACHE);
  const hit = await store.match(url);
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    options.onProgress?.(bytes.length, bytes.length, url);
    return bytes;
  }
  const bytes = await fetchBytes(url, options);
  await store.put(url, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) } }));
  return bytes;
}

/** Removes every download kept (or, given URLs, those alone); resolves to how many entries went. */
export async function clearModelCache(urls?: readonly (string | URL)[]): Promise<number> {
  if (!cacheAvailable()) return 0;
  if (!urls) {
    const store = await caches.open(MODEL_CACHE);
    const count = (await store.keys()).length;
    await caches.delete(MODEL_CACHE);
    return count;
  }
  const store = await caches.open(MODEL_CACHE);
  let count = 0;
  for (const url of urls) if (await store.delete(String(url))) count++;
  return count;
}
