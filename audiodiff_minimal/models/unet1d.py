"""A 1D U-Net that denoises a whole clip at once (introduced in ``04_unet_on_gpu``).

The network maps (x_t, t) to a prediction of eps, x_0 or v, all shaped (B, 1, L). It sees
the whole clip and predicts every sample in parallel; it is not a WaveNet-style model
that generates audio one sample after another.

Layout (one level per entry of ``mults``; ``len(down) == len(mults) - 1``)::

    stem conv 1 -> C_0                                  (B, C_0, L)
    level i: n_res ResBlocks at C_i, keep a skip, then Downsample by down[i] -> C_{i+1}
    middle : ResBlock, optional self-attention, ResBlock at the coarsest level
    level i (reversed): Upsample by down[i] -> C_i, concat the skip, n_res ResBlocks
    head   : GroupNorm, SiLU, conv C_0 -> 1                 (B, 1, L)

Class conditioning (chapter ``06``): with ``num_classes > 0`` the net also takes labels c (B,)
and adds a learned embedding e(c) to the time embedding, after the time MLP, so every ResBlock
sees emb = MLP(features(t)) + e(c) through its scale and shift (as in Dhariwal & Nichol 2021).
The table has ``num_classes + 1`` rows; the last row is the "null" label, which stands for "no
label" (label dropout in training, the unconditional branch of classifier-free guidance,
Ho & Salimans 2022). ``num_classes == 0`` builds no table: the unconditional net of chapter 04.

Conditioning on a signal (chapter ``10``): with ``cond_channels > 0`` the net also takes cond (B, cond_channels, L),
a signal aligned with the clip (a noisy recording for the speech enhancer, an upsampled log-mel spectrogram for
the vocoder), concatenated to x_t on the channel axis before the stem, as SR3 (Saharia et al. 2022) concatenates
its low-resolution image and WaveGrad / DiffWave (Chen et al. 2021; Kong et al. 2021) feed their mel.

Audio needs a big receptive field (a 440 Hz period is 18 samples at 8 kHz, a note's
envelope thousands), so we downsample early and by 4 and put the width at coarse levels,
where it is cheap. Full-resolution layers stay thin: they dominate the run time.

References:
    Ronneberger et al. (2015), U-Net. Ho et al. (2020), DDPM, App. B (the diffusion U-Net).
    Dhariwal & Nichol (2021), Diffusion Models Beat GANs (scale-shift norm, AdaGN).
    Kong et al. (2021), DiffWave (raw-audio diffusion; a non-causal, non-autoregressive denoiser).
    Saharia et al. (2022), SR3: Image Super-Resolution via Iterative Refinement (conditioning by concatenation).
"""

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from ..data import NUM_NOTE_CLASSES


@dataclass(frozen=True)
class UNetConfig:
    """The shape of a :class:`UNet1D`; every field is JSON-friendly (saved in checkpoints)."""

    base: int = 32  # channels C_0 at full resolution
    mults: tuple[int, ...] = (1, 2, 4, 4)  # C_i = base * mults[i]
    down: tuple[int, ...] = (4, 4, 4)  # length factor between level i and i + 1
    n_res: int = 1  # ResBlocks per level (on each side of the U)
    kernel: int = 5  # kernel size of the ResBlock convolutions (odd)
    groups: int = 8  # GroupNorm groups; must divide every C_i
    t_dim: int = 128  # time-embedding width
    attention: bool = True  # self-attention at the coarsest level
    heads: int = 4
    dropout: float = 0.0
    skips: bool = True  # False feeds zeros instead of the skip connections (an ablation; same shapes)
    num_classes: int = 0  # > 0: class-conditional, labels 0..num_classes-1 plus the null label num_classes
    cond_channels: int = 0  # > 0: a conditioning signal (B, cond_channels, L) is concatenated to x_t (SR3)

    def __post_init__(self):
        # JSON gives lists back; keep tuples so that configs compare equal.
        object.__setattr__(self, "mults", tuple(self.mults))
        object.__setattr__(self, "down", tuple(self.down))
        if len(self.down) != len(self.mults) - 1:
            raise ValueError(f"UNetConfig: need len(down) == len(mults) - 1, got down={self.down}, mults={self.mults}")
        chans = [self.base * m for m in self.mults]
        if any(c % self.groups for c in chans):
            raise ValueError(f"UNetConfig: groups={self.groups} must divide every channel count {chans}")
        if self.kernel % 2 == 0:
            raise ValueError(f"UNetConfig: kernel={self.kernel} must be odd (same-length convolutions)")
        if self.num_classes < 0:
            raise ValueError(f"UNetConfig: num_classes={self.num_classes} must be >= 0 (0 means unconditional)")
        if self.cond_channels < 0:
            raise ValueError(f"UNetConfig: cond_channels={self.cond_channels} must be >= 0 (0 means no conditioning)")

    @property
    def channels(self) -> list[int]:
        return [self.base * m for m in self.mults]

    @property
    def total_down(self) -> int:
        return math.prod(self.down)

    @property
    def null_label(self) -> int:
        """The label index that means "no label" (only for ``num_classes > 0``)."""
        return self.num_classes


