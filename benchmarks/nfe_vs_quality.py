"""Network evaluations against quality: DDPM, DDIM, DPM-Solver++(2M), EDM Heun with and without churn (issue 13).

For each number of network evaluations (NFE) every sampler draws ``--n`` clips from the same checkpoint and is
measured against ``--n`` held-out toy notes with the classifier measures of ``generate.quality_measures`` (FD, KID,
precision, recall on ``notes_classifier``; pYIN in-tune rate), each ``value [95 % CI]`` (percentile bootstrap over
clips), beside DDPM with ``--ref-steps`` steps (the slow reference), the real-versus-real floor and the
noise-versus-real ceiling at the same n. Seconds per clip are wall-clock on this machine.

EDM Heun (``edm.edm_sample``, Karras et al. 2022, Algorithm 2) drives the VP network through ``edm.vp_denoiser`` on
Karras' sigmas (rho = 7) from sigma_max = 80 down to sigma_1 of the schedule (the least noise the net saw), with
N = (NFE + 1) // 2 levels, i.e. 2N - 1 <= NFE evaluations; churn uses S_churn = ``--churn``, S_tmin = 0.05,
S_tmax = 50. x0_hat is clipped to [-1, 1] for every sampler (as ``generate`` does). A flow-matching checkpoint
(prediction "fm") is measured with Euler (NFE steps) and Heun (NFE // 2 steps) instead.

    python benchmarks/nfe_vs_quality.py                          # notes_unet, NFE 10 20, n = 256, seed 0
    python benchmarks/nfe_vs_quality.py --nfe 10 20 40 --seeds 0 1 --json data/results/nfe_vs_quality.json
    python benchmarks/nfe_vs_quality.py --quick                  # smoke run: 96 clips, NFE 5, DDPM-20 reference

FD fits a 64-dimensional Gaussian: read it against the floor at the same n (n >= 256), or use KID (unbiased).
"""

import argparse
import json
import time
from pathlib import Path

import torch

from audiodiff_minimal import edm
from audiodiff_minimal.data import toy_notes
from audiodiff_minimal.generate import generate, quality_bounds, quality_measures
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.utils import get_device, seed_everything

MEASURES = {"fd": "FD", "kid": "KID", "precision": "precision", "recall": "recall", "in_tune": "in tune"}


