// Inlines GPT-2's BPE table into dist/tokenizers/gpt2_ranks.js, then builds the portable
// inference bundles into dist/bundles/ with esbuild, the wasm inlined:
//   node/wavelet-gpt.mjs (Node), browser/wavelet-gpt.mjs (browsers, Deno, Bun: ESM, no Node
//   built-ins), worker/wavelet-gpt.mjs (workers: the browser build for a neutral platform).
// GPT-2's BPE table (half a megabyte) is split into a chunk beside each, fetched only by a BPE
// model. Prints the entry's size, raw and gzipped (also in dist/bundles/sizes.json).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { buildInfo } from './build-info.mjs';

// GPT-2's table inlined into the library's own module (dist/tokenizers/gpt2_ranks.js, which tsc
// wrote as a re-export of js-tiktoken): js-tiktoken is then needed at build time only.
await build({ entryPoints: ['src/tokenizers/gpt2_ranks.ts'], bundle: true, format: 'esm', outfile: 'dist/tokenizers/gpt2_ranks.js', allowOverwrite: true, logLevel: 'warning' });

// Browsers, Deno and workers never reach the Node-only paths (files, Dawn), which are behind
// runtime checks; their builds get a module in place of each Node import that throws if ever
// called, so that a consumer's bundler finds no `node:` or `webgpu` import to resolve.
const nodeOnly = {
  name: 'node-only',
  setup(build) {
    build.onResolve({ filter: /^(node:.*|webgpu)$/ }, (args) => ({ path: args.path, namespace: 'node-only' }));
    build.onLoad({ filter: /.*/, namespace: 'node-only' }, (args) => ({
      contents: `const unavailable = () => { throw new Error(${JSON.stringify(`${args.path} is Node-only; this build of wavelet-gpt is for browsers, Deno and workers`)}); };\nexport default new Proxy({}, { get: unavailable });\nexport const readFile = unavailable, stat = unavailable;`,
      loader: 'js',
    }));
  },
};
const targets = [
  { name: 'node', platform: 'node', external: ['node:*', 'webgpu'] }, // Dawn for Node: found in node_modules when asked for
  { name: 'browser', platform: 'browser', plugins: [nodeOnly] },
  { name: 'worker', platform: 'neutral', mainFields: ['browser', 'module', 'main'], conditions: ['worker', 'browser'], plugins: [nodeOnly] },
];
mkdirSync('dist/bundles', { recursive: true });
const stamp = buildInfo();
const sizes = {};
for (const { name, ...options } of targets) {
  const outdir = `dist/bundles/${name}`;
  rmSync(outdir, { recursive: true, force: true }); // no chunk of an earlier build is left to ship
  const outfile = `${outdir}/wavelet-gpt.mjs`;
  await build({
    entryPoints: { 'wavelet-gpt': 'bundles/inference.ts', bench: 'bundles/bench.ts' },
    bundle: true,
    format: 'esm',
    minify: true,
    splitting: true,
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    loader: { '.wasm': 'binary' },
    logLevel: 'warning',
    target: 'es2022', // esbuild then decodes the inlined wasm itself (Node 20 has no Uint8Array.fromBase64)
    define: { __WAVELET_GPT_BUILD__: JSON.stringify(stamp) }, // the version and commit a bench report names
    ...options,
  });
  for (const file of [outfile, `${outdir}/bench.mjs`]) {
    const bytes = readFileSync(file);
    sizes[file] = { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  }
}
writeFileSync('dist/bundles/sizes.json', JSON.stringify(sizes, null, 2) + '\n');
// The bundles' types: those of the library's own declarations (the bundle is WaveletModel with the kernels inlined).
writeFileSync('dist/bundles/wavelet-gpt.d.ts', [
  '/// <reference types="@webgpu/types" />',
  '// Types of wavelet-gpt/bundle (scripts/build-bundles.mjs): WaveletModel with its kernels inlined.',
  "import type { LoadOptions, WaveletModel } from '../infer/model.js';",
  "export { WaveletModel, WaveletGPT, type LoadOptions, type GenerateOptions, type GeneratedToken } from '../infer/model.js';",
  "export { wasmSimdSupported } from '../runtime/wasm.js';",
  '/** WaveletModel.load with the inlined kernels (unless `options` names others). */',
  'export declare function loadModel(source: Uint8Array | ArrayBuffer | URL | string, options?: LoadOptions): Promise<WaveletModel>;',
  "export { createWorkerModel, WorkerModel, type WorkerModelOptions } from '../infer/worker_model.js';",
  "export { clearModelCache } from '../io/model_cache.js';",
  "import type { MessageEndpoint } from '../infer/worker_protocol.js';",
  '/** Serves a model in a worker (a Web Worker\'s scope by default) for createWorkerModel, loaded with the inlined kernels. */',
  'export declare function serveModel(endpoint?: MessageEndpoint): void;',
  '',
].join('\n'));
writeFileSync('dist/bundles/bench.d.ts', [
  '// Types of wavelet-gpt/bench (scripts/build-bundles.mjs): the benchmark suite with its kernels inlined.',
  "import type { BenchOptions, BenchReport } from '../bench/runner.js';",
  '/** runBenchmarks with the inlined kernels (unless `options.devices` names others) and this build named in the report. */',
  'export declare function runBenchmarks(options?: BenchOptions): Promise<BenchReport>;',
  "export { compareReports, formatValue } from '../bench/compare.js';",
  "export { comparisonHtml } from '../bench/report_html.js';",
  "export { SUITE_NAMES, SUITE_VERSION } from '../bench/suite.js';",
  "export type { BenchOptions, BenchProgress, BenchReport, BenchResult } from '../bench/runner.js';",
  '',
].join('\n'));
for (const [name, { bytes, gzip }] of Object.entries(sizes)) console.log(`${name}: ${(bytes / 1024).toFixed(0)} KiB, ${(gzip / 1024).toFixed(0)} KiB gzipped`);
