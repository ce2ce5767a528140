"""How much OMP_WAIT_POLICY matters on a CPU that other programs share (issue 15; README's troubleshooting).

OpenMP threads that finish their share of a parallel loop spin while they wait for the others ("ACTIVE",
the default of GNU OpenMP for a short while) or sleep ("PASSIVE"). When another program holds a core,
spinning threads fight it and every parallel region waits for the slowest thread. This script times the
same work, a forward pass of the laptop U-Net on 4 clips of 4096 samples, in fresh processes with the
policy unset and PASSIVE, on a quiet machine and with one busy process per core beside it.

    python benchmarks/busy_cpu.py            # about 1-2 minutes
    python benchmarks/busy_cpu.py --reps 20

Prints the median seconds per pass with a bootstrap 95% interval of the median (n = --reps passes each).
The policy must be set before torch is first imported, so each setting runs in its own process.
"""

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time

import numpy as np

WORK = """
import json, sys, time, torch
from audiodiff_minimal.models.unet1d import UNET_PRESETS, UNet1D
torch.manual_seed(0)
model = UNet1D(UNET_PRESETS["laptop"]).eval()
x, t = torch.randn(4, 1, 4096), torch.full((4,), 500)
times = []
with torch.no_grad():
    model(x, t)  # warm-up
    for _ in range(int(sys.argv[1])):
        start = time.perf_counter()
        model(x, t)
        times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def spin(seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        pass


def timed(policy: str | None, reps: int) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = WORK if policy is None else f"import os; os.environ['OMP_WAIT_POLICY'] = {policy!r}\n" + WORK
    if policy is None:  # importing audiodiff_minimal would set PASSIVE: import torch first, unset
        code = "import torch\n" + WORK
    done = subprocess.run([sys.executable, "-c", code, str(reps)], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def median_ci(values, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    v = np.asarray(values)
    rng = np.random.default_rng(seed)
    boots = np.median(rng.choice(v, size=(n_boot, len(v))), axis=1)
    return float(np.median(v)), float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    print(f"{os.cpu_count()} logical CPUs; forward pass of the laptop U-Net on 4 x 4096 samples; n = {args.reps}")
    print("| machine | OMP_WAIT_POLICY | median s/pass | 95% CI |")
    print("|---|---|---|---|")
    for load in (False, True):
        busy = []
        if load:
            busy = [multiprocessing.Process(target=spin, args=(600,)) for _ in range(os.cpu_count() or 1)]
            for p in busy:
                p.start()
        try:
            for policy in (None, "PASSIVE"):
                med, lo, hi = median_ci(timed(policy, args.reps))
                print(f"| {'busy' if load else 'quiet'} | {policy or 'unset'} | {med:.3f} | {lo:.3f}-{hi:.3f} |")
        finally:
            for p in busy:
                p.terminate()


if __name__ == "__main__":
    main()
