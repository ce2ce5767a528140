"""The shipped results of chapters 04 and 05: what their full-mode "Run All" would compute for too long (issue 15).

A chapter whose full computation takes more than a few minutes on a 2-core laptop loads the table written here
(``data/results/*.json``) and offers ``RECOMPUTE = True`` to compute it in the notebook instead. Each command
runs exactly what the chapter's cell runs, with the chapter's full-mode settings, and records n, seeds, date,
the machine and its load in ``meta``:

    python benchmarks/chapter_results.py train --json data/results/ch04_training.json          # ~15 min, 2 cores
    python benchmarks/chapter_results.py sweep --json data/results/ch05_steps_vs_quality.json  # ~20-40 min, 2 cores
    python benchmarks/chapter_results.py sweep --n 16 --steps 5 10 --json runs/smoke.json    # a smoke run

``train``: the laptop U-Net trained as chapter 04 trains it (``train_unet``, toy notes, seed 0) for ``--steps``,
then the EMA model's held-out loss (``train.mean_loss`` on 16 toy notes, seed 1234) against predicting zero.
``sweep``: ``generate.steps_vs_quality`` of a checkpoint for every sampler and step count, against ``--n-ref``
real notes (seed 777), as chapter 05 calls it; the file is rewritten after every setting (``complete`` says
whether all were done), so a stopped run leaves the settings it finished.
"""

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import audiodiff_minimal  # noqa: F401  first, before torch: it sets OMP_WAIT_POLICY=PASSIVE

# isort: split
import torch
from tqdm.auto import tqdm

from audiodiff_minimal.data import toy_notes
from audiodiff_minimal.generate import real_rows, steps_vs_quality
from audiodiff_minimal.models.unet1d import UNET_PRESETS
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.schedules import make_schedule
from audiodiff_minimal.train import TRAIN_PRESETS, mean_loss, train_unet
from audiodiff_minimal.utils import get_device, seed_everything


def meta(args, **extra) -> dict:
    """Who made the file, how, when and on what (the load average says how busy the machine was)."""
    return {
        "command": "python benchmarks/chapter_results.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads",
        "load_avg_1min_start": round(os.getloadavg()[0], 2),
        **extra,
    }


def write(path: str, result: dict) -> None:
    result["meta"]["load_avg_1min_now"] = round(os.getloadavg()[0], 2)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=1) + "\n")


def train(args) -> None:
    """Chapter 04, section 4: train the preset, then its held-out loss against predicting zero."""
    seed_everything(0)
    device = get_device(args.device)
    unet_config = UNET_PRESETS[args.preset]
    train_config = replace(TRAIN_PRESETS[args.preset], steps=args.steps)
    info = meta(args, preset=args.preset, steps=args.steps, seed=train_config.seed, device=str(device),
                heldout="16 toy notes, seed 1234; mean_loss with 8 t, seed 0")  # fmt: skip
    start = time.perf_counter()
    result = train_unet(unet_config, train_config, data="toy", device=device, progress=True)
    wall_s = time.perf_counter() - start
    x0_heldout = toy_notes(16, train_config.length, train_config.sr, seed=1234)[0]  # as chapter 04's knobs cell
    schedule = make_schedule(train_config.schedule, train_config.T)
    write(args.json, {
        "meta": {**info, "wall_s": round(wall_s, 1), "samples_per_s": round(result.samples_per_s, 2)},
        "unet_config": asdict(unet_config),
        "train_config": asdict(train_config),
        "losses": [float(f"{v:.5g}") for v in result.losses],
        "heldout_ema_loss": mean_loss(result.ema_model, x0_heldout, schedule, train_config.prediction),
        "heldout_zero_loss": mean_loss(lambda x_t, t: 0 * x_t, x0_heldout, schedule, train_config.prediction),
    })  # fmt: skip


def sweep(args) -> None:
    """Chapter 05, section 5: steps versus quality, one setting at a time, cheapest first."""
    seed_everything(args.seed)
    model, record = load_model(args.checkpoint, get_device(args.device))
    reference = toy_notes(args.n_ref, length=record.length, sr=record.sr, seed=777)[0]
    settings = sorted(((s, name) for s in args.steps for name in ("ddpm", "ddim", "dpm")), key=lambda p: p[0])
    real, bounds = real_rows(reference, n=args.n)
    device = str(next(model.parameters()).device)
    info = meta(args, checkpoint=args.checkpoint, checkpoint_step=record.step, n=args.n, n_ref=args.n_ref,
                seed=args.seed, reference_seed=777, steps_list=args.steps, device=device)  # fmt: skip
    result = {"meta": info, "complete": False, "rows": [], "real": real, "bounds": bounds}
    start = time.perf_counter()
    for steps, name in tqdm(settings, desc="settings"):
        result["rows"] += steps_vs_quality(model, record, reference, (name,), [steps], args.n, args.seed, progress=True)
        result["meta"]["wall_s"] = round(time.perf_counter() - start, 1)
        write(args.json, result)
    order = {name: i for i, name in enumerate(("ddpm", "ddim", "dpm"))}
    result["rows"].sort(key=lambda r: (order[r["sampler"]], r["steps"]))  # as steps_vs_quality orders them
    result["complete"] = True
    write(args.json, result)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("train", help="chapter 04: the training run and its held-out loss")
    p.add_argument("--preset", default="laptop")
    p.add_argument("--steps", type=int, default=2000)
    p = sub.add_parser("sweep", help="chapter 05: steps versus quality")
    p.add_argument("--checkpoint", default="notes_unet")
    p.add_argument("--n", type=int, default=64, help="generated clips per setting")
    p.add_argument("--n-ref", type=int, default=256, help="real reference clips")
    p.add_argument("--steps", type=int, nargs="+", default=[5, 10, 20, 50, 100, 250, 1000])
    p.add_argument("--seed", type=int, default=0)
    for p in sub.choices.values():
        p.add_argument("--json", required=True, help="write the result here")
        p.add_argument("--device", default=None)
        p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    {"train": train, "sweep": sweep}[args.what](args)


if __name__ == "__main__":
    main()
