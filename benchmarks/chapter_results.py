"""The shipped results of the chapters: what a full-mode "Run All" would compute for too long (issue 15).

A chapter whose full computation takes more than a few minutes on a 2-core laptop loads the table written here
(``data/results/*.json``) and offers ``RECOMPUTE = True`` to compute it in the notebook instead. Each command
runs what the chapter's cell runs and records n, seeds, date, the machine and its load in ``meta``:

    # the shipped file (128 clips, 5..100 steps; about 25 min on one quiet thread at 17.7 ms per clip and step,
    # 71 min of wall time on the shared 2-core machine at a load average of 5-11; its meta has the command)
    OMP_NUM_THREADS=1 python benchmarks/chapter_results.py sweep --n 128 --steps 5 10 20 50 100 --threads 1 \
        --json data/results/ch05_steps_vs_quality.json
    python benchmarks/chapter_results.py sweep --n 80 --steps 2 --n-boot 20 --json runs/smoke.json  # a smoke run

``sweep``: for every sampler and step count, ``--n`` clips of a checkpoint (``generate.generate``, seed ``--seed``)
measured as chapter 05 measures them: ``evaluate.evaluate_clips`` (pitch, flatness, entropies, FD-mel) against
``--n-ref`` real notes (seed 777), and, with the shipped note classifier (``notes_classifier``), every measure of
``generate.quality_measures`` (FD and KID on its features, precision/recall, pYIN in-tune rate, drift, entropies)
with percentile-bootstrap 95 % intervals (``--n-boot`` replicates). The floors (real vs real) and ceilings (noise vs
real) are measured at the same n: ``generate.real_rows`` for FD-mel, ``generate.quality_bounds`` for the rest.
FD on the classifier's 64 features needs n > 64 (n >= 256 for a small bias): read it against its floor at the same
n; KID is unbiased at any n. ``--json`` is written when every setting is done; until then ``<json>.partial`` is
rewritten after each setting (``complete`` false), so a stopped run leaves the settings it finished. Chapter 04
needs no file: its fully trained model is the shipped checkpoint (``data/checkpoints/notes_unet``).
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
from audiodiff_minimal.evaluate import evaluate_clips
from audiodiff_minimal.generate import generate, quality_bounds, quality_measures, real_rows
from audiodiff_minimal.metrics import Interval
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


def plain(measures: dict) -> dict:
    """``quality_measures``'s dict as JSON: each :class:`Interval` becomes {"value", "lo", "hi", "level"}."""
    return {k: vars(v) if isinstance(v, Interval) else v for k, v in measures.items()}


def sweep(args) -> None:
    """Chapter 05, section 5: steps versus quality, one setting at a time, cheapest first."""
    seed_everything(args.seed)
    model, record = load_model(args.checkpoint, get_device(args.device))
    classifier, _ = load_model("notes_classifier", get_device(args.device))
    reference = toy_notes(args.n_ref, length=record.length, sr=record.sr, seed=777)[0]
    settings = sorted(((s, name) for s in args.steps for name in ("ddpm", "ddim", "dpm")), key=lambda p: p[0])
    real, bounds = real_rows(reference, n=args.n)
    q_bounds = quality_bounds(reference, classifier, n=args.n, n_boot=args.n_boot)
    bounds["quality"] = {k: plain(v) for k, v in q_bounds.items()}
    device = str(next(model.parameters()).device)
    info = meta(args, checkpoint=args.checkpoint, checkpoint_step=record.step, n=args.n, n_ref=args.n_ref,
                seed=args.seed, reference_seed=777, steps_list=args.steps, device=device, n_boot=args.n_boot,
                interval="95 % percentile bootstrap over clips (bias-corrected for set statistics)")  # fmt: skip
    result = {"meta": info, "complete": False, "rows": [], "real": real, "bounds": bounds}
    generate(model, record, "ddim", 1, 1, args.seed, progress=False)  # warm-up: keep it out of the timings
    start = time.perf_counter()
    for steps, name in tqdm(settings, desc="settings"):
        tick = time.perf_counter()
        x = generate(model, record, name, steps, args.n, args.seed, progress=True)
        row = {"sampler": name, "steps": steps, "s_per_clip": (time.perf_counter() - tick) / args.n}
        row.update(evaluate_clips(x, reference))
        row["quality"] = plain(quality_measures(x, reference, classifier, n_boot=args.n_boot, seed=args.seed))
        result["rows"].append(row)
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
    p.add_argument("--steps", type=int, nargs="+", default=[5, 10, 20, 50, 100])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates per interval")
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
