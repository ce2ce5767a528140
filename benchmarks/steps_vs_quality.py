"""Steps versus quality of the shipped checkpoint for DDPM, DDIM and DPM-Solver++(2M) (issue 5).

Generates ``--n`` clips per sampler and step count (same seed everywhere), measures them with
``evaluate.evaluate_clips`` against fresh toy notes, and writes

    docs/steps_vs_quality.png     FD-mel, pitch-in-tune and seconds per clip against steps (README figure)
    a markdown table on stdout    every row, real toy notes, and the FD-mel floor (real vs real) and
                                  ceiling (noise vs real): paste into the model card

    python benchmarks/steps_vs_quality.py                        # full: 5..1000 steps, 64 clips (GPU: minutes)
    python benchmarks/steps_vs_quality.py --quick                # smoke run: 2 step counts, 4 clips
    python benchmarks/steps_vs_quality.py --checkpoint runs/NAME --device cuda
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
    args = parser.parse_args(argv)

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


if __name__ == "__main__":
    main()
