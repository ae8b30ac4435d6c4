"""WaveletGPT's wavelet op over time, for (B, T, E) activations, from the plan a checkpoint
carries (windows, tap offsets and EMA rates per channel; `src/model/wavelet_plan.ts`).

- haar: y[t, c] = (1 / f) * sum of x[t - f + 1 .. t, c], zeros before t = 0; by cumulative sums
  (float64, so that long sums keep float32's precision), O(T E);
- learnable: y[t, c] = sum_k h_c[k] x[t - k, c]: a depthwise causal convolution whose kernels are
  scattered from the flat taps (so their gradient reaches the taps);
- ema: s[t] = a x[t] + (1 - a) s[t - 1], s[-1] = 0, which is the convolution with a (1 - a)^k
  truncated at the sequence: exact within it.
Channels with window 0 pass through."""

import torch
import torch.nn.functional as F


class WaveletPlan:
    def __init__(self, plan):
        self.form = plan['form']
        self.windows = torch.tensor(plan['windows'], dtype=torch.int64)
        self.tap_offsets = torch.tensor(plan['tapOffsets'], dtype=torch.int64)
        # float32, as the npm package holds them, widened for the powers
        self.alphas = torch.tensor(plan['alphas'], dtype=torch.float32).double()
        self.filtered = self.windows > 0
        self.longest = int(self.windows.max())
        self._cache = {}

    def cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]


def haar(plan, x):
    B, T, E = x.shape
    sums = F.pad(torch.cumsum(x.double(), dim=1), (0, 0, 1, 0))  # (B, T + 1, E), sums[:, t] = x[:, :t].sum

    def start_index():
        t = torch.arange(T).unsqueeze(1)
        return (t + 1 - plan.windows.clamp(min=1)).clamp(min=0).to(x.device)  # (T, E)

    start = plan.cached(('haar', T, x.device), start_index)
    window = plan.windows.clamp(min=1).to(x.device, torch.float64)
    averaged = (sums[:, 1:] - torch.gather(sums, 1, start.expand(B, T, E))) / window
    return torch.where(plan.filtered.to(x.device), averaged.to(x.dtype), x)


def _convolve(x, kernel):
    """y[t, c] = sum_k kernel[c, K - 1 - k] x[t - k, c]: depthwise, causal (zeros before t = 0)."""
    B, T, E = x.shape
    K = kernel.shape[1]
    padded = F.pad(x.transpose(1, 2), (K - 1, 0))  # (B, E, K - 1 + T)
    return F.conv1d(padded, kernel.unsqueeze(1), groups=E).transpose(1, 2)


def learnable(plan, x, taps):
    E = x.shape[2]
    K = max(plan.longest, 1)

    def positions():
        # where tap k of channel c goes in the (E, K) kernel: row c, column K - 1 - k
        channel = torch.repeat_interleave(torch.arange(E), plan.tap_offsets[1:] - plan.tap_offsets[:-1])
        k = torch.arange(int(plan.tap_offsets[-1])) - plan.tap_offsets[:-1][channel]
        through = torch.zeros(E * K)
        through[torch.arange(E)[~plan.filtered] * K + K - 1] = 1  # a channel passing through: the identity kernel
        return (channel * K + K - 1 - k).to(x.device), through.to(x.device, x.dtype)

    index, through = plan.cached(('learnable', x.device, x.dtype), positions)
    kernel = through.index_add(0, index, taps.to(x.dtype)).view(E, K)
    return _convolve(x, kernel)


def ema(plan, x):
    B, T, E = x.shape

    def kernel():
        k = torch.arange(T - 1, -1, -1, dtype=torch.float64)  # column j holds lag K - 1 - j
        a = plan.alphas.unsqueeze(1)
        weights = a * (1 - a) ** k
        weights[~plan.filtered] = 0
        weights[~plan.filtered, T - 1] = 1
        return weights.to(x.device, x.dtype)

    return _convolve(x, plan.cached(('ema', T, x.device, x.dtype), kernel))


def wavelet(plan, x, taps=None):
    if plan.form == 'haar':
        return haar(plan, x)
    if plan.form == 'learnable':
        return learnable(plan, x, taps)
    if plan.form == 'ema':
        return ema(plan, x)
    raise ValueError(f"wavelet form {plan.form!r}: expected haar, learnable or ema")