UNET_PRESETS = {
    # A few seconds of CPU training: for tests and nbval.
    "quick": UNetConfig(base=8, mults=(1, 2, 4), down=(4, 4), n_res=1, groups=4, t_dim=32, heads=2),
    # About 1.35M parameters; trains on a laptop CPU.
    "laptop": UNetConfig(base=16, mults=(1, 2, 4, 8), down=(4, 4, 4), n_res=1, groups=8, t_dim=128),
    # The same shape, wider and deeper, for a GPU.
    "gpu": UNetConfig(base=32, mults=(1, 2, 8, 16), down=(4, 4, 4), n_res=2, groups=8, t_dim=256, heads=8),
}
# Class-conditional twins (chapter 06): the toy notes have 8 pitches x 4 timbres = 32 classes.
UNET_PRESETS.update(
    {f"{name}_cond": replace(c, num_classes=NUM_NOTE_CLASSES) for name, c in list(UNET_PRESETS.items())}
)
# Speech (chapter 10): the vocoder sees a 64-band log-mel (speech.MelConfig), the enhancer the noisy clip.
UNET_PRESETS.update(
    {f"speech_{task}{suffix}": replace(UNET_PRESETS[size], cond_channels=n)
     for task, n in (("vocoder", 64), ("enhancer", 1)) for size, suffix in (("laptop", ""), ("quick", "_quick"))}
)  # fmt: skip


