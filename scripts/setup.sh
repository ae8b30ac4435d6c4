#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs, from apt: Chromium (whose SwiftShader gives
# WebGPU a software Vulkan driver where no GPU is) and the Vulkan loader; espeak-ng (speech for
# the audio tokenizer) and openttd-openmsx (MIDI files for the MIDI tokenizer); python3-torch
# (PyTorch 1.13 on the CPU, for the tests that hold python/ to the npm package: about 40 s). Then `npm ci`,
# which builds the AssemblyScript kernels and the TypeScript, and, on x64 Linux, the runtimes the
# bundle tests run in (workerd, Deno, Bun: their npm platform packages, kept out of package.json so
# that a library user does not install 350 MB of test runtimes). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
packages="chromium libvulkan1 espeak-ng openttd-openmsx python3-torch"
missing=""
for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "setup: missing Debian packages:$missing; run 'sudo apt-get install -y$missing'" >&2
  fi
fi
# onnxruntime-node (a test oracle) would download CUDA binaries where npm runs install scripts: its CPU build is all the tests use.
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
if [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
  npm install --no-save --no-audit --no-fund @cloudflare/workerd-linux-64@1.20261117.1 @deno/linux-x64-glibc@2.9.6 @oven/bun-linux-x64@1.4.5
fi
