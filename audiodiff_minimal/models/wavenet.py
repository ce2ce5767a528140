"""A small WaveNet: the autoregressive baseline of ``07_autoregression_vs_diffusion``.

WaveNet (van den Oord et al., 2016) factorises p(x) = prod_n p(x_n | x_<n) over 8-bit mu-law
classes (Sec. 2.2, ITU-T G.711 companding) and models each factor with causal dilated
convolutions, gated tanh/sigmoid units and residual + skip connections. Training sees the
whole clip at once (teacher forcing); generation is sequential in time, one network call per
sample. Diffusion is the opposite: parallel in time, sequential in noise level.

Layout::

    embed x_{n-1} (mu-law class; class of 0 at n = 0)          (B, C, L)
    layer i, dilation d_i: z = conv_k(h)[causal],  g = tanh(z_a) * sigmoid(z_b)
                           h <- h + res_1x1(g),   skip += skip_1x1(g)
    head: ReLU, 1x1 S->S, ReLU, 1x1 S->256                    (B, 256, L) logits

Training (``train.train_wavenet``, the one loop of ``train.py``), checkpoints (``registry.load_model``) and
the diffusion side of the comparison (``losses.diffusion_nll_bound``) live one layer up or beside it.

References:
    van den Oord et al. (2016), WaveNet: A Generative Model for Raw Audio.
    ITU-T G.711 (1972), mu-law companding.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..losses import LOG2, quantize

# --------------------------------------------------------------------------- mu-law


def mu_law_encode(x: torch.Tensor, classes: int = 256) -> torch.Tensor:
    """Audio in [-1, 1] -> int64 classes 0..classes-1 (WaveNet Sec. 2.2, mu = classes - 1).

    F(x) = sign(x) ln(1 + mu |x|) / ln(1 + mu), then F in [-1, 1] is rounded to ``classes`` levels.
    """
    mu = classes - 1
    x = x.double().clamp(-1, 1)
    f = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return torch.round((f + 1) / 2 * mu).long()


def mu_law_decode(c: torch.Tensor, classes: int = 256) -> torch.Tensor:
    """Classes -> audio, the inverse of F at the level centres: x = sign(y) ((1 + mu)^|y| - 1) / mu."""
    mu = classes - 1
    y = 2 * c.double() / mu - 1
    return (torch.sign(y) * torch.expm1(y.abs() * math.log1p(mu)) / mu).float()


def mu_law_bin_counts(classes: int = 256, bits: int = 16) -> torch.Tensor:
    """(classes,) number of ``bits``-bit PCM values that fall in each mu-law class (all of them encoded)."""
    half = 2 ** (bits - 1)
    grid = torch.arange(-half, half, dtype=torch.float64) / half
    return torch.bincount(mu_law_encode(grid, classes), minlength=classes)


def bits_per_pcm_sample(nll_bits: torch.Tensor, c: torch.Tensor, classes: int = 256, bits: int = 16) -> torch.Tensor:
    """Per-sample NLL over mu-law classes -> NLL over ``bits``-bit PCM values (bits).

    Spreading class c's probability uniformly over its n_c PCM values gives
    p(v) = P(c(v)) / n_c, so -log2 p(v) = -log2 P(c) + log2 n_c.
    Args:
        nll_bits: (...,) -log2 P(c).  c: (...,) the classes.
    """
    counts = mu_law_bin_counts(classes, bits).to(nll_bits.device)
    return nll_bits + torch.log2(counts[c].double()).to(nll_bits.dtype)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class WaveNetConfig:
    """The shape of a :class:`WaveNet`; JSON-friendly (saved in checkpoints)."""

    channels: int = 32  # residual channels C
    skip: int = 64  # skip channels S
    kernel: int = 2  # taps of each dilated conv
    n_dilations: int = 9  # dilations 1, 2, ..., 2^(n_dilations - 1) per stack
    stacks: int = 2  # how often the dilation cycle repeats
    classes: int = 256  # mu-law classes

    @property
    def dilations(self) -> list[int]:
        return [2**i for i in range(self.n_dilations)] * self.stacks

    @property
    def receptive_field(self) -> int:
        """How many past samples x_{n-R} .. x_{n-1} the logits of x_n see: (k - 1) sum(d) + 1."""
        return (self.kernel - 1) * sum(self.dilations) + 1


class WaveNet(nn.Module):
    """Causal dilated gated conv net; ``forward(c)`` gives logits of p(x_n | x_<n) for every n in parallel."""

    def __init__(self, config: WaveNetConfig = WaveNetConfig()):
        super().__init__()
        self.config = cfg = config
        C, S = cfg.channels, cfg.skip
        self.embed = nn.Embedding(cfg.classes, C)
        self.convs = nn.ModuleList(nn.Conv1d(C, 2 * C, cfg.kernel, dilation=d) for d in cfg.dilations)
        self.res = nn.ModuleList(nn.Conv1d(C, C, 1) for _ in cfg.dilations)
        self.skips = nn.ModuleList(nn.Conv1d(C, S, 1) for _ in cfg.dilations)
        self.head = nn.Sequential(nn.ReLU(), nn.Conv1d(S, S, 1), nn.ReLU(), nn.Conv1d(S, cfg.classes, 1))

    def shift(self, c: torch.Tensor) -> torch.Tensor:
        """(B, L) classes -> (B, L) inputs x_{n-1}, with the class of silence at n = 0."""
        start = mu_law_encode(torch.zeros(1), self.config.classes).to(c.device)
        return torch.cat([start.expand(c.shape[0], 1), c[:, :-1]], dim=1)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        """Teacher forcing. Args: c (B, L) int64 classes. Returns: (B, classes, L) logits of x_n given x_<n."""
        h = self.embed(self.shift(c)).transpose(1, 2)  # (B, C, L)
        skip = 0
        for conv, res, sk, d in zip(self.convs, self.res, self.skips, self.config.dilations, strict=True):
            z = conv(F.pad(h, ((self.config.kernel - 1) * d, 0)))  # causal: pad on the left only
            a, b = z.chunk(2, dim=1)
            g = torch.tanh(a) * torch.sigmoid(b)  # gated unit, WaveNet Eq. (2)
            h = h + res(g)
            skip = skip + sk(g)
        return self.head(skip)

    def nll_bits(self, x: torch.Tensor) -> torch.Tensor:
        """Exact -log2 p(x_n | x_<n) per sample. Args: x (B, 1, L) audio. Returns: (B, L) bits."""
        c = mu_law_encode(quantize(x[:, 0], 16), self.config.classes)
        return F.cross_entropy(self(c), c, reduction="none") / LOG2

    @torch.no_grad()
    def generate(
        self,
        n: int,
        length: int,
        generator: torch.Generator | None = None,
        prime: torch.Tensor | None = None,
        progress: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample n clips one sample at a time, caching every layer's past inputs (one call per sample).

        Args:
            n: clips.  length: samples per clip.  generator: CPU generator for the categorical draws.
            prime: optional (n, P) classes to force for the first P steps (teacher forcing the cache).
        Returns:
            audio (n, 1, length) float32 and logp (n, length) log-probabilities (nats) of the drawn classes.
        """
        cfg, dev = self.config, self.embed.weight.device
        hist = [torch.zeros(n, cfg.channels, length, device=dev) for _ in cfg.dilations]  # inputs of each layer
        c = torch.empty(n, length, dtype=torch.long, device=dev)
        logp = torch.empty(n, length, dtype=torch.float64, device=dev)
        prev = self.shift(torch.zeros(n, 1, dtype=torch.long, device=dev))[:, 0]
        for t in tqdm(range(length), disable=not progress, desc="WaveNet samples"):
            h, skip = self.embed(prev), 0  # (n, C)
            for i, d in enumerate(cfg.dilations):
                hist[i][:, :, t] = h
                w = self.convs[i].weight  # (2C, C, k); tap j looks (k - 1 - j) d samples back
                z = self.convs[i].bias
                for j in range(cfg.kernel):
                    back = t - (cfg.kernel - 1 - j) * d
                    if back >= 0:
                        z = z + hist[i][:, :, back] @ w[:, :, j].T
                a, b = z.chunk(2, dim=1)
                g = torch.tanh(a) * torch.sigmoid(b)
                h = h + F.linear(g, self.res[i].weight[:, :, 0], self.res[i].bias)
                skip = skip + F.linear(g, self.skips[i].weight[:, :, 0], self.skips[i].bias)
            logits = self.head(skip.unsqueeze(-1))[:, :, 0].float().log_softmax(-1)  # (n, classes)
            if prime is not None and t < prime.shape[1]:
                c[:, t] = prime[:, t].to(dev)
            else:
                c[:, t] = torch.multinomial(logits.exp().cpu(), 1, generator=generator)[:, 0].to(dev)
            logp[:, t] = logits.gather(1, c[:, t : t + 1])[:, 0].double()
            prev = c[:, t]
        return mu_law_decode(c, cfg.classes).unsqueeze(1), logp
