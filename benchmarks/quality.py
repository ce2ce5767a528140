"""Quality of a checkpoint's samples by the note classifier and pYIN, with intervals, floors and ceilings (issue 12).

For each sampler and step count, and each generation seed, draws ``--n`` clips and measures them against
``--n`` held-out toy notes (``generate.quality_measures``): FD, KID, precision, recall, IS, modified IS, AM on
the shipped classifier ``notes_classifier``; in-tune rate (beside its chance level), pitch drift, voiced
fraction and Miller-Madow entropies from pYIN and the classifier's timbre. Each cell is ``value [95 % CI]``
(percentile bootstrap over clips); the last columns give the mean and standard deviation over seeds, the
real-versus-real floor and the noise-versus-real ceiling at the same n (``generate.quality_bounds``).

    python benchmarks/quality.py --checkpoint notes_unet --sampler dpm --steps 10 20 --seeds 0 1 2
    python benchmarks/quality.py --quick                   # smoke run: 96 clips, 5 DPM steps, seed 0

FD fits a 64-dimensional Gaussian: use n >= 256 (4 x the feature dimension); below that FD is biased
upwards (read it against the floor at the same n, or use KID, which is unbiased at any n).
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from audiodiff_minimal.data import toy_notes
from audiodiff_minimal.generate import generate, quality_bounds, quality_measures
from audiodiff_minimal.metrics import Interval
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.utils import get_device, seed_everything

MEASURES = {  # key: (label, which way is better)
    "fd": ("FD (classifier features)", "lower"),
    "kid": ("KID (cubic kernel)", "lower"),
    "precision": ("precision (k = 3)", "higher"),
    "recall": ("recall (k = 3)", "higher"),
    "is": ("IS", "higher, max 32"),
    "mis": ("modified IS", "higher"),
    "am": ("AM score (nats)", "lower"),
    "in_tune": ("in tune (pYIN median, 50 c)", "higher"),
    "drift_cents": ("pitch drift (median, cents)", "lower"),
    "voiced": ("voiced fraction", "higher"),
    "pitch_entropy": ("pitch entropy (MM, bits)", "3 max"),
    "timbre_entropy": ("timbre entropy (MM, bits)", "2 max"),
}


def cell(v) -> str:
    return str(v) if isinstance(v, Interval) else f"{v:.4g}"


def table(runs: dict, bounds: dict) -> str:
    """Markdown: a row per measure; a column per seed, then mean +- sd over seeds, floor and ceiling."""
    seeds = list(runs)
    head = "| measure | better | " + " | ".join(f"seed {s}" for s in seeds) + " | mean +- sd | floor | ceiling |"
    lines = [head, "|---" * (len(seeds) + 5) + "|"]
    for key, (label, better) in MEASURES.items():
        values = [runs[s][key].value for s in seeds]
        spread = f"{np.mean(values):.4g} +- {np.std(values, ddof=1):.2g}" if len(values) > 1 else "-"
        cells = " | ".join(cell(runs[s][key]) for s in seeds)
        floor, ceiling = cell(bounds["real_vs_real"][key]), cell(bounds["noise_vs_real"][key])
        lines.append(f"| {label} | {better} | {cells} | {spread} | {floor} | {ceiling} |")
    chance = runs[seeds[0]]["in_tune_chance"]
    lines.append(f"\nin-tune chance level (uniform pitch over C4-C5): {chance:.4f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="notes_unet", help="a folder or a shipped name")
    parser.add_argument("--classifier", default="notes_classifier")
    parser.add_argument("--sampler", nargs="+", default=None, help="ddpm, ddim, dpm (default dpm)")
    parser.add_argument("--steps", type=int, nargs="+", default=None, help="step counts (default 20; 5 with --quick)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="generation seeds (default 0 1 2)")
    parser.add_argument("--n", type=int, default=None, help="clips per set (default 256; 96 with --quick)")
    parser.add_argument("--n-boot", type=int, default=None, help="bootstrap replicates (default 500; 50 quick)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", default=None, help="also write every figure as JSON here")
    parser.add_argument("--quick", action="store_true", help="smoke run: 96 clips, 5 DPM steps, seed 0")
    args = parser.parse_args(argv)
    n = args.n or (96 if args.quick else 256)
    n_boot = args.n_boot or (50 if args.quick else 500)
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    samplers, steps_list = args.sampler or ["dpm"], args.steps or ([5] if args.quick else [20])

    seed_everything(0)
    device = get_device(args.device)
    model, record = load_model(args.checkpoint, device=device)
    classifier, _ = load_model(args.classifier, device=device)
    reference = toy_notes(n, length=record.length, sr=record.sr, seed=777)[0]  # held out: not a training seed
    if n <= 4 * classifier.config.features:
        print(f"note: n = {n} <= 4 x {classifier.config.features} features: FD is biased upwards at this n")
    bounds = quality_bounds(reference, classifier, n_boot=n_boot)
    out = {"checkpoint": args.checkpoint, "step": record.step, "n": n, "n_boot": n_boot, "settings": []}
    for sampler in samplers:
        for steps in steps_list:
            runs = {}
            for seed in seeds:
                start = time.perf_counter()
                x = generate(model, record, sampler, steps, n, seed, progress=False)
                runs[seed] = quality_measures(x, reference, classifier, n_boot, seed)
                print(f"{sampler} {steps} steps, seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
            print(f"\n### {args.checkpoint} (step {record.step}), {sampler}, {steps} steps, n = {n} clips per set, "
                  f"reference toy_notes(seed=777), {n_boot} bootstrap replicates\n")  # fmt: skip
            print(table(runs, bounds), flush=True)
            out["settings"].append({"sampler": sampler, "steps": steps, "runs": runs})
    if args.json:
        Path(args.json).write_text(json.dumps(out | {"bounds": bounds}, indent=1, default=vars))


if __name__ == "__main__":
    main()
