"""A wavelet-gpt network as a torch.nn.Module: the layer list a checkpoint carries (its
`network` metadata, written by the npm package's `src/model/portable.ts`) run in order, one
function per layer kind, as each backend of the npm package runs it. Parameters are registered
under the checkpoint's tensor names, so `state_dict()` keys are those names ('h0.qkv.w')."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .wavelet import WaveletPlan, wavelet

PORTABLE_NETWORK_FORMAT = 'wavelet-gpt network 1'
IGNORED_TARGET = -1
# The token ids among the activations, under a name no layer's output can have (they are dotted words).
_TOKENS = ' tokens'


class NetworkError(ValueError):
    """A network description this module cannot run; the message says what and where."""


def _hadamard_matrix(width, device, dtype):
    """The orthonormal Walsh-Hadamard matrix in natural (Sylvester) order; symmetric, its own inverse."""
    index = torch.arange(width)
    bits = torch.bitwise_and(index.unsqueeze(0), index.unsqueeze(1))
    parity = torch.zeros_like(bits)
    while bool(bits.any()):
        parity ^= bits & 1
        bits = bits >> 1
    return ((1 - 2 * parity).double() / math.sqrt(width)).to(device, dtype)


def _shift_in_time(x, delay):
    """x[t - delay] along time, zeros before t = 0."""
    T = x.shape[1]
    if delay >= T:
        return torch.zeros_like(x)
    return F.pad(x[:, :T - delay], (0, 0, delay, 0))


class WaveletNetwork(nn.Module):
    def __init__(self, description):
        super().__init__()
        if not isinstance(description, dict) or description.get('format') != PORTABLE_NETWORK_FORMAT:
            found = description.get('format') if isinstance(description, dict) else type(description).__name__
            raise NetworkError(f"network description: format {found!r}, expected {PORTABLE_NETWORK_FORMAT!r}")
        self.description = description
        self.vocab_size = description['vocabSize']
        self.context = description['context']
        self.epsilon = description['layernormEpsilon']
        self.layers = description['layers']
        self.logits_name = description['logits']
        self.plan = WaveletPlan(description['wavelet']) if description.get('wavelet') else None
        for entry in description['parameters']:
            self._register(entry['name'], torch.zeros(entry['shape']))
        unknown = sorted({layer['kind'] for layer in self.layers} - set(_LAYERS))
        if unknown:
            raise NetworkError(f"network description: layer kinds {unknown} are newer than this package; update it (pip install -U ./python)")
        # After each layer, the activations no later layer reads: dropped, so that inference keeps few.
        last_use = {}
        for index, layer in enumerate(self.layers):
            for name in _inputs(layer):
                last_use[name] = index
        self._done_after = [[name for name, index in last_use.items() if index == at and name != self.logits_name] for at in range(len(self.layers))]
        self._hadamard = {}

    def _register(self, name, value):
        *path, leaf = name.split('.')
        module = self
        for part in path:
            child = module._modules.get(part)
            if child is None:
                if part in module._parameters:
                    raise NetworkError(f"parameter '{name}': '{part}' is already a parameter")
                child = nn.Module()
                module.add_module(part, child)
            module = child
        if leaf in module._modules:
            raise NetworkError(f"parameter '{name}': already a group of parameters")
        module.register_parameter(leaf, nn.Parameter(value))

    def tensor(self, name):
        """The parameter named as in the checkpoint (looked up each time: FSDP swaps parameters for views)."""
        module = self
        *path, leaf = name.split('.')
        for part in path:
            module = getattr(module, part)
        return getattr(module, leaf)

    def hadamard(self, x):
        width = x.shape[-1]
        key = (width, x.device, x.dtype)
        if key not in self._hadamard:
            self._hadamard[key] = _hadamard_matrix(width, x.device, x.dtype)
        return x @ self._hadamard[key]

    def forward(self, tokens, targets=None):
        """Logits (B, T, V) of tokens (B, T); with targets (B, T), (logits, mean cross-entropy over the targets that are not -1)."""
        if tokens.dim() != 2:
            raise NetworkError(f'tokens: expected (batch, time), found shape {tuple(tokens.shape)}')
        if tokens.shape[1] > self.context:
            raise NetworkError(f'tokens: {tokens.shape[1]} positions, more than the context of {self.context}')
        activations = {_TOKENS: tokens}
        for index, layer in enumerate(self.layers):
            activations[layer['out']] = _LAYERS[layer['kind']](self, layer, activations)
            for name in self._done_after[index]:
                activations.pop(name, None)
        logits = activations[self.logits_name]
        if targets is None:
            return logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORED_TARGET)
        return logits, loss


def _inputs(layer):
    kind = layer['kind']
    if kind == 'embedding':
        return []
    if kind == 'residual':
        return [layer['stream'], layer['branch']]
    if kind == 'lifting_predict':
        return [layer['in'], layer['predicted']]
    if kind == 'sum':
        return [layer['a'], layer['b']]
    if kind == 'silu_gate':
        return [layer['in'], layer['gate']]
    if kind == 'scale_route':
        return list(layer['ins'])
    return [layer['in']]


def _factor(net, factor):
    return factor if isinstance(factor, (int, float)) else net.tensor(factor['parameter'])


def _embedding(net, layer, a):
    tokens = a[_TOKENS]
    x = F.embedding(tokens, net.tensor(layer['tokens']))
    if layer['positions']:
        x = x + net.tensor(layer['positions'])[:tokens.shape[1]]
    return x


def _attention(net, layer, a):
    qkv = a[layer['in']]
    B, T, three_c = qkv.shape
    C = three_c // 3
    H = layer['heads']
    q, k, v = (part.reshape(B, T, H, C // H).transpose(1, 2) for part in qkv.split(C, dim=2))  # (B, H, T, hs)
    if hasattr(F, 'scaled_dot_product_attention'):
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    else:  # PyTorch before 2.0
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
        causal = torch.ones(T, T, dtype=torch.bool, device=qkv.device).tril()
        out = scores.masked_fill(~causal, float('-inf')).softmax(dim=-1) @ v
    return out.transpose(1, 2).reshape(B, T, C)


def _wavelet(net, layer, a):
    taps = net.tensor(layer['taps']) if layer.get('taps') else None
    return wavelet(net.plan, a[layer['in']], taps)


_LAYERS = {
    'embedding': _embedding,
    'layernorm': lambda net, l, a: F.layer_norm(a[l['in']], (a[l['in']].shape[-1],), net.tensor(l['weight']), net.tensor(l['bias']), net.epsilon),
    'linear': lambda net, l, a: F.linear(a[l['in']], net.tensor(l['weight']), net.tensor(l['bias']) if l['bias'] else None),
    'attention': _attention,
    'gelu': lambda net, l, a: F.gelu(a[l['in']], approximate='tanh'),
    'residual': lambda net, l, a: a[l['stream']] + a[l['branch']],
    'wavelet': _wavelet,
    'pad': lambda net, l, a: F.pad(a[l['in']], (0, l['to'] - l['from'])),
    'lifting_predict': lambda net, l, a: (_shift_in_time(a[l['in']], l['delay']) - a[l['predicted']]) * math.sqrt(0.5),
    'sum': lambda net, l, a: _factor(net, l['scaleA']) * a[l['a']] + _factor(net, l['scaleB']) * a[l['b']],
    'scale': lambda net, l, a: a[l['in']] * net.tensor(l['factor']),
    'channel_scale': lambda net, l, a: a[l['in']] * net.tensor(l['gain']),
    'hadamard': lambda net, l, a: net.hadamard(a[l['in']]),
    'silu_gate': lambda net, l, a: a[l['in']] * F.silu(a[l['gate']]),
    'scale_route': lambda net, l, a: sum(net.tensor(l['matrix'])[l['row'], s] * a[name] for s, name in enumerate(l['ins'])),
    'running_mean': lambda net, l, a: torch.cumsum(a[l['in']], dim=1) / torch.arange(1, a[l['in']].shape[1] + 1, device=a[l['in']].device, dtype=a[l['in']].dtype).unsqueeze(-1),
}


def decays(name, shape):
    """Whether the optimizer's weight decay reaches a parameter: matrices (linear weights, embeddings), as in the npm package."""
    return len(shape) == 2
