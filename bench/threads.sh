#!/usr/bin/env bash
# The threads benchmark and its PyTorch CPU anchor in one command (same machine, same run), for
# the GPU machine's host as ../shared/gpu/README.md describes (the bundle and torch there):
#   bash bench/threads.sh [bench/threads.ts flags]      # here: node and, where torch is, python3
# With THREADS_BUNDLE=.gpu/threads.mjs (and CEILING_BUNDLE=.gpu/threads_ceiling.mjs) it runs those
# bundles instead of the sources.
set -euo pipefail
cd "$(dirname "$0")/.."
# Node 20 has relaxed SIMD (the fused multiply-add build) behind a flag; later versions by default.
relaxed=()
if node --experimental-wasm-relaxed-simd -e 0 2>/dev/null; then relaxed=(--experimental-wasm-relaxed-simd); fi
if [ -n "${THREADS_BUNDLE:-}" ]; then node --expose-gc "${relaxed[@]}" "$THREADS_BUNDLE" "$@"; else node --expose-gc "${relaxed[@]}" --import tsx bench/threads.ts "$@"; fi
# What more cores can give at most here: independent one-thread steps, one a worker (CEILING_BUNDLE: its bundle).
if [ -n "${CEILING_BUNDLE:-}" ]; then node "${relaxed[@]}" "$CEILING_BUNDLE"; else node "${relaxed[@]}" --import tsx bench/threads_ceiling.ts; fi
if python3 -c 'import torch' 2>/dev/null; then
  (cd bench/anchors && python3 torch_cpu.py)
else
  echo '{"anchor": "torch cpu", "skipped": "no torch here"}'
fi
