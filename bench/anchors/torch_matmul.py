"""Anchor for bench/matmul.ts on a CUDA machine: torch.matmul in fp32 (TF32 off: cuBLAS's fp32
kernels on the CUDA cores, as WGSL has them) at the same shapes and operand layouts. Prints one
JSON line per product. The shapes are read from bench/matmul.ts's --list output on stdin."""
import json, sys
import torch
from cuda_timing import timed

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


for line in sys.stdin:
    if not line.startswith('{'):
        continue
    s = json.loads(line)
    M, N, K = s['M'], s['N'], s['K']
    # 'mk': A stored (M, K); 'km': stored (K, M) and read transposed. 'kn': B stored (K, N); 'nk': (N, K).
    a = torch.randn(M, K, device='cuda') if s['a'] == 'mk' else torch.randn(K, M, device='cuda').t()
    b = torch.randn(K, N, device='cuda') if s['b'] == 'kn' else torch.randn(N, K, device='cuda').t()
    out = torch.empty(M, N, device='cuda')
    ms = timed(lambda: torch.matmul(a, b, out=out))
    print(json.dumps({**s, 'ms': round(ms, 4), 'tflops': round(2 * M * N * K / ms / 1e9, 2), 'torch': torch.__version__, 'device': torch.cuda.get_device_name()}), flush=True)
