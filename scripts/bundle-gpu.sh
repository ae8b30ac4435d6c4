#!/usr/bin/env bash
# Bundles a benchmark entry for the GPU machine (../shared/gpu/README.md): one .mjs in .gpu/ with
# everything but dawn.node, which prepare.sh puts beside it. The wasm kernels travel in build/
# (carry it too); benchmarks read them from build/ under the working directory.
# usage: bash scripts/bundle-gpu.sh bench/wavelet.ts   ->  .gpu/wavelet.mjs
set -euo pipefail
entry=${1:?usage: bundle-gpu.sh ENTRY.ts}
[ -d .gpu ] || { echo "no .gpu/: run 'bash ../shared/gpu/prepare.sh' first" >&2; exit 1; }
node scripts/embed-wgsl.mjs
npx esbuild "$entry" --bundle --platform=node --format=esm --outfile=".gpu/$(basename "${entry%.ts}").mjs" \
  --external:*.node --loader:.wasm=binary --log-level=warning \
  --define:__dirname=import.meta.dirname --define:__filename=import.meta.filename \
  "--banner:js=import{createRequire as __cr}from'module';const require=__cr(import.meta.url);"
echo "bundled $entry -> .gpu/$(basename "${entry%.ts}").mjs"
