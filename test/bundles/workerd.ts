// The worker example (examples/worker/worker.mjs) served by workerd on 127.0.0.1: its site built
// from the worker bundle, a checkpoint and the two wasm modules, and the process started and
// waited for. Shared by the runtimes test and bench/worker_load.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

export interface WorkerdServer {
  url: string;
  child: ChildProcess;
  /** What workerd printed so far. */
  log(): string;
  post(body: string): Promise<Response>;
  stop(): void;
}

/** workerd's binary from its npm platform package, on x64 Linux (undefined elsewhere). */
export function workerdBinary(root: string): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const binary = join(root, 'node_modules', '@cloudflare', 'workerd-linux-64', 'bin', 'workerd');
  return existsSync(binary) ? binary : undefined;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export async function waitFor<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not ready after ${seconds} s (${String(last)})`);
}

/** Serves the worker example with `checkpoint` from `site` (a fresh folder), V8 started with `v8Flags`; resolves once it answers. */
export async function startWorkerd(workerd: string, root: string, site: string, checkpoint: string, v8Flags: string[] = []): Promise<WorkerdServer> {
  cpSync(join(root, 'dist', 'bundles', 'worker'), site, { recursive: true });
  copyFileSync(join(root, 'examples', 'worker', 'worker.mjs'), join(site, 'worker.mjs'));
  copyFileSync(checkpoint, join(site, 'checkpoint.bin'));
  for (const wasm of ['wavelet.wasm', 'tokenizers.wasm']) copyFileSync(join(root, 'build', wasm), join(site, wasm));
  const chunks = readdirSync(join(site, 'chunks')).map((file) => `chunks/${file}`);
  const port = await freePort();
  const modules = [
    `(name = "worker.mjs", esModule = embed "worker.mjs")`,
    `(name = "wavelet-gpt.mjs", esModule = embed "wavelet-gpt.mjs")`,
    ...chunks.map((c) => `(name = "${c}", esModule = embed "${c}")`),
    `(name = "checkpoint.bin", data = embed "checkpoint.bin")`,
    `(name = "wavelet.wasm", wasm = embed "wavelet.wasm")`,
    `(name = "tokenizers.wasm", wasm = embed "tokenizers.wasm")`,
  ];
  writeFileSync(join(site, 'config.capnp'), [
    'using Workerd = import "/workerd/workerd.capnp";',
    `const config :Workerd.Config = (services = [(name = "main", worker = .worker)], sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")]${v8Flags.length ? `, v8Flags = ${JSON.stringify(v8Flags)}` : ''});`,
    `const worker :Workerd.Worker = (modules = [${modules.join(', ')}], compatibilityDate = "2024-09-01");`,
  ].join('\n'));
  const child = spawn(workerd, ['serve', join(site, 'config.capnp')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}/`;
  const server: WorkerdServer = {
    url,
    child,
    log: () => log,
    post: (body) => fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
    stop: () => void child.kill(),
  };
  try {
    await waitFor('workerd', 30, async () => ((await fetch(url)).status === 405 ? true : undefined));
  } catch (error) {
    child.kill();
    throw new Error(`${(error as Error).message}; workerd said: ${log}`);
  }
  return server;
}
