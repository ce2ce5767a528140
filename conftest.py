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
