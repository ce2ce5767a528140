"""Bits per 16-bit sample of chapter 07's three models on the same held-out notes, with standard errors (issue 12).

The WaveNet's exact NLL (``WaveNet.nll_bits`` with Eq. 7's log2 n_c) and the two U-Nets' DDPM bounds
(``losses.diffusion_nll_bound``: every t = 1..K summed, the rest importance-sampled) on ``toy_notes(n, seed=2024)``,
each bound with several estimator seeds. Every total is printed beside its floor: log2 n_c, what 8-bit mu-law
throws away, for the WaveNet; the decoder's beta_1 floor log2(sqrt(2 pi beta_1) / Delta) for the U-Nets. The part
above the floor is what the network itself costs. Paired differences (same clips) give the ranking with its error.
The notebook's quick-mode setting (4 notes, ``toy_notes(4, seed=2024)``) is rerun too, so the text can say what
quick mode can and cannot show.

    python benchmarks/likelihood_bits.py                    # writes data/likelihood_bits.json (about 6 min, 2 cores)
    python benchmarks/likelihood_bits.py --n 8 --seeds 0    # smoke run
"""

import argparse
import json
import math
import time
from pathlib import Path

import torch

from audiodiff_minimal.data import toy_notes
from audiodiff_minimal.losses import bound_summary, diffusion_nll_bound, quantize
from audiodiff_minimal.models import wavenet as wn
from audiodiff_minimal.registry import load_model

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("notes_wavenet", "notes_unet_small", "notes_unet")
NOTES_SEED = 2024  # held out: training draws fresh random notes from seed 0
ESTIMATOR = {"k_exact": 20, "n_t": 16, "n_eps": 2, "n_pilot": 8}  # the notebook's setting, quick and full


def wavenet_bits(wavenet, x: torch.Tensor) -> dict:
    """(B,) float64 bits per 16-bit sample of each clip: "class" (-log2 P(c)), "log2_nc" (Eq. 7) and "total"."""
    with torch.no_grad():
        bits = wavenet.nll_bits(x).double()  # (B, L) bits per mu-law sample
    c = wn.mu_law_encode(quantize(x[:, 0], 16))
    total = wn.bits_per_pcm_sample(bits, c)
    return {"class": bits.mean(1), "log2_nc": (total - bits).mean(1), "total": total.mean(1)}


def decoder_floor(schedule) -> float:
    """log2(sqrt(2 pi beta_1) / Delta), Delta = 2^-15: the least L_0 a Gaussian of variance beta_1 can cost."""
    return math.log2(math.sqrt(2 * math.pi * schedule.beta[1].item()) * 2**15)


def mean_se(v: torch.Tensor) -> tuple[float, float]:
    """Mean over clips and its standard error std / sqrt(n)."""
    return v.mean().item(), v.std().item() / math.sqrt(len(v))


def measure(n: int, seeds: list[int], estimator: dict) -> dict:
    """Every model on ``toy_notes(n, seed=2024)``; bounds for each estimator seed. Returns the table as a dict."""
    models = {name: load_model(name) for name in MODELS}
    record = models["notes_unet"][1]
    x, _, _ = toy_notes(n, length=record.length, sr=record.sr, seed=NOTES_SEED)
    ar = wavenet_bits(models["notes_wavenet"][0], x)
    total, se = mean_se(ar["total"])
    rows = {"notes_wavenet": {"kind": "exact NLL", "total": total, "se_clips": se, "se_mc": 0.0, "seed_sd": 0.0,
                              "floor_name": "log2 n_c (8-bit mu-law)", "floor": ar["log2_nc"].mean().item(),
                              "above": ar["class"].mean().item()}}  # fmt: skip
    per_clip = {"notes_wavenet": ar["total"]}
    for name in MODELS[1:]:
        model, rec = models[name]
        schedule = rec.make_schedule()
        runs = []
        for seed in seeds:
            t0 = time.process_time()
            b = diffusion_nll_bound(model, schedule, x, rec.prediction, generator=torch.Generator().manual_seed(seed),
                                    **estimator)  # fmt: skip
            runs.append((b, bound_summary(b)))
            print(f"{name} seed {seed}: {runs[-1][1]['total']:.3f} bits ({time.process_time() - t0:.0f} s CPU)")
        per_clip[name] = torch.stack([b["total"] for b, _ in runs]).mean(0)  # (n,) averaged over seeds
        totals = torch.tensor([s["total"] for _, s in runs])
        floor = decoder_floor(schedule)
        rows[name] = {"kind": "bound", "total": totals.mean().item(), "se_clips": mean_se(per_clip[name])[1],
                      "se_mc": max(s["se_mc"] for _, s in runs) / math.sqrt(len(runs)),
                      "seed_sd": totals.std().item() if len(runs) > 1 else float("nan"),
                      "diffusion": sum(s["diffusion"] for _, s in runs) / len(runs),
                      "decoder": sum(s["decoder"] for _, s in runs) / len(runs),
                      "floor_name": "decoder beta_1 floor", "floor": floor, "above": totals.mean().item() - floor,
                      "total_by_seed": totals.tolist()}  # fmt: skip
    paired = {}
    pairs = [("notes_unet_small", "notes_wavenet"), ("notes_unet", "notes_wavenet"), ("notes_unet_small", "notes_unet")]
    for a, b in pairs:
        d, d_se = mean_se(per_clip[a] - per_clip[b])
        paired[f"{a} - {b}"] = {"mean": d, "se": d_se}
    return {"n": n, "notes_seed": NOTES_SEED, "seeds": seeds, "estimator": estimator, "rows": rows, "paired": paired}


def markdown(table: dict) -> str:
    """The table as markdown (what the cards and chapter 07 quote)."""
    head = (f"{table['n']} held-out notes (`toy_notes({table['n']}, seed={table['notes_seed']})`), "
            f"bound seeds {table['seeds']}, estimator {table['estimator']}; bits per 16-bit sample")  # fmt: skip
    lines = [head, "", "| model | | total | SE (clips) | SE (estimator) | floor | floor (bits) | above floor |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, r in table["rows"].items():
        lines.append(f"| {name} | {r['kind']} | {r['total']:.2f} | {r['se_clips']:.2f} | {r['se_mc']:.3f} | "
                     f"{r['floor_name']} | {r['floor']:.2f} | {r['above']:.2f} |")  # fmt: skip
    lines += ["", "| paired difference (same clips) | mean | SE |", "|---|---|---|"]
    lines += [f"| {k} | {v['mean']:+.2f} | {v['se']:.2f} |" for k, v in table["paired"].items()]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="held-out notes (default 64)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="estimator seeds of the bounds")
    parser.add_argument("--quick-n", type=int, default=4, help="the notebook's quick-mode notes (0: skip)")
    parser.add_argument("--out", default=str(ROOT / "data" / "likelihood_bits.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # as the notebook's quick mode; the numbers do not depend on it
    t0 = time.process_time()
    result = {"command": " ".join(["python benchmarks/likelihood_bits.py", *(argv or [])])}
    result["full"] = measure(args.n, args.seeds, ESTIMATOR)
    print(markdown(result["full"]))
    if args.quick_n:
        result["quick"] = measure(args.quick_n, args.seeds, ESTIMATOR)
        print("\nquick mode's setting:\n" + markdown(result["quick"]))
    result["cpu_s"] = round(time.process_time() - t0, 1)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {args.out} ({result['cpu_s']} s of process CPU time)")


if __name__ == "__main__":
    main()
