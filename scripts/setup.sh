#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs: Chromium (whose SwiftShader gives WebGPU a
# software Vulkan driver where no GPU is) and the Vulkan loader from apt, then `npm ci`, which
# builds the AssemblyScript kernels and the TypeScript. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f /usr/lib/chromium/vk_swiftshader_icd.json ] || ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium libvulkan1 >/dev/null
  else
    echo "setup: WebGPU without a GPU needs Debian's chromium and libvulkan1: run 'sudo apt-get install -y chromium libvulkan1'" >&2
  fi
fi
npm ci --no-audit --no-fund
