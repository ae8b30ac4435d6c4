"""Anchor for bench/wavelet.ts on a CUDA machine: the same causal Haar moving average in PyTorch.

Windows as wavelet-gpt's linear-level mapping (upper half of the channels, window 2^level up to T),
computed the way a PyTorch user would: a cumulative sum over time and a difference at each
channel's lag (one gather). Timed beside a plain clone of x in the same run.
Prints one JSON line per shape.
"""
import json, math, time
import torch

SHAPES = {'paper': (32, 512, 128), 'large': (16, 4096, 768)}


def windows(E, max_window):
    filtered = E // 2
    levels = int(math.floor(math.log2(max_window)))
    w = torch.zeros(E, dtype=torch.long)
    for j in range(filtered):
        w[filtered + j] = 2 ** (1 + (j * levels) // filtered)
    return w


def haar(x, w):
    # y[t, c] = (P[t, c] - P[t - f(c), c]) / f(c), P the inclusive prefix sum (zero before t = 0).
    B, T, E = x.shape
    P = torch.nn.functional.pad(torch.cumsum(x, dim=1), (0, 0, 1, 0))  # (B, T + 1, E)
    t = torch.arange(1, T + 1, device=x.device).view(1, T, 1)
    f = w.clamp(min=1).view(1, 1, E)
    lagged = torch.gather(P, 1, (t - f).clamp(min=0).expand(B, T, E))
    y = (P[:, 1:] - lagged) / f
    return torch.where(w.view(1, 1, E) > 0, y, x)


def timed(fn, reps):
    fn(); torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / reps * 1e3


if __name__ == '__main__':  # torch_generate.py imports windows() from here
    for name, (B, T, E) in SHAPES.items():
        x = torch.randn(B, T, E, device='cuda')
        w = windows(E, T).cuda()
        n = B * T * E
        copy_ms = timed(lambda: x.clone(), 50)
        haar_ms = timed(lambda: haar(x, w), 20)
        compiled = torch.compile(haar)
        compiled_ms = timed(lambda: compiled(x, w), 20)
        print(json.dumps({'impl': 'torch', 'shape': name, 'batch': B, 'time': T, 'channels': E, 'copy_ms': round(copy_ms, 4),
                          'copy_gb_per_s': round(8 * n / copy_ms / 1e6, 1), 'haar_forward_ms': round(haar_ms, 4),
                          'haar_forward_compiled_ms': round(compiled_ms, 4), 'haar_gb_per_s': round(8 * n / haar_ms / 1e6, 1),
                          'device': torch.cuda.get_device_name()}))
