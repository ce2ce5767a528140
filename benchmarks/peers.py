"""The models that ``benchmarks/train_throughput.py`` compares, behind one calling convention.

Every builder returns an ``nn.Module`` whose forward is ``model(x_t, t) -> eps_hat`` with
``x_t`` (B, 1, L) float32 and ``t`` (B,) int64 in 1..T (T = 1000), like our ``UNet1D``.
The adapters translate ``t`` into what each peer expects and nothing else.

Peers (installed only through the optional ``bench`` extra, see ``benchmarks/README.md``):
- lucidrains ``denoising-diffusion-pytorch`` ``Unet1D`` (the Ho et al. 2020 U-Net in 1-D):
  sinusoidal embedding of the raw step index, as its ``GaussianDiffusion1D`` feeds it.
- diffusers ``UNet1DModel`` with dance-diffusion blocks: a Gaussian Fourier embedding of
  t / T in [0, 1], concatenated to the input as ``extra_in_channels`` channels.

A peer that cannot be imported raises :class:`PeerUnavailable`, which the benchmark turns into
a "skipped: <reason>" row instead of crashing.
"""

import dataclasses
import importlib
import importlib.util
import math
import sys
import types

import torch
from torch import nn

from audiodiff_minimal.models.unet1d import count_params

T_STEPS = 1000


class PeerUnavailable(RuntimeError):
    """A model in the table cannot be built here (package missing or failing to import)."""


# --- lucidrains denoising-diffusion-pytorch ---------------------------------------------------


def import_lucidrains_1d():
    """Import ``denoising_diffusion_pytorch.denoising_diffusion_pytorch_1d`` without torchvision.

    The package's ``__init__`` imports its 2-D modules, which import torchvision; a PyPI
    torchvision beside a CPU torch fails to import (see benchmarks/PEERS.md), and we do not
    install it at all. The 1-D module itself needs only torch, einops, accelerate and ema-pytorch,
    so if the normal import fails we register the package as a bare namespace (its ``__init__``
    is not run) and import the 1-D submodule from it.
    """
    name = "denoising_diffusion_pytorch"
    try:
        return importlib.import_module(f"{name}.denoising_diffusion_pytorch_1d")
    except Exception as error:  # ImportError, or a broken torchvision's RuntimeError
        first_error = error
    spec = importlib.util.find_spec(name) if name not in sys.modules else None
    if spec is None or spec.submodule_search_locations is None:
        raise PeerUnavailable(f"{name} not installed ({first_error}); see benchmarks/README.md") from first_error
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]  # drop the half-imported package left by the failed attempt
    package = types.ModuleType(name)
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = package
    try:
        return importlib.import_module(f"{name}.denoising_diffusion_pytorch_1d")
    except ImportError as error:
        raise PeerUnavailable(f"{name} 1-D module does not import: {error}") from error


class LucidrainsAdapter(nn.Module):
    """lucidrains ``Unet1D`` called with the integer step index as a float, as its ``GaussianDiffusion1D`` does."""

    def __init__(self, dim: int):
        super().__init__()
        module = import_lucidrains_1d()
        # channels=1: mono audio. Its attention width is fixed (4 heads x 32) whatever dim is.
        self.net = module.Unet1D(dim=dim, dim_mults=(1, 2, 4, 8), channels=1)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # GaussianDiffusion1D uses steps 0..T-1 for our 1..T.
        return self.net(x_t, (t - 1).to(x_t.dtype))  # (B, 1, L)


# --- diffusers UNet1DModel (dance diffusion) ----------------------------------------------------

DANCE_DOWN = ("DownBlock1DNoSkip", "DownBlock1D", "DownBlock1D", "DownBlock1D", "AttnDownBlock1D", "AttnDownBlock1D")
DANCE_1M, DANCE_4M = (16, 16, 32, 32, 64, 64), (32, 32, 64, 64, 128, 128)  # block_out_channels, 1.13M / 4.48M
DANCE_UP = ("AttnUpBlock1D", "AttnUpBlock1D", "UpBlock1D", "UpBlock1D", "UpBlock1D", "UpBlock1DNoSkip")


