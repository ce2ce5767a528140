"""Devices, seeds and the quick-mode flag (introduced in ``00_setup.ipynb``).

Quick mode is how the test suite executes every notebook on a 2-core CPU in
seconds: notebooks ask :func:`quick_mode` (or :func:`pick`) for their sizes,
and the pytest run sets ``AUDIODIFF_QUICK=1`` before any kernel starts.
"""

import math
import os
import random

import numpy as np
import torch

QUICK_ENV = "AUDIODIFF_QUICK"
DEVICE_ENV = "AUDIODIFF_DEVICE"


def quick_mode() -> bool:
    """True when ``AUDIODIFF_QUICK`` is set to 1/true/yes (the test suite sets it)."""
    return os.environ.get(QUICK_ENV, "0").strip().lower() in {"1", "true", "yes", "on"}


def pick(quick, full):
    """Return ``quick`` in quick mode and ``full`` otherwise: ``steps = pick(50, 5000)``."""
    return quick if quick_mode() else full


def to_numpy(x, dtype=np.float64) -> np.ndarray:
    """A tensor (any device, with or without grad) or array-like as a NumPy array of ``dtype``; shape kept."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().to(torch.float64 if dtype == np.float64 else torch.float32).numpy()
    return np.asarray(x, dtype=dtype)


def get_device(name: str | None = None) -> torch.device:
    """Pick the device: ``name``, else ``$AUDIODIFF_DEVICE``, else cuda, mps, cpu in that order."""
    name = name or os.environ.get(DEVICE_ENV)
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a seeded CPU ``torch.Generator``.

    Draw noise for check cells from the returned CPU generator and move it to the
    device, so numbers agree across devices (STYLE.md section 8).
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds cuda and mps
    return torch.Generator().manual_seed(seed)


def cosine_decay(progress: float, min_frac: float) -> float:
    """Half a cosine from 1 at ``progress`` 0 down to ``min_frac`` at ``progress`` >= 1 (Loshchilov & Hutter 2017).

    The learning-rate factor of every training run (``train.lr_at``, ``models.linear.train_linear_eps``).
    """
    return min_frac + (1 - min_frac) * 0.5 * (1 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))
