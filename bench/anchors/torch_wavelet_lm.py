"""Anchor for bench/architectures.ts on a CUDA machine: the WaveletLM of src/model/wavelet_lm.ts in
PyTorch, fp32 (TF32 off), as a PyTorch user writes it from the facts of its block: LayerNorm, zero
padding to Cp, an undecimated causal lifting decomposition (predict and update nets Linear-GELU-
Linear, level i looking 2^i steps back), a running-mean bypass with per-scale gains, an
orthonormal Walsh-Hadamard butterfly over channels, per-scale gated mixers with a low-rank path
and a learned scale routing, the inverse transform, per-scale weights, the reconstruction through
the update nets, a projection, learned-alpha residuals and an MLP.

Measures, eager and torch.compile:
  - a training step (forward, backward, AdamW) at each context of CONTEXTS with TOKENS tokens a
    step (batch TOKENS / T);
  - generation at batch 1 as the authors' generate.py does it: every new token recomputes the whole
    window of the last T tokens (no cached state), at T = 256 and 1024.
Config by environment: LAYERS, WIDTH, LEVELS, MLP, RANK, VOCAB, TOKENS, CONTEXTS (comma list),
GEN_CONTEXTS, GEN_TOKENS. Prints one JSON line per measurement."""
import json, math, os, time
import torch, torch.nn as nn, torch.nn.functional as F

env = lambda k, d: int(os.environ.get(k, d))
LAYERS, C, LEVELS, MLP, RANK, V, TOKENS = env('LAYERS', 4), env('WIDTH', 512), env('LEVELS', 5), env('MLP', 4), env('RANK', 4), env('VOCAB', 256), env('TOKENS', 16384)
CONTEXTS = [int(t) for t in os.environ.get('CONTEXTS', '256,512,1024,2048,4096').split(',')]
GEN_CONTEXTS = [int(t) for t in os.environ.get('GEN_CONTEXTS', '256,1024').split(',')]
GEN_TOKENS = env('GEN_TOKENS', 32)
torch.backends.cuda.matmul.allow_tf32 = False
Cp = 1 << (C - 1).bit_length()
S = LEVELS + 1


