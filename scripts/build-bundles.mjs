// Inlines GPT-2's BPE table into dist/tokenizers/gpt2_ranks.js, then builds the portable
// inference bundles into dist/bundles/ with esbuild, the wasm inlined:
//   node/wavelet-gpt.mjs (Node), browser/wavelet-gpt.mjs (browsers, Deno, Bun: ESM, no Node
//   built-ins), worker/wavelet-gpt.mjs (workers: the browser build for a neutral platform).
// GPT-2's BPE table (half a megabyte) is split into a chunk beside each, fetched only by a BPE
// model. Prints the entry's size, raw and gzipped (also in dist/bundles/sizes.json).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

// GPT-2's table inlined into the library's own module (dist/tokenizers/gpt2_ranks.js, which tsc
// wrote as a re-export of js-tiktoken): js-tiktoken is then needed at build time only.
await build({ entryPoints: ['src/tokenizers/gpt2_ranks.ts'], bundle: true, format: 'esm', outfile: 'dist/tokenizers/gpt2_ranks.js', allowOverwrite: true, logLevel: 'warning' });

const targets = [
  { name: 'node', platform: 'node' },
  { name: 'browser', platform: 'browser' },
  { name: 'worker', platform: 'neutral', mainFields: ['browser', 'module', 'main'], conditions: ['worker', 'browser'] },
];
mkdirSync('dist/bundles', { recursive: true });
const sizes = {};
for (const { name, ...options } of targets) {
  const outdir = `dist/bundles/${name}`;
  const outfile = `${outdir}/wavelet-gpt.mjs`;
  await build({
    entryPoints: { 'wavelet-gpt': 'bundles/inference.ts' },
    bundle: true,
    format: 'esm',
    minify: true,
    splitting: true,
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    loader: { '.wasm': 'binary' },
    external: ['node:*', 'webgpu'], // Dawn for Node: found in node_modules when asked for; browsers have navigator.gpu
    logLevel: 'warning',
    target: 'es2022', // esbuild then decodes the inlined wasm itself (Node 20 has no Uint8Array.fromBase64)
    ...options,
  });
  const bytes = readFileSync(outfile);
  sizes[outfile] = { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}
writeFileSync('dist/bundles/sizes.json', JSON.stringify(sizes, null, 2) + '\n');
for (const [name, { bytes, gzip }] of Object.entries(sizes)) console.log(`${name}: ${(bytes / 1024).toFixed(0)} KiB, ${(gzip / 1024).toFixed(0)} KiB gzipped`);