class DiffusersAdapter(nn.Module):
    """diffusers ``UNet1DModel`` with six dance-diffusion blocks, called with t / T in (0, 1]."""

    def __init__(self, channels: tuple[int, ...], length: int):
        super().__init__()
        try:
            from diffusers import UNet1DModel
        except Exception as error:  # ImportError, or torchvision's RuntimeError when a CUDA build sits beside CPU torch
            raise PeerUnavailable(f"diffusers does not import: {type(error).__name__}: {error}") from error
        time_embed_dim = 2 * channels[0]  # Fourier embedding size; it is concatenated to the input channels
        self.net = UNet1DModel(
            sample_size=length,
            in_channels=1,
            out_channels=1,
            extra_in_channels=time_embed_dim,
            block_out_channels=channels,
            down_block_types=DANCE_DOWN,
            up_block_types=DANCE_UP,
            time_embedding_type="fourier",
            flip_sin_to_cos=True,
            use_timestep_embedding=False,
        )

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(x_t, t.to(x_t.dtype) / T_STEPS).sample  # (B, 1, L)


# --- ours ------------------------------------------------------------------------------------------


def ours_config(target: float, preset: str = "laptop"):
    """Our ``UNetConfig``: the shape of ``UNET_PRESETS[preset]`` at the width ``base`` nearest ``target`` parameters.

    Scaling one preset keeps the comparison about the architecture B ships, whatever its
    default width; the table prints the chosen ``base`` and the exact count.
    """
    try:
        from audiodiff_minimal.models.unet1d import UNET_PRESETS, UNet1D
    except ImportError as error:
        raise PeerUnavailable(f"audiodiff_minimal.models.unet1d does not import: {error}") from error
    shape = UNET_PRESETS[preset]

    def size(base: int) -> int:
        return count_params(UNet1D(dataclasses.replace(shape, base=base)))

    sizes = {}  # base -> parameter count, which grows with base; stop once past the target
    for base in range(shape.groups, 16 * shape.groups + 1, shape.groups):  # GroupNorm needs groups | base * mult
        sizes[base] = size(base)
        if sizes[base] > target:
            break
    best = min(sizes, key=lambda b: abs(math.log(sizes[b] / target)))
    return dataclasses.replace(shape, base=best)


def build_ours(target: float) -> nn.Module:
    """Our ``UNet1D`` at about ``target`` parameters (see :func:`ours_config`)."""
    from audiodiff_minimal.models.unet1d import UNet1D

    return UNet1D(ours_config(target))


# name -> (description, builder(length) -> nn.Module)
MODELS = {
    "ours-1m": ("ours UNet1D", lambda length: build_ours(1.1e6)),
    "ours-4m": ("ours UNet1D", lambda length: build_ours(4.2e6)),
    "lucidrains-1m": ("lucidrains Unet1D dim=16", lambda length: LucidrainsAdapter(16)),
    "lucidrains-4m": ("lucidrains Unet1D dim=32", lambda length: LucidrainsAdapter(32)),
    "diffusers-1m": ("diffusers UNet1DModel (16,16,32,32,64,64)", lambda length: DiffusersAdapter(DANCE_1M, length)),
    "diffusers-4m": ("diffusers UNet1DModel (32,32,64,64,128,128)", lambda length: DiffusersAdapter(DANCE_4M, length)),
}


def describe(name: str, model: nn.Module) -> str:
    """A short description of ``model`` for the table (our width is chosen at build time)."""
    config = getattr(model, "config", None)
    if name.startswith("ours") and config is not None:
        compact = lambda xs: ",".join(str(x) for x in xs)
        return f"ours UNet1D base={config.base} mults=({compact(config.mults)}) down=({compact(config.down)})"
    return MODELS[name][0]


def build(name: str, length: int) -> nn.Module:
    """Build model ``name`` (a key of :data:`MODELS`) for clips of ``length`` samples."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name][1](length)
