"""Process CPU time per training step of chapter 07's like-for-like pair, one thread (issue 12).

notes_wavenet and notes_unet_small were given the same *wall-clock* time on a shared CPU (1387 s and 1363 s).
Wall clock on a busy machine is not a budget, so this measures what a step costs in process CPU time with the
shipped recipes (WaveNet: batch 8 of 4096 samples; small U-Net: the laptop recipe, batch 16 of 4096), and
multiplies by the steps each was trained for: an estimate of the CPU time each actually used.

    python benchmarks/train_cpu_per_step.py              # about 1 min of CPU
"""

import argparse
import time
from dataclasses import replace

import torch

from audiodiff_minimal.models.unet1d import UNET_PRESETS
from audiodiff_minimal.models.wavenet import WaveNet, WaveNetConfig
from audiodiff_minimal.train import TRAIN_PRESETS, train_unet, train_wavenet

TRAINED_STEPS = {"notes_wavenet": 1500, "notes_unet_small": 11000}  # from the two model cards


def run(name: str, steps: int) -> tuple[float, float]:
    """(process CPU s, wall s) of a whole training call of ``steps`` steps."""
    t0, w0 = time.process_time(), time.perf_counter()
    if name == "notes_wavenet":
        train_wavenet(WaveNet(WaveNetConfig()), steps=steps, batch=8, lr=2e-3, seed=0, progress=False)
    else:
        unet = replace(UNET_PRESETS["laptop"], base=8, mults=(1, 2, 4, 4), t_dim=64)
        train_unet(unet, replace(TRAIN_PRESETS["laptop"], steps=steps), progress=False)
    return time.process_time() - t0, time.perf_counter() - w0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="measured steps (a 2-step run is subtracted)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # as both shipped runs
    for name, trained in TRAINED_STEPS.items():
        (c0, w0), (c1, w1) = run(name, 2), run(name, 2 + args.steps)
        cpu, wall = (c1 - c0) / args.steps, (w1 - w0) / args.steps
        print(
            f"{name}: {cpu:.3f} s process CPU per step ({wall:.3f} s wall), x {trained} steps = "
            f"{cpu * trained:.0f} s of CPU ({args.steps} steps, setup subtracted, 1 thread)"
        )


if __name__ == "__main__":
    main()
