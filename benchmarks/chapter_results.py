"""The shipped results of the chapters: what a full-mode "Run All" would compute for too long (issue 15).

A chapter whose full computation takes more than a few minutes on a 2-core laptop loads the table written here
(``data/results/*.json``) and offers ``RECOMPUTE = True`` to compute it in the notebook instead. Each command
runs what the chapter's cell runs and records n, seeds, date, the machine and its load in ``meta``:

    # chapter 05's full-mode grid: 64 clips, 5..1000 steps, 256 references (~17 min on a quiet 2-core CPU)
    python benchmarks/chapter_results.py sweep --json data/results/ch05_steps_vs_quality.json
    # the shipped file: fewer clips and steps (the full grid took too long on the shared machine)
    python benchmarks/chapter_results.py sweep --n 32 --steps 5 10 20 50 100 \
        --json data/results/ch05_steps_vs_quality.json
    python benchmarks/chapter_results.py sweep --n 4 --steps 5 10 --json runs/smoke.json     # a smoke run

``sweep``: ``generate.steps_vs_quality`` of a checkpoint for every sampler and step count, against ``--n-ref``
real notes (seed 777), as chapter 05 calls it, and ``generate.real_rows`` (real notes, FD-mel floor and ceiling)
at the same n. ``--json`` is written when every setting is done; until then ``<json>.partial`` is rewritten after
each setting (``complete`` false), so a stopped run leaves the settings it finished. Chapter 04 needs no file: its
fully trained model is the shipped checkpoint (``data/checkpoints/notes_unet``).
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import audiodiff_minimal  # noqa: F401  first, before torch: it sets OMP_WAIT_POLICY=PASSIVE

# isort: split
import torch
from tqdm.auto import tqdm

from audiodiff_minimal.data import toy_notes
from audiodiff_minimal.generate import real_rows, steps_vs_quality
from audiodiff_minimal.registry import load_model
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
        write(args.json + ".partial", result)  # the target is written only when complete
    order = {name: i for i, name in enumerate(("ddpm", "ddim", "dpm"))}
    result["rows"].sort(key=lambda r: (order[r["sampler"]], r["steps"]))  # as steps_vs_quality orders them
    result["complete"] = True
    write(args.json, result)
    Path(args.json + ".partial").unlink()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
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
    {"sweep": sweep}[args.what](args)


if __name__ == "__main__":
    main()
