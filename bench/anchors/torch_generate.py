"""Anchor for bench/generate.ts on a CUDA machine: generation with a KV cache in PyTorch, the same
model (GPT-2 blocks, the paper's dense head, the Haar structure after each block but the last on
the upper half of the channels, windows 2^level up to the context), fp32, eager, greedy, a token
at a time as a PyTorch user writes it. Prints one JSON line per (preset, batch)."""
import json, math, time
import torch, torch.nn as nn, torch.nn.functional as F
from torch_wavelet import windows  # wavelet-gpt's linear-level mapping, as the wavelet anchor has it

PRESETS = {'paper-text8': dict(L=10, E=128, FF=512, NH=8, T=512, V=27, HD=2048), 'wide': dict(L=6, E=384, FF=1536, NH=6, T=512, V=256, HD=0)}
torch.backends.cuda.matmul.allow_tf32 = False


class Model(nn.Module):
    def __init__(s, L, E, FF, NH, T, V, HD):
        super().__init__()
        s.L, s.E, s.NH, s.T, s.V, s.HD = L, E, NH, T, V, HD
        s.wte, s.wpe = nn.Embedding(V, E), nn.Embedding(T, E)
        s.ln1 = nn.ModuleList([nn.LayerNorm(E) for _ in range(L)]); s.qkv = nn.ModuleList([nn.Linear(E, 3 * E, bias=False) for _ in range(L)])
        s.o = nn.ModuleList([nn.Linear(E, E, bias=False) for _ in range(L)]); s.ln2 = nn.ModuleList([nn.LayerNorm(E) for _ in range(L)])
        s.f1 = nn.ModuleList([nn.Linear(E, FF) for _ in range(L)]); s.f2 = nn.ModuleList([nn.Linear(FF, E) for _ in range(L)])
        s.lnf = nn.LayerNorm(E)
        s.dense = nn.Linear(E, HD) if HD else None
        s.out = nn.Linear(HD or E, V, bias=False)
        s.register_buffer('w', windows(E, 2 ** int(math.floor(math.log2(T)))))

    @torch.no_grad()
    def generate(s, prompt, count):
        B, P = prompt.shape
        dev = prompt.device
        hs = s.E // s.NH
        K = torch.zeros(s.L, B, s.NH, s.T, hs, device=dev); Vc = torch.zeros_like(K)
        # the wavelet state: per gap, the prefix sums of its inputs (B, T + 1, E), so a window mean is one difference
        S = torch.zeros(s.L - 1, B, s.T + 1, s.E, device=dev)
        filtered = s.w > 0
        channels = torch.arange(s.E, device=dev)
        f = s.w.clamp(min=1).float()
        tokens = prompt
        out = []
        for t in range(P + count - 1):
            tok = tokens[:, t] if t < P else out[-1]
            x = s.wte(tok) + s.wpe.weight[t]
            for l in range(s.L):
                q, k, v = s.qkv[l](s.ln1[l](x)).view(B, 3, s.NH, hs).unbind(1)
                K[l, :, :, t], Vc[l, :, :, t] = k, v
                a = F.scaled_dot_product_attention(q.unsqueeze(2), K[l, :, :, :t + 1], Vc[l, :, :, :t + 1]).reshape(B, s.E)
                x = x + s.o[l](a)
                x = x + s.f2[l](F.gelu(s.f1[l](s.ln2[l](x))))
                if l < s.L - 1:
                    sums = S[l]  # (B, T + 1, E)
                    sums[:, t + 1] = sums[:, t] + x
                    lag = (t + 1 - s.w).clamp(min=0)
                    mean = (sums[:, t + 1] - sums[:, lag, channels]) / f
                    x = torch.where(filtered, mean, x)
            h = s.lnf(x)
            if s.dense is not None: h = F.gelu(s.dense(h))
            if t >= P - 1: out.append(s.out(h).argmax(-1))
        return torch.stack(out, 1)


if __name__ == '__main__':  # torch_cpu.py imports the model
    for name, cfg in PRESETS.items():
        torch.manual_seed(0)
        m = Model(**cfg).cuda().eval()
        for B in (1, 8):
            prompt = torch.randint(0, cfg['V'], (B, 64), device='cuda')
            m.generate(prompt, 4); torch.cuda.synchronize()
            count = 64
            start = time.perf_counter(); m.generate(prompt, count); torch.cuda.synchronize()
            full = time.perf_counter() - start
            start = time.perf_counter(); m.generate(prompt, 1); torch.cuda.synchronize()
            prefill = time.perf_counter() - start  # the prompt alone, to take out of the rate
            rate = B * (count - 1) / (full - prefill)
            print(json.dumps({'anchor': 'torch eager, KV cache, fp32', 'preset': name, 'batch': B, 'tokens_per_s': round(rate, 1), 'device': torch.cuda.get_device_name(), 'torch': torch.__version__}))
