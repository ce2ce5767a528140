"""``python -m audiodiff_minimal ...``: the command line lives in :mod:`audiodiff_minimal.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