def timestep_features(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal features of the step, as in Transformers and DDPM (App. B).

    Args:
        t: (B,) int64 steps in 1..T, or floats.  dim: even feature width.
    Returns:
        (B, dim) [cos(t w_k), sin(t w_k)] with w_k = max_period ** (-k / (dim / 2)).
    """
    half = dim // 2
    w = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angle = t.float()[:, None] * w[None, :]  # (B, half)
    return torch.cat([angle.cos(), angle.sin()], dim=1)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, with the time embedding as a scale and shift (AdaGN) in between.

    h = conv1(SiLU(GN(x)));  h = GN(h) * (1 + scale(t)) + shift(t);  out = skip(x) + conv2(SiLU(h)).
    Shapes: x (B, C_in, L), emb (B, t_dim) -> (B, C_out, L).
    """

    def __init__(self, c_in: int, c_out: int, t_dim: int, kernel: int, groups: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2 = nn.GroupNorm(groups, c_in), nn.GroupNorm(groups, c_out)
        self.conv1 = nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel, padding=kernel // 2)
        self.emb = nn.Linear(t_dim, 2 * c_out)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity (Dhariwal & Nichol 2021)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None].chunk(2, dim=1)  # each (B, C_out, 1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head self-attention over positions, with a residual: (B, C, L) -> (B, C, L)."""

    def __init__(self, channels: int, heads: int, groups: int):
        super().__init__()
        if channels % heads:
            raise ValueError(f"Attention: heads={heads} must divide channels={channels}")
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.out = nn.Conv1d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, L = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(B, 3, self.heads, C // self.heads, L).transpose(-1, -2).unbind(1)
        h = F.scaled_dot_product_attention(q, k, v)  # (B, heads, L, C / heads)
        return x + self.out(h.transpose(-1, -2).reshape(B, C, L))


class Downsample(nn.Module):
    """Strided conv, kernel f + 2 (f // 2), stride f: (B, C_in, L) -> (B, C_out, L / f)."""

    def __init__(self, c_in: int, c_out: int, factor: int):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, factor + 2 * (factor // 2), stride=factor, padding=factor // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """Nearest-neighbour repeat by f, then a conv: (B, C_in, L) -> (B, C_out, L f). No checkerboard."""

    def __init__(self, c_in: int, c_out: int, factor: int, kernel: int):
        super().__init__()
        self.factor = factor
        self.conv = nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=self.factor, mode="nearest"))


class UNet1D(nn.Module):
    """The denoiser eps_theta(x_t, t) (or x0 / v); see the module docstring for the layout."""

    def __init__(self, config: UNetConfig | None = None):
        super().__init__()
        self.config = c = config if config is not None else UNetConfig()
        ch = c.channels
        block = lambda i, o: ResBlock(i, o, c.t_dim, c.kernel, c.groups, c.dropout)
        self.time_mlp = nn.Sequential(nn.Linear(c.t_dim, c.t_dim), nn.SiLU(), nn.Linear(c.t_dim, c.t_dim))
        if c.num_classes > 0:  # row num_classes is the null label; unconditional nets get no table at all
            self.label_emb = nn.Embedding(c.num_classes + 1, c.t_dim)
        self.stem = nn.Conv1d(1 + c.cond_channels, ch[0], c.kernel, padding=c.kernel // 2)  # sees [x_t, cond]
        self.enc = nn.ModuleList(nn.ModuleList(block(ch[i], ch[i]) for _ in range(c.n_res)) for i in range(len(ch)))
        self.downs = nn.ModuleList(Downsample(ch[i], ch[i + 1], f) for i, f in enumerate(c.down))
        self.mid1, self.mid2 = block(ch[-1], ch[-1]), block(ch[-1], ch[-1])
        self.attn = Attention(ch[-1], c.heads, c.groups) if c.attention else nn.Identity()
        self.ups = nn.ModuleList(Upsample(ch[i + 1], ch[i], f, c.kernel) for i, f in enumerate(c.down))
        self.dec = nn.ModuleList(
            nn.ModuleList(block(2 * ch[i] if j == 0 else ch[i], ch[i]) for j in range(c.n_res)) for i in range(len(ch))
        )
        out_conv = nn.Conv1d(ch[0], 1, c.kernel, padding=c.kernel // 2)
        self.head = nn.Sequential(nn.GroupNorm(c.groups, ch[0]), nn.SiLU(), out_conv)
        nn.init.zeros_(self.head[-1].weight)  # the untrained net predicts 0
        nn.init.zeros_(self.head[-1].bias)

    def check_length(self, length: int) -> None:
        """Raise a readable error unless ``length`` is a multiple of the total down factor."""
        f = self.config.total_down
        if length % f:
            n, factors = len(self.config.down), "x".join(str(d) for d in self.config.down)
            by = f"by {self.config.down[0]}" if len(set(self.config.down)) == 1 else f"by {factors}"
            fix = max(f, round(length / f) * f)
            raise ValueError(f"length {length} must be divisible by {f} ({n} downsamplings {by}); use {fix}")

    def check_labels(self, labels: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        """Validate class labels; return them as (B,) int64, or None for an unconditional net.

        ``None`` on a conditional net means "no label": every clip gets the null label.
        """
        n = self.config.num_classes
        if n == 0:
            if labels is not None:
                raise ValueError("UNet1D was built unconditional (num_classes=0) but got labels; "
                                 "pass labels=None or build it with UNetConfig(num_classes=...)")  # fmt: skip
            return None
        if labels is None:
            return torch.full((batch,), n, dtype=torch.long)
        labels = torch.as_tensor(labels)
        if labels.dtype.is_floating_point or labels.dtype == torch.bool:
            raise ValueError(f"UNet1D labels must be integers, got dtype {labels.dtype}")
        labels = labels.long().reshape(-1).expand(batch)
        has_values = labels.numel() and labels.device.type != "meta"  # meta tensors (device tests) hold none
        lo, hi = (int(labels.min()), int(labels.max())) if has_values else (0, 0)
        if lo < 0 or hi > n:
            raise ValueError(f"UNet1D labels must lie in 0..{n - 1} (or {n}, the null label), got {lo}..{hi}")
        return labels

    def check_cond(self, cond: torch.Tensor | None, x_t: torch.Tensor) -> None:
        """Raise a readable error unless ``cond`` is None for a net without conditioning, else (B, cond_channels, L)."""
        n = self.config.cond_channels
        if n == 0 and cond is not None:
            raise ValueError("UNet1D was built without a conditioning input (cond_channels=0) but got cond; "
                             "pass cond=None or build it with UNetConfig(cond_channels=...)")  # fmt: skip
        if n > 0 and cond is None:
            raise ValueError(f"UNet1D was built with cond_channels={n}: pass cond shaped (B, {n}, L) "
                             "(the noisy clip, or the upsampled log-mel: speech.py)")  # fmt: skip
        if cond is not None and cond.shape != (x_t.shape[0], n, x_t.shape[-1]):
            want = (x_t.shape[0], n, x_t.shape[-1])
            raise ValueError(f"UNet1D cond must be shaped {want} like x_t with {n} channels, got {tuple(cond.shape)}")

    def stages(
        self, x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None, cond: torch.Tensor | None = None
    ):
        """Run the network and yield (stage name, module, output) after every stage; the last is the output.

        Args:
            x_t: (B, 1, L) noisy audio, L divisible by ``config.total_down``.  t: (B,) steps (int or float).
            labels: (B,) int64 class labels in 0..num_classes-1, or the null label num_classes, or None
                (unconditional nets: must be None; conditional nets: None means all null).
            cond: (B, cond_channels, L) conditioning signal for nets with ``cond_channels > 0``, else None.
        """
        if x_t.dim() != 3 or x_t.shape[1] != 1:
            raise ValueError(f"UNet1D expects x_t shaped (B, 1, L), got {tuple(x_t.shape)}")
        self.check_length(x_t.shape[-1])
        self.check_cond(cond, x_t)
        labels = self.check_labels(labels, x_t.shape[0])
        t = t.to(x_t.device).reshape(-1).expand(x_t.shape[0])
        emb = self.time_mlp(timestep_features(t, self.config.t_dim).to(x_t.dtype))  # (B, t_dim)
        if labels is not None:
            emb = emb + self.label_emb(labels.to(x_t.device)).to(emb.dtype)  # (B, t_dim): time + class
        if cond is not None:
            x_t = torch.cat([x_t, cond.to(x_t.dtype)], dim=1)  # (B, 1 + cond_channels, L), as SR3 does
        h = self.stem(x_t)  # (B, C_0, L)
        yield "stem", self.stem, h
        skips = []
        for i, blocks in enumerate(self.enc):
            for j, blk in enumerate(blocks):
                h = blk(h, emb)
                yield f"enc{i}.res{j}", blk, h
            skips.append(h)
            if i < len(self.downs):
                h = self.downs[i](h)  # (B, C_{i+1}, L_i / down[i])
                yield f"down{i}", self.downs[i], h
        h = self.mid1(h, emb)
        yield "mid.res0", self.mid1, h
        h = self.attn(h)
        yield "mid.attn", self.attn, h
        h = self.mid2(h, emb)
        yield "mid.res1", self.mid2, h
        for i in reversed(range(len(self.enc))):
            if i < len(self.ups):
                h = self.ups[i](h)  # (B, C_i, L_i)
                yield f"up{i}", self.ups[i], h
            skip = skips.pop()
            h = torch.cat([h, skip if self.config.skips else torch.zeros_like(skip)], dim=1)  # (B, 2 C_i, L_i)
            for j, blk in enumerate(self.dec[i]):
                h = blk(h, emb)
                yield f"dec{i}.res{j}", blk, h
        yield "head", self.head, self.head(h)

    def forward(
        self, x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Predict eps (or x0, or v) for every sample of the clip at once: (B, 1, L), (B,) -> (B, 1, L).

        ``labels`` (B,) int64 only for class-conditional nets; ``cond`` (B, cond_channels, L) only for nets with a
        conditioning input (see :meth:`stages`).
        """
        *_, (_, _, out) = self.stages(x_t, t, labels, cond)
        return out


def count_params(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _conv_layers(module: nn.Module):
    """(kernel, stride, upsample factor) of each length-changing or length-mixing layer, in forward order."""
    if isinstance(module, Upsample):
        return [(1, 1, module.factor), (module.conv.kernel_size[0], 1, 1)]
    if isinstance(module, ResBlock):
        return [(module.conv1.kernel_size[0], 1, 1), (module.conv2.kernel_size[0], 1, 1)]
    if isinstance(module, nn.Conv1d):
        return [(module.kernel_size[0], module.stride[0], 1)]
    return [(m.kernel_size[0], m.stride[0], 1) for m in module.modules() if isinstance(m, nn.Conv1d)]


def trace_shapes(
    model: UNet1D, x_t: torch.Tensor, t: torch.Tensor, sr: int = 8000, cond: torch.Tensor | None = None
) -> list[dict]:
    """Run one batch through ``model`` and describe every stage.

    The receptive field counts input samples that can reach one output sample of the stage
    through the convolutions along the main path (r <- r + (k - 1) j, j <- j s, and
    j <- j / f after an upsampling by f). GroupNorm statistics and attention reach further
    (the whole clip), but only through averages.

    Returns:
        A list of dicts with keys stage, shape, params, rf (samples), rf_ms (milliseconds at ``sr``).
    """
    rows, rf, jump = [], 1.0, 1.0
    with torch.no_grad():
        for name, module, h in model.stages(x_t, t, cond=cond):
            for k, s, up in _conv_layers(module):
                jump /= up
                rf += (k - 1) * jump
                jump *= s
            rows.append(
                {
                    "stage": name,
                    "shape": tuple(h.shape),
                    "params": count_params(module),
                    "rf": int(rf),
                    "rf_ms": 1000 * rf / sr,
                }  # fmt: skip
            )
    return rows


def format_trace(rows: list[dict]) -> str:
    """The rows of :func:`trace_shapes` as a fixed-width table."""
    lines = [f"{'stage':<10} {'output shape':<18} {'params':>9} {'rf (samples)':>13} {'rf (ms)':>8}"]
    for r in rows:
        lines.append(f"{r['stage']:<10} {str(r['shape']):<18} {r['params']:>9,} {r['rf']:>13} {r['rf_ms']:>8.1f}")
    return "\n".join(lines)
