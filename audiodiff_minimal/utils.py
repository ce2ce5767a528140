"""Devices, seeds and the quick-mode flag (introduced in ``00_setup.ipynb``).

Quick mode is how the test suite executes every notebook on a 2-core CPU in
seconds: notebooks ask :func:`quick_mode` (or :func:`pick`) for their sizes,
and the pytest run sets ``AUDIODIFF_QUICK=1`` before any kernel starts.
"""

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
