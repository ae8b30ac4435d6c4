"""Anchor for bench/subgroup_matrix.ts on a CUDA machine: for each shape (JSON lines of its --list
on stdin), torch._int_mm (cuBLASLt's int8 tensor-core product, int32 results) on A (M, K) int8 and
B^T with B stored (N, K), as the WGSL kernels read them, and torch.matmul fp32 with TF32 off (the
CUDA cores: what our fp32 kernel is compared with) at the same sizes. Prints one JSON line a shape."""
import json, sys
import torch
from cuda_timing import timed

torch.backends.cuda.matmul.allow_tf32 = False


for line in sys.stdin:
    if not line.startswith('{'):
        continue
    s = json.loads(line)
    M, N, K = s['M'], s['N'], s['K']
    a = torch.randint(-127, 128, (M, K), device='cuda', dtype=torch.int8)
    b = torch.randint(-127, 128, (N, K), device='cuda', dtype=torch.int8)
    int8_ms = timed(lambda: torch._int_mm(a, b.t()))
    af, bf = torch.randn(M, K, device='cuda'), torch.randn(N, K, device='cuda')
    out = torch.empty(M, N, device='cuda')
    fp32_ms = timed(lambda: torch.matmul(af, bf.t(), out=out))
    ops = 2 * M * N * K
    print(json.dumps({**s, 'int8_ms': round(int8_ms, 4), 'int8_tops': round(ops / int8_ms / 1e9, 1), 'fp32_ms': round(fp32_ms, 4), 'fp32_tflops': round(ops / fp32_ms / 1e9, 2), 'torch': torch.__version__, 'device': torch.cuda.get_device_name()}), flush=True)
