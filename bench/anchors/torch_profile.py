"""Anchor for bench/train.ts --profile on a CUDA machine: where PyTorch's eager training step spends
its GPU time, by kernel, from torch.profiler, beside our engine's timestamp profile of the same model.

The model is torch_gpt.py's (the path is the first argument; its configuration comes from the same
environment variables): this file runs that file's definitions, not its timing loop, then profiles
STEPS eager steps after a warm-up. Prints one JSON object: milliseconds a step by kernel name and by
kind (matmul, attention, layernorm, gelu, ...; the kinds bench/train.ts's profile has).
usage: python3 bench/anchors/torch_profile.py ../shared/gpu/torch_gpt.py > profile.json
"""
import json, re, sys
import torch
from torch.profiler import ProfilerActivity, profile

STEPS = 10

source = open(sys.argv[1]).read()
definitions = source[: source.index('\nfor mode in')]  # the model and its configuration, not the timing loop
namespace = {'__name__': 'torch_gpt'}
exec(compile(definitions, sys.argv[1], 'exec'), namespace)
B, T, V, GPT = namespace['B'], namespace['T'], namespace['V'], namespace['GPT']

torch.manual_seed(0)
model = GPT().cuda()
optimizer = torch.optim.AdamW(model.parameters(), 3e-4)
idx, tgt = torch.randint(0, V, (B, T), device='cuda'), torch.randint(0, V, (B, T), device='cuda')


def step():
    optimizer.zero_grad(set_to_none=True)
    loss = model(idx, tgt)
    loss.backward()
    optimizer.step()


for _ in range(3):
    step()
torch.cuda.synchronize()
with profile(activities=[ProfilerActivity.CUDA]) as prof:
    for _ in range(STEPS):
        step()
    torch.cuda.synchronize()

# Kernel names to the kinds of bench/train.ts's profile (case ignored); the first match wins.
KINDS = [
    ('attention', r'fmha|flash|attention'),
    ('matmul', r'gemm|cutlass|cublas'),
    ('layernorm', r'layer_norm|GammaBeta'),
    ('gelu', r'gelu'),
    ('cross-entropy', r'softmax|nll_loss'),
    ('optimizer', r'multi_tensor|adam'),
    ('embedding', r'embedding|gather|grad_weight|sum_and_scatter|segment|radix_sort|unique_by_key|DeviceScan|DeviceCompact|arange'),
    ('bias gradients', r'reduce_kernel'),
    ('copies and fills', r'copy|fill|memset|CatArray'),
    ('elementwise', r'elementwise'),
]


def kind_of(name):
    return next((kind for kind, pattern in KINDS if re.search(pattern, name, re.IGNORECASE)), 'other')


by_kernel, by_kind = {}, {}
for event in prof.key_averages():
    device_us = getattr(event, 'device_time_total', None) or getattr(event, 'cuda_time_total', 0)
    if not device_us or event.key.startswith('ProfilerStep') or event.key.startswith('aten::'):
        continue
    ms = device_us / 1e3 / STEPS
    name = event.key[:160]  # kernels whose names share this much are added together
    entry = by_kernel.setdefault(name, {'ms': 0, 'launches': 0})
    entry['ms'] += ms
    entry['launches'] += event.count // STEPS
    kind = kind_of(event.key)
    by_kind[kind] = round(by_kind.get(kind, 0) + ms, 4)
print(json.dumps({
    'impl': 'torch-eager profile', 'device': torch.cuda.get_device_name(), 'torch': torch.__version__,
    'tf32': torch.backends.cuda.matmul.allow_tf32, 'batch': B, 'ctx': T, 'steps': STEPS,
    'ms_per_step_by_kind': dict(sorted(by_kind.items(), key=lambda kv: -kv[1])),
    'gpu_ms_per_step': round(sum(by_kind.values()), 3),
    'by_kernel': {name: {'ms': round(v['ms'], 4), 'launches': v['launches']} for name, v in sorted(by_kernel.items(), key=lambda kv: -kv[1]['ms'])},
}, indent=1))