def hadamard(x):
    """Orthonormal fast Walsh-Hadamard transform over the last dimension (a power of two), a butterfly."""
    shape, n = x.shape, x.shape[-1]
    h = 1
    while h < n:
        x = x.reshape(-1, n // (2 * h), 2, h)
        a, b = x[:, :, 0], x[:, :, 1]
        x = torch.stack((a + b, a - b), dim=2)
        h *= 2
    return x.reshape(shape) / math.sqrt(n)


def delayed(x, d):
    """x (B, T, Cp) shifted d steps later along T, zeros before the start (causal)."""
    return F.pad(x, (0, 0, d, 0))[:, : x.shape[1]]


class LiftingNet(nn.Module):
    def __init__(s, second):
        super().__init__()
        s.l1, s.l2 = nn.Linear(Cp, Cp), nn.Linear(Cp, Cp)
        with torch.no_grad():
            for l, g in ((s.l1, 1.0), (s.l2, second)):
                l.weight.copy_(torch.eye(Cp) * g); l.bias.zero_()

    def forward(s, x):
        return s.l2(F.gelu(s.l1(x)))


class Block(nn.Module):
    def __init__(s, lifting):
        super().__init__()
        s.lifting = lifting  # [(predict, update)] per level, shared by the blocks
        s.ln1, s.ln2 = nn.LayerNorm(C), nn.LayerNorm(C)
        s.bypass = nn.Parameter(torch.zeros(S, C))
        s.route = nn.Parameter(torch.eye(S))
        s.mix = nn.Parameter(torch.eye(Cp).repeat(S, 1, 1) + 1e-3 * torch.randn(S, Cp, Cp))
        s.gate = nn.Parameter(0.02 * torch.randn(S, Cp, Cp))
        s.down = nn.Parameter(0.01 * torch.randn(S, RANK, Cp))
        s.up = nn.Parameter(0.01 * torch.randn(S, Cp, RANK))
        s.scale = nn.Parameter(torch.ones(S))
        s.proj = nn.Linear(Cp, C)
        with torch.no_grad():
            s.proj.weight.mul_(1e-3)
        s.alpha = nn.Parameter(torch.ones(3))  # mixing, stream, mlp
        s.fc, s.fcproj = nn.Linear(C, MLP * C), nn.Linear(MLP * C, C)

    def forward(s, x):
        B, T, _ = x.shape
        history = x.cumsum(1) / torch.arange(1, T + 1, device=x.device, dtype=x.dtype).view(1, T, 1)
        a = F.pad(s.ln1(x), (0, Cp - C))
        details = []
        for i, (predict, update) in enumerate(s.lifting):
            detail = (delayed(a, 2 ** i) - predict(a)) * math.sqrt(0.5)
            a = (a + update(detail)) * math.sqrt(0.5)
            details.append(detail)
        coefficients = torch.stack([a] + details[::-1], 2)  # (B, T, S, Cp), coarse first
        coefficients = coefficients + F.pad(history.unsqueeze(2) * s.bypass, (0, Cp - C))
        spectra = hadamard(coefficients)
        routed = torch.einsum('rs,btsc->btrc', s.route, spectra)
        mixed = torch.einsum('btsc,sdc->btsd', spectra, s.mix) * F.silu(torch.einsum('btsc,sdc->btsd', routed, s.gate))
        mixed = mixed + torch.einsum('btsr,sdr->btsd', torch.einsum('btsc,src->btsr', spectra, s.down), s.up)
        back = hadamard(mixed) * s.scale.view(1, 1, S, 1)
        signal = back[:, :, 0]
        for i in reversed(range(LEVELS)):
            signal = signal * math.sqrt(2) - s.lifting[i][1](back[:, :, LEVELS - i])
        mixing = s.alpha[0] * x + s.proj(signal)
        return s.alpha[1] * mixing + s.alpha[2] * s.fcproj(F.gelu(s.fc(s.ln2(mixing))))


class WaveletLM(nn.Module):
    def __init__(s):
        super().__init__()
        s.wte = nn.Embedding(V, C)
        s.lifting = nn.ModuleList([nn.ModuleList([LiftingNet(1.0), LiftingNet(0.5)]) for _ in range(LEVELS)])
        s.blocks = nn.ModuleList([Block(s.lifting) for _ in range(LAYERS)])
        s.lnf, s.out = nn.LayerNorm(C), nn.Linear(C, V, bias=False)

    def logits(s, idx):
        x = s.wte(idx)
        for b in s.blocks: x = b(x)
        return s.out(s.lnf(x))

    def forward(s, idx, tgt):
        return F.cross_entropy(s.logits(idx).view(-1, V), tgt.view(-1))


def timed(fn, reps):
    for _ in range(2): fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); torch.cuda.synchronize(); times.append(time.perf_counter() - t0)
    return sorted(times)[reps // 2] * 1e3


dev = 'cuda'
for mode in ['eager', 'compile']:
    torch.manual_seed(0)
    model = WaveletLM().to(dev)
    params = sum(p.numel() for p in model.parameters())
    run = torch.compile(model) if mode == 'compile' else model
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    for T in CONTEXTS:
        B = max(1, TOKENS // T)
        idx = torch.randint(0, V, (B, T), device=dev)
        def step():
            loss = run(idx, idx)
            loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); opt.zero_grad(set_to_none=True)
        torch.cuda.reset_peak_memory_stats()
        ms = timed(step, 5)
        print(json.dumps({'anchor': 'torch_wavelet_lm', 'what': 'train_step', 'mode': mode, 'context': T, 'batch': B, 'parameters': params, 'ms': round(ms, 3),
                          'tokens_per_s': round(B * T / ms * 1e3), 'peak_mib': round(torch.cuda.max_memory_allocated() / 2**20)}), flush=True)
    logits = torch.compile(model.logits) if mode == 'compile' else model.logits
    with torch.no_grad():
        for T in GEN_CONTEXTS:
            window = torch.randint(0, V, (1, T), device=dev)
            def generate():
                nonlocal_window = window
                for _ in range(GEN_TOKENS):
                    nxt = logits(nonlocal_window)[:, -1].argmax(-1, keepdim=True)
                    nonlocal_window = torch.cat([nonlocal_window[:, 1:], nxt], 1)  # the window slides: the whole of it recomputed
            ms = timed(generate, 3) / GEN_TOKENS
            print(json.dumps({'anchor': 'torch_wavelet_lm', 'what': 'generate_window_recompute', 'mode': mode, 'context': T, 'batch': 1, 'ms_per_token': round(ms, 3),
                              'tokens_per_s': round(1e3 / ms, 1)}), flush=True)
    del model, run, opt
    torch.cuda.empty_cache()
