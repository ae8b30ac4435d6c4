#!/usr/bin/env bash
# The WebGPU training benchmark of issue #12, on a GPU machine, in one command: PyTorch's step
# (torch_gpt.py, eager and torch.compile) for three models, torch.matmul at the step's product
# shapes, then ours: matmul.wgsl at those shapes, a training step of each model with its GPU-time
# profile and memory, and the wavelet forms' cost interleaved. With .gpu/train_before.mjs (the same
# bench/train.ts bundled from an older commit) the older engine runs beside it.
# Here:  bash ../shared/gpu/prepare.sh; bash scripts/bundle-gpu.sh bench/train.ts;
#        bash scripts/bundle-gpu.sh bench/matmul.ts; cp bench/anchors/torch_matmul.py bench/anchors/cuda_timing.py bench/gpu_training.sh .gpu/
# There (carry .gpu and build): source .gpu/prelude.sh && bash .gpu/gpu_training.sh OUT_DIR
set -uo pipefail
out=${1:?usage: gpu_training.sh OUT_DIR}
mkdir -p "$out"
cp -r build .gpu/ 2>/dev/null
cd .gpu
timeout 100 python3 torch_gpt.py > "$out/torch_paper.jsonl"
LAYERS=6 EMBD=384 FF=1536 HEADS=6 CTX=512 VOCAB=256 HEAD_DENSE=0 BATCH=16 timeout 100 python3 torch_gpt.py > "$out/torch_6x384.jsonl"
LAYERS=12 EMBD=768 FF=3072 HEADS=12 CTX=1024 VOCAB=50257 HEAD_DENSE=0 BATCH=8 timeout 150 python3 torch_gpt.py > "$out/torch_gpt2.jsonl"
node matmul.mjs --list | python3 torch_matmul.py > "$out/torch_matmul.jsonl"
timeout 150 node matmul.mjs --tilings auto,128x64/8x4/16+unroll --anchor "$out/torch_matmul.jsonl" --peak-tflops 67 --out "$out/matmul.json" 2> "$out/matmul.log"
declare -A models=(
  [paper-text8]="--preset paper-text8 --batch 32"
  [6x384]="--preset paper-text8 --set layers=6,width=384,heads=6,feedForward=1536,vocabSize=256,headDense=0 --batch 16"
  [gpt2-124m]="--preset paper-text8 --set layers=12,width=768,heads=12,feedForward=3072,context=1024,vocabSize=50257,headDense=0 --batch 8"
)
for name in paper-text8 6x384 gpt2-124m; do
  for engine in before after; do
    bundle=$([ $engine = before ] && echo train_before.mjs || echo train.mjs)
    [ -f $bundle ] || continue
    timeout 80 node $bundle ${models[$name]} --backends webgpu --wavelet none --profile --memory-steps 2 --out "$out/train-$name-$engine.json" 2> "$out/train-$name-$engine.log"
  done
done
timeout 100 node train.mjs --preset paper-text8 --batch 32 --backends webgpu --wavelet none,haar,learnable,ema --interleave --out "$out/wavelet-costs-paper-text8.json" 2> "$out/wavelet-costs.log"
