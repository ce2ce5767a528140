"""Devices, seeds and the quick-mode flag (introduced in ``00_setup.ipynb``).

Quick mode is how the test suite executes every notebook on a 2-core CPU in
seconds: notebooks ask :func:`quick_mode` (or :func:`pick`) for their sizes,
and the pytest run sets ``AUDIODIFF_QUICK=1`` before any kernel starts.
"""

import math
import os
import random
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

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


def notebook_environment(
    quick: bool | None = None, jobs: int | None = None, environ: MutableMapping[str, str] | None = None
) -> MutableMapping[str, str]:
    """The environment of the kernels that execute the notebooks: nbval's (``conftest.py``), the site build's
    (``site/``) and the timing benchmark's (``benchmarks/chapter_times.py``), written once.

    ``quick``: True or False sets ``AUDIODIFF_QUICK`` to 1 or 0; None keeps the value ``environ`` has (1 if unset).
    ``jobs``: how many kernels run at the same time; each gets its share of the cores, ``cpu_count // jobs``
    (at least 1), as ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS``; None leaves the thread counts alone.
    ``environ``: the mapping to fill in, changed in place and returned; None: a copy of ``os.environ``. Pass
    ``os.environ`` itself where this process starts the kernels (they inherit it), before torch is imported.
    A value already set is kept (a reader's own ``OMP_NUM_THREADS=1`` wins), except ``MPLBACKEND``, which is
    removed (an inherited Agg backend hides every figure inside a kernel). Also set: writable caches for numba
    (librosa) and matplotlib in the temporary folder, ``PYTHONHASHSEED=0``, ``OMP_WAIT_POLICY=PASSIVE`` (spinning
    OpenMP threads slow torch down many times on a shared CPU), and no debugger warning at kernel start.
    """
    env = dict(os.environ) if environ is None else environ
    if quick is not None:
        env[QUICK_ENV] = "1" if quick else "0"
    cache = Path(tempfile.gettempdir()) / "audiodiff-minimal-cache"
    defaults = {
        QUICK_ENV: "1",
        "NUMBA_CACHE_DIR": str(cache / "numba"),
        "MPLCONFIGDIR": str(cache / "matplotlib"),
        "PYTHONHASHSEED": "0",
        "OMP_WAIT_POLICY": "PASSIVE",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    if jobs is not None:
        share = str(max(1, (os.cpu_count() or 1) // max(1, jobs)))
        defaults.update(OMP_NUM_THREADS=share, MKL_NUM_THREADS=share)
    for key, value in defaults.items():
        env.setdefault(key, value)
    env.pop("MPLBACKEND", None)
    return env
