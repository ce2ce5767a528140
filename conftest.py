"""Settings for every pytest run, set before any notebook kernel starts.

Kernels started by nbval inherit this process's environment, so this is where it is set, by
``audiodiff_minimal.utils.notebook_environment`` (as for the site build and benchmarks/chapter_times.py): quick
mode is switched on (``AUDIODIFF_QUICK=1``; set it to 0 yourself for a full run).
"""

import os

# Importing the package first sets OMP_WAIT_POLICY=PASSIVE before torch starts its OpenMP runtime.
from audiodiff_minimal.utils import notebook_environment

# pytest-xdist runs one worker per core (pyproject.toml): each worker, and the kernels it starts, gets its share
# of the cores rather than every worker's torch using all of them (a thread count set by whoever runs pytest wins).
_workers = int(os.environ["PYTEST_XDIST_WORKER_COUNT"]) if "PYTEST_XDIST_WORKER_COUNT" in os.environ else None
notebook_environment(jobs=_workers, environ=os.environ)  # quick mode unless AUDIODIFF_QUICK is set
if _workers is not None:  # torch read the thread count when it was imported, before the share was set
    import torch  # imported by utils above, after the package set OMP_WAIT_POLICY (an import above would precede it)

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


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
