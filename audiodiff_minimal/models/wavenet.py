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

References:
    van den Oord et al. (2016), WaveNet: A Generative Model for Raw Audio.
    ITU-T G.711 (1972), mu-law companding.
"""

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..checkpoint import CheckpointError, read_weights, save_checkpoint
from ..data import LENGTH, SR, draw_toy_notes
from ..losses import quantize

LOG2 = math.log(2.0)


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


# --------------------------------------------------------------------------- training and checkpoints


def train_wavenet(
    model: WaveNet,
    steps: int,
    batch: int = 8,
    lr: float = 2e-3,
    length: int = LENGTH,
    sr: int = SR,
    seed: int = 0,
    out: str | Path | None = None,
    save_every: int = 100,
    progress: bool = True,
) -> list[float]:
    """Teacher-forced cross-entropy training on fresh toy notes (AdamW, cosine decay to lr / 10).

    Returns the loss (bits per mu-law sample) at every step; saves to ``out`` every ``save_every``
    steps and at the end (weights + config.json via ``checkpoint.save_checkpoint``, atomically).
    """
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * s / steps)))
    dev, losses = next(model.parameters()).device, []
    model.train()
    for step in tqdm(range(1, steps + 1), disable=not progress, desc="WaveNet training"):
        x = draw_toy_notes(batch, length, sr, g)[0].to(dev)
        loss = model.nll_bits(x).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if out is not None and (step % save_every == 0 or step == steps):
            save_wavenet(model, out, step, {"batch": batch, "lr": lr, "length": length, "sr": sr, "seed": seed})
    model.eval()
    return losses


def save_wavenet(model: WaveNet, out: str | Path, step: int, train: dict | None = None) -> None:
    """Save weights + config.json (``{"wavenet": ..., "step": ...}``) to folder ``out`` atomically."""
    info = {"format_version": 1, "kind": "wavenet", "step": step, "wavenet": asdict(model.config), "train": train}
    save_checkpoint(out, {"model.safetensors": model.state_dict(), "config.json": info})


def load_wavenet(path: str | Path, model: WaveNet | None = None, device=None) -> tuple[WaveNet, dict]:
    """Load a WaveNet checkpoint folder (into ``model`` if given; its config must match). Returns (model, info)."""
    import json

    file = Path(path) / "config.json"
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no such file; is {path} a WaveNet checkpoint folder?")
    info = json.loads(file.read_text())
    if info.get("kind") != "wavenet":
        raise CheckpointError(f"{file}: not a WaveNet checkpoint (kind={info.get('kind')!r})")
    saved = WaveNetConfig(**info["wavenet"])
    if model is None:
        model = WaveNet(saved)
    elif model.config != saved:
        raise ValueError(f"checkpoint {path} holds a WaveNet with {saved}, but the model has {model.config}")
    model.load_state_dict(read_weights(path, ema=True, step=info["step"]))
    return model.to(device or "cpu").eval(), info


# --------------------------------------------------------------------------- the diffusion side of the comparison


@torch.no_grad()
def diffusion_nll_bound(
    model, schedule, x0: torch.Tensor, prediction: str = "v", n_t: int = 16, generator: torch.Generator | None = None
) -> dict:
    """Monte Carlo DDPM bound (losses.py Eq. 2.1) on -log2 P(x0) of 16-bit clips, in bits per sample.

    L_T exactly; sum_{t=2}^T L_{t-1} by stratified sampling (``n_t`` equal strata of 2..T, one random t each,
    each term weighted by its stratum's size); L_0 with the discretised decoder (DDPM Eq. 13) at var_1 = beta_1.
    Reverse variances beta_tilde (DDPM Sec. 3.2). The network is only ever asked for x0_hat (forward.to_x0_eps).
    Args:
        model: callable (x_t (B, 1, L), t (B,)) -> prediction.  x0: (B, 1, L) audio (quantised to 16 bits here).
    Returns:
        dict of (B,) bits per sample: "prior", "diffusion", "decoder", "total".
    """
    from ..forward import q_sample, to_x0_eps
    from ..losses import diffusion_term, discretized_gaussian_nll, reverse_variance

    g = generator or torch.Generator().manual_seed(0)
    x0 = quantize(x0, 16)
    B, L, T = x0.shape[0], x0.shape[-1], schedule.T
    var = reverse_variance(schedule, "beta_tilde")
    to_bits = 1 / (L * LOG2)
    ab_T = schedule.alpha_bar[T].double()
    prior = 0.5 * (ab_T * x0.double() ** 2 + (1 - ab_T) - 1 - torch.log(1 - ab_T)).flatten(1).sum(1)  # L_T
    edges = torch.linspace(2, T + 1, n_t + 1).long()  # strata [edges[i], edges[i + 1]) of 2..T
    diffusion = torch.zeros(B, dtype=torch.float64)
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        t = torch.randint(lo, hi, (B,), generator=g)
        eps = torch.randn(x0.shape, generator=g).to(x0)
        x_t = q_sample(x0, t, eps, schedule)
        x0_hat, _ = to_x0_eps(model(x_t, t), x_t, t, schedule, prediction)
        diffusion += (hi - lo) * diffusion_term(x0, x_t, t, x0_hat, var, schedule).double().cpu()
    t1 = torch.ones(B, dtype=torch.long)
    x_1 = q_sample(x0, t1, torch.randn(x0.shape, generator=g).to(x0), schedule)
    x0_hat, _ = to_x0_eps(model(x_1, t1), x_1, t1, schedule, prediction)  # mu_theta at t = 1 is x0_hat itself
    decoder = discretized_gaussian_nll(x0, x0_hat, var[1]).flatten(1).sum(1).cpu()
    out = {"prior": prior * to_bits, "diffusion": diffusion * to_bits, "decoder": decoder * to_bits}
    return {**out, "total": sum(out.values())}
