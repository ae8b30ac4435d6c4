"""Anchor for bench/attention.ts on a CUDA machine: causal attention in PyTorch, fp32, as a user
would write it (torch.nn.functional.scaled_dot_product_attention, is_causal=True), forward and
forward + backward, at the same shapes. Prints one JSON line per shape."""
import json, time
import torch
import torch.nn.functional as F

SHAPES = {'paper': (32, 512, 128, 8), 'wide': (8, 1024, 384, 6), 'gpt2': (8, 1024, 768, 12)}


def timed(fn, reps=20):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return sorted(times)[reps // 2]


torch.backends.cuda.matmul.allow_tf32 = False
for name, (B, T, C, NH) in SHAPES.items():
    qkv = torch.randn(B, T, 3 * C, device='cuda', requires_grad=True)
    dy = torch.randn(B, NH, T, C // NH, device='cuda')

    def forward():
        q, k, v = qkv.split(C, dim=2)
        heads = [x.view(B, T, NH, C // NH).transpose(1, 2) for x in (q, k, v)]
        return F.scaled_dot_product_attention(*heads, is_causal=True)

    def both():
        qkv.grad = None
        forward().backward(dy)

    with torch.no_grad():
        forward_ms = timed(forward)
    print(json.dumps({'anchor': 'torch sdpa fp32', 'shape': name, 'B': B, 'T': T, 'C': C, 'NH': NH, 'forward_ms': round(forward_ms, 3), 'forward_backward_ms': round(timed(both), 3), 'torch': torch.__version__}))
