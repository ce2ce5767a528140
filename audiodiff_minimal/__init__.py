"""audiodiff-minimal: a notebook-first textbook on diffusion models for raw audio.

The package holds every function the notebooks use, one module per concept
(see ``../shared/STYLE.md`` and the README's module table).
"""

__version__ = "0.1.0"
