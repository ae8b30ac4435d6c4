// Loading from a URL cannot hang or arrive short: a local server that never answers, stalls
// mid-body, trickles, closes mid-body or lies about its length; each ends in one line naming the
// URL and what happened, within its timeout, and an AbortSignal stops a download at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type ServerResponse } from 'node:http';
import { fetchBytes } from '../../src/io/fetch_bytes.js';
import { WaveletModel } from '../../src/infer/model.js';

const body = new Uint8Array(4096).map((_, i) => i % 251);
const open = new Set<ServerResponse>();
const server = createServer((request, response) => {
  open.add(response);
  response.on('close', () => open.delete(response));
  const send = (bytes: Uint8Array, length = bytes.length) => response.writeHead(200, { 'content-length': String(length) }).write(bytes);
  switch (request.url) {
    case '/whole': return void response.end(body);
    case '/silent': return; // never answers
    case '/stall': return void send(body.subarray(0, 100), body.length); // headers, 100 bytes, then nothing
    case '/cut': send(body.subarray(0, 100), body.length); return void setTimeout(() => response.destroy(), 20); // closes mid-body
    case '/short': return void response.writeHead(200, { 'content-length': '5000' }).end(body); // 904 bytes short; the socket stays open
    case '/trickle': {
      send(new Uint8Array(1), body.length);
      const timer = setInterval(() => (response.writableEnded ? clearInterval(timer) : response.write(new Uint8Array(1))), 10);
      return void response.on('close', () => clearInterval(timer));
    }
    default: return void response.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

/** The error of `promise` and how long it took to come. */
async function failure(promise: Promise<unknown>): Promise<[string, number]> {
  const started = performance.now();
  const error = await promise.then(() => undefined, (e: Error) => e);
  if (!error) assert.unreachable('it succeeded');
  return [error!.message, performance.now() - started];
}

test('a whole body, with progress; a 404 named', async () => {
  const progress: [number, number | undefined][] = [];
  const bytes = await fetchBytes(`${base}/whole`, { onProgress: (received, total) => progress.push([received, total]) });
  assert.equal(bytes, body);
  assert.equal(progress.at(-1), [4096, 4096]);
  const [message] = await failure(fetchBytes(`${base}/nothing`));
  assert.match(message, /\/nothing: HTTP 404/);
});

test('each way a server can fail ends within its timeout in one line', async () => {
  const cases: [string, object, RegExp, number][] = [
    ['/silent', { connectTimeoutMs: 200 }, /\/silent: no response within 200 ms/, 200],
    ['/stall', { idleTimeoutMs: 200 }, /\/stall: no data for 200 ms after 100 of 4096 bytes/, 200],
    ['/trickle', { idleTimeoutMs: 200, totalTimeoutMs: 300 }, /\/trickle: took longer than 300 ms in all after \d+ of 4096 bytes/, 300],
    ['/cut', {}, /\/cut: (the connection failed \(.*\) after 100 of 4096 bytes|the body ended after 100 of 4096 bytes)/, 0],
    ['/short', { idleTimeoutMs: 300 }, /\/short: (the connection failed \(terminated\)|the body ended|no data for 300 ms) after 4096 of 5000 bytes/, 0],
  ];
  for (const [path, options, pattern, bound] of cases) {
    const [message, ms] = await failure(fetchBytes(`${base}${path}`, options));
    assert.match(message, pattern);
    assert.ok(ms >= bound - 5 && ms < bound + 2000, `${path}: ${ms.toFixed(0)} ms against a timeout of ${bound}`);
  }
});

test('an AbortSignal stops a download, and a model load, at once', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const [message, ms] = await failure(fetchBytes(`${base}/stall`, { signal: controller.signal }));
  assert.match(message, /\/stall: aborted by the caller after 100 of 4096 bytes/);
  assert.ok(ms < 1000, `${ms} ms`);
  const [loadMessage] = await failure(WaveletModel.load(`${base}/silent`, { signal: AbortSignal.timeout(50) }));
  assert.match(loadMessage, /\/silent: aborted by the caller/);
  const [early] = await failure(fetchBytes(`${base}/whole`, { signal: AbortSignal.abort() }));
  assert.match(early, /aborted by the caller/);
});

test.after(() => {
  for (const response of open) response.destroy();
  server.close();
});

test.run();
