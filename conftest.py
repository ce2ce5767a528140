"""Settings for every pytest run, set before any notebook kernel starts.

Kernels started by nbval inherit this process's environment, so this is where
quick mode is switched on (``AUDIODIFF_QUICK=1``; set it to 0 yourself for a full run).
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("AUDIODIFF_QUICK", "1")
_cache = Path(tempfile.gettempdir()) / "audiodiff-minimal-cache"
os.environ.setdefault("NUMBA_CACHE_DIR", str(_cache / "numba"))  # librosa's numba needs a writable cache
os.environ.setdefault("MPLCONFIGDIR", str(_cache / "matplotlib"))
os.environ.pop("MPLBACKEND", None)  # an inherited Agg backend hides figures inside kernels
os.environ.setdefault("PYTHONHASHSEED", "0")
# OpenMP threads that spin while waiting slow torch down badly when other processes share the cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# pytest-xdist runs one worker per core (pyproject.toml): give each worker, and the kernels it starts, its
# share of the cores rather than letting every worker's torch use all of them.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("OMP_NUM_THREADS", str(_share))
    os.environ.setdefault("MKL_NUM_THREADS", str(_share))


def pytest_collection_modifyitems(config, items):
    """Markers by kind, so `python -m pytest -m "not notebook"` gives quick feedback (see the README).

    unit: tests/ except the ones below; notebook: every notebook cell (nbval); distributed: torchrun runs;
    slow: tests that take more than a few seconds each on 2 cores (training, the mutation harness's end-to-end run).
    site: the website and chapter 01 in JupyterLab, in headless Chromium (tests/test_site.py marks them, and slow).
    """
    import pytest

    for item in items:
        path = str(item.fspath)
        if path.endswith(".ipynb"):
            item.add_marker(pytest.mark.notebook)
        elif "test_distributed" in path:
            item.add_marker(pytest.mark.distributed)
            item.add_marker(pytest.mark.slow)
        else:
            item.add_marker(pytest.mark.unit)
