"""audiodiff-minimal: a notebook-first textbook on diffusion models for raw audio.

The package holds every function the notebooks use, one module per concept (the house style is in
``docs/STYLE.md``; the README has the table of modules). Its modules stand in layers, and a module
imports only from layers below its own (``tests/test_layers.py`` enforces it, so there are no loops)::

    7  __main__
    6  cli                                        the command line; owns the process group
    5  train, registry, generate                  the loop; kind -> network; sampling a checkpoint
    4  models.*, checkpoint, distributed, metrics  networks; the checkpoint record (knows no model); DDP;
                                                measures on a classifier's features (imports no network)
    3  losses, samplers, guidance, evaluate, edm, flow, classical  the math of training, sampling and measuring
                                                (edm, flow: continuous time, chapter 09)
    2  forward, spectral, data, speech            q(x_t | x_0), spectra, audio to learn from (speech: FSDD, chapter 10)
    1  schedules, audio, fsdd                     noise schedules, WAV files, downloads
    0  utils                                      devices, seeds, quick mode, small helpers

Importing the package sets ``OMP_WAIT_POLICY=PASSIVE`` unless you set it yourself: OpenMP threads
that spin while they wait slow torch down many times on a CPU that other programs share
(``benchmarks/busy_cpu.py`` measures it). It must be set before torch is first imported, so import ``audiodiff_minimal``
first (the notebooks do); see the README's troubleshooting section.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
