#!/usr/bin/env bash
# The CPU replications behind bench/REPLICATION.md (this 2-core machine, the tiny preset, wasm):
# character-level text with 3 seeds and every wavelet form, one seed for the other modalities (LRA's
# ListOps with short expressions; MNIST at 14 x 14). Each
# command resumes where it stopped if killed. Then the reports are regenerated from the results:
# bench/REPLICATION.md (the wavelet forms) and bench/ARCHITECTURES.md (WaveletLM against the GPTs).
# usage: bash bench/replicate.sh [OUT_ROOT]     (npm run build first)
set -euo pipefail
root=${1:-runs/replicate}
cli="node dist/cli/main.js"
common="--preset tiny --backend wasm --batch 16"
$cli replicate --dataset text8-moby --seeds 3 --steps 3000 --eval-every 150 --variants none,haar,learnable,ema $common --out "$root/text8-moby"
# the architectures: WaveletLM at the baseline's parameter count beside the GPT and WaveletGPT (Haar)
$cli replicate --dataset text8-moby --seeds 3 --steps 3000 --eval-every 150 --variants none,haar,wavelet-lm $common --out "$root/text8-moby-architectures"
$cli replicate --dataset text8-sotu --seeds 1 --steps 3000 --eval-every 150 --variants none,haar,learnable $common --out "$root/text8-sotu"
$cli replicate --dataset speech --seeds 1 --steps 3000 --eval-every 150 --variants none,haar $common --out "$root/speech"
$cli replicate --dataset midi --seeds 1 --steps 3000 --eval-every 150 --variants none,haar $common --out "$root/midi"
# classification: one class an example, so 32 evaluation batches (512 examples) for a steady measure
$cli replicate --dataset listops-short --seeds 1 --steps 3000 --eval-every 150 --eval-batches 32 --variants none,haar $common --out "$root/listops-short"
$cli replicate --dataset mnist --seeds 1 --steps 1500 --eval-every 100 --eval-batches 32 --variants none,haar $common --out "$root/mnist"
$cli replicate --dataset bpe-moby --seeds 1 --steps 300 --eval-every 30 --variants none,haar --preset tiny --backend wasm --batch 8 --eval-batches 2 --out "$root/bpe-moby"
dirs=()
for d in text8-moby text8-sotu speech midi listops-short mnist bpe-moby; do [ -f "$root/$d/results.json" ] && dirs+=("$root/$d"); done
# the H100 runs (paper-text8 preset, 1 seed), kept in the repo: see bench/replication/README.md
dirs+=(bench/replication/gpu-text8-sotu bench/replication/gpu-text8-sotu-seed2 bench/replication/gpu-text8-moby)
$cli replicate-report "${dirs[@]}" --out bench/REPLICATION.md
arch=(bench/replication/gpu-text8-moby-architectures)
[ -f "$root/text8-moby-architectures/results.json" ] && arch=("$root/text8-moby-architectures" "${arch[@]}")
$cli replicate-report "${arch[@]}" --title 'WaveletLM against the GPT and WaveletGPT at matched parameters' --out bench/ARCHITECTURES.md
