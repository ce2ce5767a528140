"""Build the book as a static website: `python site/build.py` (quick mode) or `python site/build.py --full`.

The site lands in site/_build/quick/html (or site/_build/full/html); open its index.html in a browser, or serve
it with `python -m http.server -d site/_build/quick/html`. Notebooks are executed by MyST-NB through a
jupyter-cache (site/_build/MODE/jupyter_cache): a rebuild re-runs only the notebooks that changed, and all of
them after a change to the package or a shipped checkpoint. A cell that raises fails the build.
Quick mode (AUDIODIFF_QUICK=1) runs every chapter in seconds; full mode is what a reader sees running a chapter.
Extra arguments go to sphinx-build (e.g. `-E` to re-read every page).
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from audiodiff_minimal.utils import notebook_environment

SITE = Path(__file__).resolve().parent
ROOT = SITE.parent


def output_dir(full: bool = False) -> Path:
    """Where the HTML of a quick (or full) build lands."""
    return SITE / "_build" / ("full" if full else "quick") / "html"


def build(full: bool = False, jobs: int | None = None, extra: list[str] | None = None) -> Path:
    """Run sphinx-build; `jobs` notebooks execute at a time (default: one per core), each kernel with its share
    of the cores' threads (as pytest-xdist's workers get theirs in conftest.py): `notebook_environment`."""
    mode = "full" if full else "quick"
    jobs = jobs or os.cpu_count() or 1
    env = notebook_environment(quick=not full, jobs=jobs)
    out = output_dir(full)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-j", str(jobs), "-c", str(SITE)]
    cmd += ["-d", str(SITE / "_build" / mode / "doctrees"), *(extra or []), str(ROOT), str(out)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)
    print(f"{mode} site built in {time.perf_counter() - start:.0f} s: {out / 'index.html'}")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="full mode (AUDIODIFF_QUICK=0): what a reader runs")
    parser.add_argument("--jobs", type=int, default=None, help="notebooks executed at a time (default: cores)")
    args, extra = parser.parse_known_args(argv)
    try:
        build(args.full, args.jobs, extra)
    except subprocess.CalledProcessError as err:
        sys.exit(err.returncode)


if __name__ == "__main__":
    main()
