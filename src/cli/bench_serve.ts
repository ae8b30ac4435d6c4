// `wavelet-gpt bench --serve`: the benchmark page and its bundle on 127.0.0.1, with the headers that
// make a page cross-origin isolated (so wasm runs on threads), and an endpoint that takes the report
// the page posts, checks it against the schema and saves it to --out.

import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { BackendName } from '../backends/model.js';
import { validateJson } from '../bench/validate.js';
import { benchPageHtml } from './bench_page.js';
import { packageInfo } from '../io/package_files.js';
import { reportSchema } from './bench.js';

export interface ServeSettings {
  port: number;
  out?: string;
  settings: { suite: string; backends?: BackendName[]; label?: string };
}

const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' };
const TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.map': 'application/json' };
const MAX_REPORT_BYTES = 32 * 2 ** 20;

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request) {
    bytes += (chunk as Buffer).length;
    if (bytes > MAX_REPORT_BYTES) throw new Error(`a report of more than ${MAX_REPORT_BYTES / 2 ** 20} MiB`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function serveBenchPage({ port, out, settings }: ServeSettings): Promise<void> {
  // The browser build of the suite (scripts/build-bundles.mjs), found from dist/cli or src/cli alike.
  const bundles = fileURLToPath(new URL('../../dist/bundles/browser/', import.meta.url));
  try {
    await readFile(resolve(bundles, 'bench.mjs'));
  } catch {
    throw new WaveletInputError(`bench --serve: the browser bundle is missing at ${bundles}bench.mjs; run 'npm run build'`);
  }
  const page = benchPageHtml({ ...settings, package: packageInfo() });
  const schema = reportSchema();
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, type: string, content: string | Buffer) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...ISOLATION });
      response.end(content);
    };
    try {
      if (request.method === 'POST' && url.pathname === '/report') {
        const report = JSON.parse(await body(request)) as { device?: { label?: string }; results?: unknown[] };
        const problems = validateJson(schema, report);
        if (problems.length) return send(400, 'application/json', JSON.stringify({ error: problems.slice(0, 5).join('; ') }));
        if (out) writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
        console.error(`report of ${report.device?.label}: ${report.results?.length} figures${out ? `, saved to ${out}` : ' (not saved: no --out)'}`);
        return send(200, 'application/json', JSON.stringify({ saved: out ?? null }));
      }
      if (request.method !== 'GET') return send(405, 'text/plain', 'GET or POST /report');
      if (url.pathname === '/' || url.pathname === '/index.html') return send(200, 'text/html; charset=utf-8', page);
      const file = resolve(bundles, `.${decodeURIComponent(url.pathname)}`);
      if (!file.startsWith(bundles.endsWith(sep) ? bundles : bundles + sep) || !TYPES[extname(file)]) return send(404, 'text/plain', 'not found');
      return send(200, TYPES[extname(file)], await readFile(file));
    } catch (error) {
      send((error as NodeJS.ErrnoException).code === 'ENOENT' ? 404 : 400, 'text/plain', (error as Error).message);
    }
  });
  await new Promise<void>((done, fail) => {
    server.once('error', (error: NodeJS.ErrnoException) => fail(error.code === 'EADDRINUSE' ? new WaveletInputError(`bench --serve: port ${port} is in use; pass --port N (0: any free one)`) : error));
    server.listen(port, '127.0.0.1', done);
  });
  const address = server.address();
  const listening = typeof address === 'object' && address ? address.port : port;
  console.log(`benchmark page: http://127.0.0.1:${listening}/ (open it in a browser; Ctrl-C stops)${out ? `; reports are saved to ${out}` : ''}`);
  await new Promise<void>((done) => {
    const stop = () => server.close(() => done());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
