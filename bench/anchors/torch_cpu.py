"""Anchor for bench/threads.ts: the same model on the CPU in PyTorch, at the same thread counts
(torch.set_num_threads), in the same command. The WaveletGPT paper's text8 model with the Haar
structure after each block but the last (torch_wavelet.py's windows and prefix-sum means), fp32,
eager, AdamW: a training step at BATCH (default 4), and batch-1 generation with a KV cache from the
middle of the context (torch_generate.py's loop on the CPU).
Config by environment: LAYERS, EMBD, FF, HEADS, CTX, VOCAB, HEAD_DENSE, BATCH; THREADS=1,2,4,...
Prints one JSON line per thread count."""
import json, math, os, time
import torch, torch.nn as nn, torch.nn.functional as F
from torch_wavelet import haar
from torch_generate import Model as WaveletGPT  # the same modules, built in the same order

env = lambda k, d: int(os.environ.get(k, d))
L, E, FF, NH, T, V, HD, B = env('LAYERS', 10), env('EMBD', 128), env('FF', 512), env('HEADS', 8), env('CTX', 512), env('VOCAB', 27), env('HEAD_DENSE', 2048), env('BATCH', 4)
counts = [int(n) for n in os.environ.get('THREADS', ','.join(str(2 ** i) for i in range(int(math.log2(os.cpu_count())) + 1))).split(',')]


class Model(WaveletGPT):
    """torch_generate.py's model, with a training forward and a timed decoding loop."""
    def __init__(s):
        super().__init__(L, E, FF, NH, T, V, HD)

    def head(s, x):
        h = s.lnf(x)
        return s.out(F.gelu(s.dense(h)) if s.dense is not None else h)

    def forward(s, idx, tgt):
        Bn, Tn = idx.shape
        x = s.wte(idx) + s.wpe.weight[:Tn]
        for l in range(L):
            q, k, v = s.qkv[l](s.ln1[l](x)).view(Bn, Tn, 3, NH, E // NH).permute(2, 0, 3, 1, 4)
            x = x + s.o[l](F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(Bn, Tn, E))
            x = x + s.f2[l](F.gelu(s.f1[l](s.ln2[l](x))))
            if l < L - 1: x = haar(x, s.w)
        return F.cross_entropy(s.head(x).view(-1, V), tgt.view(-1))

    @torch.no_grad()
    def token_ms(s, reps):
        """Milliseconds a token of batch-1 decoding with a KV cache, at positions from T / 2 on."""
        hs = E // NH
        K = torch.zeros(L, 1, NH, T, hs); Vc = torch.zeros_like(K)
        S = torch.zeros(L - 1, 1, T + 1, E)  # per gap, the prefix sums of its inputs
        filtered, channels, f = s.w > 0, torch.arange(E), s.w.clamp(min=1).float()
        def step(t, tok):
            x = s.wte(tok) + s.wpe.weight[t]
            for l in range(L):
                q, k, v = s.qkv[l](s.ln1[l](x)).view(1, 3, NH, hs).unbind(1)
                K[l, :, :, t], Vc[l, :, :, t] = k, v
                x = x + s.o[l](F.scaled_dot_product_attention(q.unsqueeze(2), K[l, :, :, :t + 1], Vc[l, :, :, :t + 1]).reshape(1, E))
                x = x + s.f2[l](F.gelu(s.f1[l](s.ln2[l](x))))
                if l < L - 1:
                    S[l][:, t + 1] = S[l][:, t] + x
                    x = torch.where(filtered, (S[l][:, t + 1] - S[l][:, (t + 1 - s.w).clamp(min=0), channels]) / f, x)
            return s.head(x).argmax(-1)
        tok = torch.zeros(1, dtype=torch.long)
        for t in range(T // 2): tok = step(t, tok)
        start = time.perf_counter()
        for t in range(T // 2, T // 2 + reps): tok = step(t, tok)
        return (time.perf_counter() - start) / reps * 1e3


for n in counts:
    torch.set_num_threads(n); torch.manual_seed(0)
    m = Model(); opt = torch.optim.AdamW(m.parameters(), 1e-4)
    idx, tgt = torch.randint(0, V, (B, T)), torch.randint(0, V, (B, T))
    def train_step():
        opt.zero_grad(set_to_none=True); m(idx, tgt).backward(); opt.step()
    train_step()
    times = []
    for _ in range(3):
        start = time.perf_counter(); train_step(); times.append((time.perf_counter() - start) * 1e3)
    step_ms = sorted(times)[1]
    token_ms = m.token_ms(32)
    print(json.dumps({'anchor': 'torch cpu eager fp32', 'threads': n, 'batch': B, 'stepMs': round(step_ms, 1), 'trainTokensPerSecond': round(B * T / step_ms * 1e3),
                      'tokenMs': round(token_ms, 3), 'generateTokensPerSecond': round(1e3 / token_ms), 'torch': torch.__version__, 'cpu_count': os.cpu_count()}), flush=True)
