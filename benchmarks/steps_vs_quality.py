"""Steps versus quality of the shipped checkpoint for DDPM, DDIM and DPM-Solver++(2M) (issue 5).

Generates ``--n`` clips per sampler and step count (same seed everywhere), measures them with
``evaluate.evaluate_clips`` against fresh toy notes, and writes

    docs/steps_vs_quality.png     FD-mel, pitch-in-tune and seconds per clip against steps (README figure)
    a markdown table on stdout    every row, real toy notes, and the FD-mel floor (real vs real) and
                                  ceiling (noise vs real): paste into the model card

    python benchmarks/steps_vs_quality.py                        # full: 5..1000 steps, 64 clips (GPU: minutes)
    python benchmarks/steps_vs_quality.py --quick                # smoke run: 2 step counts, 4 clips
    python benchmarks/steps_vs_quality.py --checkpoint runs/NAME --device cuda
    # no sampling: the table and figure of a chapter_results sweep (classifier measures with 95% intervals)
    python benchmarks/steps_vs_quality.py --from-json data/results/ch05_steps_vs_quality.json

With ``--from-json`` the table has the classifier-based measures of ``generate.quality_measures`` that
``benchmarks/chapter_results.py sweep`` stores for each setting (FD and KID on the note classifier's features,
precision, recall, pYIN in-tune rate, timbre entropy), each with its 95% bootstrap interval, and the floor
(fresh real notes) and ceiling (white noise) at the same n; the figure draws KID and FD with their intervals.
"""

import argparse
import json
from pathlib import Path

from audiodiff_minimal.data import toy_notes
from audiodiff_minimal.generate import markdown_table, plot_steps_vs_quality, real_rows, steps_vs_quality
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.utils import get_device, seed_everything

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="notes_unet", help="a folder or a shipped name")
    parser.add_argument("--device", default=None)
    parser.add_argument("--n", type=int, default=None, help="clips per setting (default 64; 4 with --quick)")
    parser.add_argument("--steps", type=int, nargs="+", default=None, help="step counts to try")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "docs" / "steps_vs_quality.png"))
    parser.add_argument("--json", default=None, help="also write the rows as JSON here")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 step counts, 4 clips")
    parser.add_argument("--from-json", default=None, help="a chapter_results sweep: table and figure, no sampling")
    args = parser.parse_args(argv)
    if args.from_json:
        return from_sweep(args.from_json, args.out)

    seed_everything(args.seed)
    n = args.n or (4 if args.quick else 64)
    steps_list = args.steps or ([5, 10] if args.quick else [5, 10, 20, 50, 100, 250, 1000])
    model, record = load_model(args.checkpoint, device=get_device(args.device))
    reference = toy_notes(n, length=record.length, sr=record.sr, seed=777)[0]  # held out: not a training seed
    rows = steps_vs_quality(model, record, reference, steps_list=steps_list, n=n, seed=args.seed, progress=True)
    real, bounds = real_rows(reference, n=n)

    import matplotlib

    matplotlib.use("Agg")
    fig = plot_steps_vs_quality(rows, bounds)
    fig.suptitle(f"{Path(args.checkpoint).name}, step {record.step}, {n} clips per point")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
    print(f"checkpoint {args.checkpoint} (step {record.step}, prediction {record.prediction}), {n} clips per row\n")
    print(markdown_table([*rows, real], bounds))
    print(f"\nwrote {args.out}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "real": real, "bounds": bounds}, indent=1))


QUALITY = [("fd", "FD (classifier)", "{:.1f}"), ("kid", "KID", "{:.1f}"), ("precision", "precision", "{:.2f}"),
           ("recall", "recall", "{:.2f}"), ("in_tune", "in tune (pYIN)", "{:.2f}"),
           ("timbre_entropy", "timbre H (bits)", "{:.2f}")]  # fmt: skip


def interval(v: dict, fmt: str) -> str:
    """{"value", "lo", "hi"} as ``value [lo, hi]``."""
    return f"{fmt.format(v['value'])} [{fmt.format(v['lo'])}, {fmt.format(v['hi'])}]"


def from_sweep(path: str, out: str) -> None:
    """Print the markdown table of a ``chapter_results.py sweep`` file and draw its figure (KID, FD, s/clip)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from audiodiff_minimal.generate import SAMPLER_LABELS

    doc = json.loads(Path(path).read_text())
    meta, rows, bounds = doc["meta"], doc["rows"], doc["bounds"]["quality"]
    head = f"{meta['checkpoint']} (step {meta['checkpoint_step']}), {meta['n']} clips per row, seed {meta['seed']}"
    print(f"{head}, reference toy_notes(seed=777); {meta['interval']};")
    print(f"made by `{meta['command']}` on {meta['date']}\n")
    print("| sampler | steps | s/clip | " + " | ".join(label for _, label, _ in QUALITY) + " |")
    print("|---|---|---|" + "---|" * len(QUALITY))
    for r in rows:
        q = r["quality"]
        cells = [interval(q[k], f) for k, _, f in QUALITY]
        print(f"| {SAMPLER_LABELS.get(r['sampler'], r['sampler'])} | {r['steps']} | {r['s_per_clip']:.2f} | "
              + " | ".join(cells) + " |")  # fmt: skip
    for name, label in (("real_vs_real", "real notes (floor)"), ("noise_vs_real", "white noise (ceiling)")):
        print(f"| {label} | | | " + " | ".join(interval(bounds[name][k], f) for k, _, f in QUALITY) + " |")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), constrained_layout=True)
    for name in dict.fromkeys(r["sampler"] for r in rows):
        mine = [r for r in rows if r["sampler"] == name]
        steps = [r["steps"] for r in mine]
        for ax, key in zip(axes[:2], ("kid", "fd"), strict=True):
            v = [r["quality"][key] for r in mine]
            err = [[x["value"] - x["lo"] for x in v], [x["hi"] - x["value"] for x in v]]
            ax.errorbar(steps, [x["value"] for x in v], yerr=err, fmt="o-", capsize=3,
                        label=SAMPLER_LABELS.get(name, name))  # fmt: skip
        axes[2].plot(steps, [r["s_per_clip"] for r in mine], "o-")
    for ax, key, title in zip(axes[:2], ("kid", "fd"), ("KID (95% CI)", "FD (95% CI)"),
                              strict=True):  # fmt: skip
        ax.axhspan(bounds["real_vs_real"][key]["lo"], bounds["real_vs_real"][key]["hi"], color="k", alpha=0.15,
                   label="real notes (floor)")  # fmt: skip
        ax.set(title=title, yscale="linear" if key == "kid" else "log")  # KID can be negative: linear axis
    axes[2].set(title="seconds per clip (this machine, this load)", yscale="log")
    ticks = sorted({r["steps"] for r in rows})
    for ax in axes:
        ax.set(xscale="log", xlabel="network evaluations (steps)")
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{meta['checkpoint']}, step {meta['checkpoint_step']}, {meta['n']} clips per point")
    fig.savefig(out, dpi=100)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