@torch.no_grad()
def edm_clips(model, record, nfe: int, n: int, seed: int, churn: float, batch: int = 64) -> torch.Tensor:
    """n clips (n, 1, L) on the CPU from EDM Heun with at most ``nfe`` evaluations, seeded like ``generate``."""
    device = next(model.parameters()).device
    schedule = record.make_schedule()
    vp = edm.vp_denoiser(model, schedule, record.prediction)
    denoise = lambda x, sigma: vp(x, sigma).clamp(-1, 1)  # noqa: E731
    sigmas = edm.karras_sigmas((nfe + 1) // 2, edm.vp_sigma(schedule.alpha_bar[1]).item(), 80.0)
    g = torch.Generator().manual_seed(seed)
    x = sigmas[0] * torch.randn((n, 1, record.length), generator=g)  # x_0 ~ N(0, sigma_0^2 I), Algorithm 2 line 1
    out = [edm.edm_sample(denoise, x[i : i + batch].to(device), sigmas, churn=churn, s_tmin=0.05, s_tmax=50.0,
                          generator=g).cpu() for i in range(0, n, batch)]  # fmt: skip
    return torch.cat(out)


def draw(model, record, sampler: str, nfe: int, n: int, seed: int, churn: float) -> torch.Tensor:
    if sampler == "edm_heun":
        return edm_clips(model, record, nfe, n, seed, 0.0)
    if sampler == "edm_heun_churn":
        return edm_clips(model, record, nfe, n, seed, churn)
    steps = nfe // 2 if sampler == "heun" else nfe
    return generate(model, record, sampler, steps, n, seed, progress=False)


def evaluations(sampler: str, nfe: int) -> int:
    """The network evaluations a sampler really makes for the budget ``nfe``."""
    if sampler.startswith("edm_heun"):
        return 2 * ((nfe + 1) // 2) - 1
    return 2 * (nfe // 2) if sampler == "heun" else nfe


def row(label: str, nfe, seconds: float, m: dict) -> str:
    return f"| {label} | {nfe} | {seconds:.3f} | " + " | ".join(str(m[k]) for k in MEASURES) + " |"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="notes_unet", help="a folder or a shipped name")
    parser.add_argument("--classifier", default="notes_classifier")
    parser.add_argument("--nfe", type=int, nargs="+", default=None, help="evaluation budgets (default 10 20)")
    parser.add_argument("--samplers", nargs="+", default=None, help="default: all five (euler, heun for fm)")
    parser.add_argument("--ref-steps", type=int, default=None, help="steps of the DDPM reference (default 200)")
    parser.add_argument("--churn", type=float, default=10.0, help="S_churn of edm_heun_churn")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--n", type=int, default=None, help="clips per set (default 256; 96 with --quick)")
    parser.add_argument("--n-boot", type=int, default=None, help="bootstrap replicates (default 500; 50 quick)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", default=None, help="also write every figure as JSON here")
    parser.add_argument("--quick", action="store_true", help="smoke run: 96 clips, NFE 5, DDPM-20 reference")
    args = parser.parse_args(argv)
    n, n_boot = args.n or (96 if args.quick else 256), args.n_boot or (50 if args.quick else 500)
    nfes, ref_steps = args.nfe or ([5] if args.quick else [10, 20]), args.ref_steps or (20 if args.quick else 200)

    seed_everything(0)
    device = get_device(args.device)
    model, record = load_model(args.checkpoint, device=device)
    classifier, _ = load_model(args.classifier, device=device)
    flow = record.prediction == "fm"
    default = ["euler", "heun"] if flow else ["ddpm", "ddim", "dpm", "edm_heun", "edm_heun_churn"]
    samplers = args.samplers or default
    reference = toy_notes(n, length=record.length, sr=record.sr, seed=777)[0]  # held out: not a training seed
    bounds = quality_bounds(reference, classifier, n_boot=n_boot)
    print(f"\n### {args.checkpoint} (step {record.step}), n = {n} clips per set, reference toy_notes(seed=777), "
          f"{n_boot} bootstrap replicates, seeds {args.seeds}; S_churn = {args.churn:g}\n")  # fmt: skip
    print("| sampler | NFE | s/clip | " + " | ".join(MEASURES.values()) + " |")
    print("|---" * (len(MEASURES) + 3) + "|", flush=True)
    print(row("real vs real (floor)", "", 0.0, bounds["real_vs_real"]))
    print(row("noise vs real (ceiling)", "", 0.0, bounds["noise_vs_real"]), flush=True)
    settings = [(s, nfe) for nfe in nfes for s in samplers]
    settings += [("ddpm", ref_steps)] if not flow else []  # the slow reference, last
    out = {"checkpoint": args.checkpoint, "step": record.step, "n": n, "n_boot": n_boot, "churn": args.churn,
           "bounds": bounds, "rows": []}  # fmt: skip
    for sampler, nfe in settings:
        for seed in args.seeds:
            start = time.perf_counter()
            x = draw(model, record, sampler, nfe, n, seed, args.churn)
            seconds = (time.perf_counter() - start) / n
            m = quality_measures(x, reference, classifier, n_boot, seed)
            print(row(f"{sampler} (seed {seed})", evaluations(sampler, nfe), seconds, m), flush=True)
            out["rows"].append({"sampler": sampler, "nfe": evaluations(sampler, nfe), "seed": seed,
                                "s_per_clip": seconds, "measures": m})  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=vars))


if __name__ == "__main__":
    main()
