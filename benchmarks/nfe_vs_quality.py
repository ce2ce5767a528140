"""Network evaluations against quality: DDPM, DDIM, DPM-Solver++(2M), EDM Heun with and without churn (issue 13).

For each number of network evaluations (NFE) every sampler draws ``--n`` clips per seed from the same checkpoint and
is measured against ``--n`` held-out toy notes with the classifier measures of ``generate.quality_measures`` (FD, KID,
precision, recall on ``notes_classifier``; pYIN in-tune rate), plus the spectral flatness (``evaluate``: the noise
floor) and FD-mel, each ``value [95 % CI]`` (percentile bootstrap over clips; FD, KID, FD-mel bias-corrected), beside
DDPM with ``--ref-steps`` steps (the slow reference, first seed only), the real-versus-real floor and the
noise-versus-real ceiling at the same n. Seeds are reported one row each (not pooled). Seconds per clip are
wall-clock on this machine at its load (``meta`` keeps the load average).

EDM Heun (``edm.edm_sample``, Karras et al. 2022, Algorithm 2) drives the VP network through ``edm.vp_denoiser`` on
Karras' sigmas (rho = 7) from sigma_max = 80 down to sigma_1 of the schedule (the least noise the net saw), with
N = (NFE + 1) // 2 levels, i.e. 2N - 1 <= NFE evaluations; churn uses S_churn = ``--churn``, S_tmin = 0.05,
S_tmax = 50. x0_hat is clipped to [-1, 1] for every sampler (as ``generate`` does). A flow-matching checkpoint
(prediction "fm") is measured with Euler (NFE steps) and Heun (NFE // 2 steps) instead.

Variants for the question "why did the ODE samplers plateau?" (chapter 09), named ``sampler@variant``:
``dpm@logsnr``, ``dpm@karras``, ``ddim@karras`` (the integer steps nearest to levels uniform in log-SNR, or to
Karras' sigmas from 80 down to sigma_1, instead of uniform in t), ``dpm@noclip`` (x0_hat not clipped),
``edm_heun@uniform`` (Heun on the sigmas of the uniform-t steps), ``edm_heun@discrete`` (the net asked at the
nearest integer step), ``edm_heun@smax=S`` (sigma_max = S), and the hybrids ``ddpm>ddim@K`` / ``ddim>ddpm@K``
(DDIM's Eq. 12 with eta = 1, i.e. DDPM, on the steps above K and eta = 0 below, or the other way round).

    python benchmarks/nfe_vs_quality.py                          # notes_unet, NFE 10 20, n = 256, seed 0
    python benchmarks/nfe_vs_quality.py --nfe 10 20 --seeds 0 1 --json data/results/nfe_vs_quality.json
    python benchmarks/nfe_vs_quality.py --quick                  # smoke run: 96 clips, NFE 5, DDPM-20 reference
    python benchmarks/nfe_vs_quality.py --probe 64 --json ...    # the net near t = 0 on 64 real notes (see probe)
    python benchmarks/nfe_vs_quality.py --from-json data/results/nfe_vs_quality.json   # table + figure, no sampling

``--json`` adds to the file (one section per checkpoint) and skips the rows already in it, so an interrupted run
resumes. FD fits a 64-dimensional Gaussian: read it against the floor at the same n (n >= 256), or use KID.
"""

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from audiodiff_minimal import edm
from audiodiff_minimal.data import toy_notes
from audiodiff_minimal.evaluate import log_mel_features, spectral_flatness
from audiodiff_minimal.generate import generate, quality_measures
from audiodiff_minimal.metrics import bootstrap_ci, frechet_feature_distance
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.samplers import denoiser, make_timesteps
from audiodiff_minimal.utils import get_device, seed_everything

ROOT = Path(__file__).resolve().parents[1]
MEASURES = {"fd": "FD", "kid": "KID", "precision": "precision", "recall": "recall", "in_tune": "in tune",
            "flatness": "flatness", "fd_mel": "FD-mel"}  # fmt: skip
LABELS = {"ddpm": "DDPM", "ddim": "DDIM", "dpm": "DPM-Solver++(2M)", "edm_heun": "EDM Heun",
          "edm_heun_churn": "EDM Heun + churn", "euler": "Euler (flow)", "heun": "Heun (flow)"}  # fmt: skip


# --------------------------------------------------------------------------- time grids (integer steps 1..T)


def nearest_steps(values, grid) -> list[int]:
    """For each target value the integer step t in 1..T whose ``grid[t - 1]`` is nearest; duplicates dropped,
    decreasing. grid: (T,) increasing in t (log sigma of t = 1..T)."""
    ts = [int(torch.argmin((grid - v).abs())) + 1 for v in values]
    return sorted(set(ts), reverse=True)


def vp_steps(schedule, nfe: int, grid: str) -> list[int]:
    """``nfe`` decreasing integer steps: "uniform" in t (``make_timesteps``), "logsnr" (uniform in log-SNR from
    t = T to t = 1) or "karras" (Karras' sigmas, rho = 7, from 80 to sigma_1)."""
    log_sigma = torch.log(edm.vp_sigma(schedule.alpha_bar[1:]))  # (T,), increasing; -log-SNR / 2
    if grid == "uniform":
        return make_timesteps(schedule.T, nfe)
    if grid == "logsnr":
        return nearest_steps(torch.linspace(log_sigma[-1], log_sigma[0], nfe), log_sigma)
    if grid == "karras":
        sigmas = edm.karras_sigmas(nfe, math.exp(log_sigma[0]), 80.0)[:-1]
        return nearest_steps([math.log(s) for s in sigmas], log_sigma)
    raise ValueError(f"unknown grid {grid!r}")


# --------------------------------------------------------------------------- samplers


@torch.no_grad()
def edm_clips(model, record, nfe, n, seed, churn=0.0, grid="karras", discrete=False, s_max=80.0, batch=64):
    """n clips (n, 1, L) on the CPU from EDM Heun with at most ``nfe`` evaluations, seeded like ``generate``."""
    device = next(model.parameters()).device
    schedule = record.make_schedule()
    vp = edm.vp_denoiser(model, schedule, record.prediction, discrete=discrete)
    denoise = lambda x, sigma: vp(x, sigma).clamp(-1, 1)  # noqa: E731
    levels = (nfe + 1) // 2
    if grid == "karras":
        sigmas = edm.karras_sigmas(levels, edm.vp_sigma(schedule.alpha_bar[1]).item(), s_max)
    else:  # the sigmas of the uniform-t steps, then 0
        sigmas = [edm.vp_sigma(schedule.alpha_bar[t]).item() for t in make_timesteps(schedule.T, levels)] + [0.0]
    g = torch.Generator().manual_seed(seed)
    x = sigmas[0] * torch.randn((n, 1, record.length), generator=g)  # x_0 ~ N(0, sigma_0^2 I), Algorithm 2 line 1
    out = [edm.edm_sample(denoise, x[i : i + batch].to(device), sigmas, churn=churn, s_tmin=0.05, s_tmax=50.0,
                          generator=g).cpu() for i in range(0, n, batch)]  # fmt: skip
    return torch.cat(out)


@torch.no_grad()
def hybrid_clips(model, record, nfe, n, seed, first: str, switch: int) -> torch.Tensor:
    """DDIM's Eq. (12) on ``nfe`` uniform steps with eta = 1 (DDPM with beta_tilde) where ``first`` is "ddpm" and
    t > switch, eta = 0 (the ODE) elsewhere, and the other way round for first = "ddim". x0_hat clipped."""
    device = next(model.parameters()).device
    schedule = record.make_schedule()
    denoise = denoiser(model, schedule, record.prediction, clip_x0=True)
    ts = make_timesteps(schedule.T, nfe)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((n, 1, record.length), generator=g).to(device)
    for t, s in zip(ts, [*ts[1:], 0], strict=True):
        ab_t, ab_s = schedule.alpha_bar[t].item(), schedule.alpha_bar[s].item()
        x0_hat, eps_hat = denoise(x, t)
        eta = float((t > switch) == (first == "ddpm"))
        sigma_t = eta * math.sqrt((1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s))  # DDIM Eq. (16)
        x = math.sqrt(ab_s) * x0_hat + math.sqrt(max(1 - ab_s - sigma_t**2, 0.0)) * eps_hat
        if sigma_t > 0:
            x = x + sigma_t * torch.randn(x.shape, generator=g).to(device)
    return x.cpu()


def draw(model, record, sampler: str, nfe: int, n: int, seed: int, churn: float) -> torch.Tensor:
    base, _, variant = sampler.partition("@")
    if ">" in base:  # ddpm>ddim@K, ddim>ddpm@K
        return hybrid_clips(model, record, nfe, n, seed, base.split(">")[0], int(variant))
    if base.startswith("edm_heun"):
        c = churn if base == "edm_heun_churn" else 0.0
        s_max = float(variant.split("=")[1]) if variant.startswith("smax=") else 80.0
        grid = "uniform" if variant == "uniform" else "karras"
        return edm_clips(model, record, nfe, n, seed, c, grid, variant == "discrete", s_max)
    if base == "heun":  # flow matching: Heun takes two evaluations per step, one for the last (Euler) step
        return generate(model, record, base, (nfe + 1) // 2, n, seed, progress=False)
    if variant in ("logsnr", "karras"):
        return generate(model, record, base, vp_steps(record.make_schedule(), nfe, variant), n, seed, progress=False)
    return generate(model, record, base, nfe, n, seed, progress=False, clip_x0=variant != "noclip")


def evaluations(sampler: str, nfe: int, schedule=None) -> int:
    """The network evaluations a sampler really makes for the budget ``nfe``."""
    base, _, variant = sampler.partition("@")
    if base.startswith("edm_heun"):
        return 2 * ((nfe + 1) // 2) - 1
    if base == "heun":
        return 2 * ((nfe + 1) // 2) - 1
    if variant in ("logsnr", "karras") and ">" not in base:
        return len(vp_steps(schedule, nfe, variant))
    return nfe


# --------------------------------------------------------------------------- measures


def plain(m: dict) -> dict:
    """Intervals as {"value", "lo", "hi", "level"}; other values as they are."""
    return {k: vars(v) if hasattr(v, "lo") else v for k, v in m.items()}


def measures(x, reference, classifier, n_boot: int, seed: int) -> dict:
    """``quality_measures`` plus the mean spectral flatness and FD-mel, each with its 95 % bootstrap interval."""
    m = plain(quality_measures(x, reference, classifier, n_boot, seed))
    b = {"n_boot": n_boot, "seed": seed}
    m["flatness"] = vars(bootstrap_ci(np.mean, spectral_flatness(x), **b))
    mel, ref_mel = log_mel_features(x), log_mel_features(reference)
    m["fd_mel"] = vars(bootstrap_ci(frechet_feature_distance, mel, ref_mel, bias_correct=True, **b))
    return m


def cell(v) -> str:
    return f"{v['value']:.4g} [{v['lo']:.4g}, {v['hi']:.4g}]" if isinstance(v, dict) else str(v)


def row(label: str, nfe, seconds, m: dict) -> str:
    s = f"{seconds:.3f}" if seconds != "" else ""
    return f"| {label} | {nfe} | {s} | " + " | ".join(cell(m[k]) for k in MEASURES) + " |"


def header() -> str:
    return "| sampler | NFE | s/clip | " + " | ".join(MEASURES.values()) + " |\n" + "|---" * (len(MEASURES) + 3) + "|"


# --------------------------------------------------------------------------- the probe: the net near t = 0


@torch.no_grad()
def probe(model, record, n: int, n_boot: int, steps: int = 40) -> dict:
    """How much noise the network removes near t = 0, and what an ODE and DDPM leave of it, on real notes.

    ``per_t``: for n held-out real notes x_0 (``toy_notes(seed=4242)``) and each t, x_t = q_sample(x_0, t, eps) and the
    net's x0_hat (not clipped): the noise gain c = <x0_hat - x_0, eps> / (sigma |eps|^2) per clip (0: the noise
    removed, 1: kept, sigma = sigma_t of Eq. 9.4), the error ||x0_hat - x_0||^2 / (L sigma^2) (1 for x0_hat = x_t /
    sqrt(alpha_bar), the identity), and the flatness of x0_hat and of x_t / sqrt(alpha_bar).
    ``from_t0``: the same notes noised to t0, then taken to t = 0 by DDIM (the ODE) and by DDPM (ancestral), each
    ``steps`` uniform steps, x0_hat clipped: flatness and RMS error to x_0, and their paired difference.
    Each figure is ``value [95 % CI]`` over clips (percentile bootstrap).
    """
    from audiodiff_minimal.forward import q_sample
    from audiodiff_minimal.metrics import mean_difference
    from audiodiff_minimal.samplers import ddim_sample, ddpm_sample

    device = next(model.parameters()).device
    schedule = record.make_schedule()
    x0 = toy_notes(n, length=record.length, sr=record.sr, seed=4242)[0].to(device)  # held out
    den = denoiser(model, schedule, record.prediction, clip_x0=False)
    b = {"n_boot": n_boot, "seed": 0}
    ci = lambda a: vars(bootstrap_ci(np.mean, np.asarray(a), **b))  # noqa: E731
    out = {"n": n, "steps": steps, "per_t": [], "from_t0": []}
    for t in (1, 2, 5, 10, 20, 50, 100, 200, 500):
        g = torch.Generator().manual_seed(t)
        eps = torch.randn(x0.shape, generator=g).to(device)
        x_t = q_sample(x0, torch.full((n,), t, device=device), eps, schedule)
        x0_hat = den(x_t, t)[0]
        sigma = edm.vp_sigma(schedule.alpha_bar[t].item())
        c = ((x0_hat - x0) * eps).sum((1, 2)) / (sigma * eps.pow(2).sum((1, 2)))
        err = (x0_hat - x0).pow(2).mean((1, 2)) / sigma**2
        ident = x_t / schedule.alpha_bar[t].sqrt().item()
        out["per_t"].append({"t": t, "sigma": sigma, "gain": ci(c.cpu()), "error_over_sigma2": ci(err.cpu()),
                             "flatness_x0_hat": ci(spectral_flatness(x0_hat.cpu())),
                             "flatness_identity": ci(spectral_flatness(ident.cpu()))})  # fmt: skip
    den = denoiser(model, schedule, record.prediction, clip_x0=True)
    out["flatness_real"] = ci(spectral_flatness(x0.cpu()))
    for t0 in (50, 300):
        eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1000 + t0)).to(device)
        x_t = q_sample(x0, torch.full((n,), t0, device=device), eps, schedule)
        ts = make_timesteps(t0, min(steps, t0))
        ode = ddim_sample(den, x_t, ts, schedule).cpu()
        sde = ddpm_sample(den, x_t, ts, schedule, generator=torch.Generator().manual_seed(2000 + t0)).cpu()
        f_ode, f_sde = spectral_flatness(ode), spectral_flatness(sde)
        rms = lambda y: (y - x0.cpu()).pow(2).mean((1, 2)).sqrt().numpy()  # noqa: E731
        out["from_t0"].append({"t0": t0, "sigma": edm.vp_sigma(schedule.alpha_bar[t0].item()),
                               "flatness_ode": ci(f_ode), "flatness_ddpm": ci(f_sde),
                               "flatness_ode_minus_ddpm": vars(mean_difference(f_ode, f_sde, n_boot)),
                               "rms_error_ode": ci(rms(ode)), "rms_error_ddpm": ci(rms(sde))})  # fmt: skip
    return out


def print_probe(p: dict) -> None:
    print(f"\n### the net near t = 0 on {p['n']} real notes (toy_notes(seed=4242)); 95 % CI over clips\n")
    print("| t | sigma | noise gain c | error / sigma^2 | flatness of x0_hat | flatness of x_t / sqrt(alpha_bar) |")
    print("|---|---|---|---|---|---|")
    for r in p["per_t"]:
        print(f"| {r['t']} | {r['sigma']:.4f} | {cell(r['gain'])} | {cell(r['error_over_sigma2'])} | "
              f"{cell(r['flatness_x0_hat'])} | {cell(r['flatness_identity'])} |")  # fmt: skip
    print(f"\nreal notes' flatness {cell(p['flatness_real'])}; noised to t0, then {p['steps']} steps to t = 0:\n")
    print(
        "| t0 | sigma | flatness, ODE (DDIM) | flatness, DDPM | ODE - DDPM (paired) | RMS error ODE | RMS error DDPM |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in p["from_t0"]:
        print(
            f"| {r['t0']} | {r['sigma']:.3f} | {cell(r['flatness_ode'])} | {cell(r['flatness_ddpm'])} | "
            f"{cell(r['flatness_ode_minus_ddpm'])} | {cell(r['rms_error_ode'])} | {cell(r['rms_error_ddpm'])} |"
        )


# --------------------------------------------------------------------------- the table and figure from JSON


def print_section(name: str, sec: dict) -> None:
    print(f"\n### {name} (step {sec['step']}), n = {sec['n']} clips per row and seed, "
          f"{sec.get('n_ref', sec['n'])} reference clips toy_notes(seed=777), "
          f"{sec['n_boot']} bootstrap replicates, 95 % CI; one row per seed; S_churn = {sec['churn']:g}\n")  # fmt: skip
    print(header())
    print(row("real vs real (floor)", "", "", sec["bounds"]["real_vs_real"]))
    print(row("noise vs real (ceiling)", "", "", sec["bounds"]["noise_vs_real"]))
    for r in sorted(sec["rows"], key=lambda r: ("@" in r["sampler"] or ">" in r["sampler"], r["nfe"], r["sampler"])):
        label = f"{LABELS.get(r['sampler'], r['sampler'])} (seed {r['seed']})"
        print(row(label, r["nfe"], r["s_per_clip"], r["measures"]))


def plot(doc: dict, out: str) -> None:
    """FD and flatness against NFE with their 95 % intervals, a line per sampler and seed; DDPM-200 as a band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), constrained_layout=True)
    for ci, (name, sec) in enumerate(doc["sections"].items()):
        main = [r for r in sec["rows"] if "@" not in r["sampler"] and ">" not in r["sampler"]]
        slow = max((r["nfe"] for r in main if r["sampler"] == "ddpm" and r["nfe"] > 40), default=0)
        for k, sampler in enumerate(dict.fromkeys(r["sampler"] for r in main)):
            for j, seed in enumerate(sorted({r["seed"] for r in main})):
                mine = sorted((r for r in main if r["sampler"] == sampler and r["seed"] == seed
                               and not (sampler == "ddpm" and r["nfe"] == slow)), key=lambda r: r["nfe"])  # fmt: skip
                if not mine:
                    continue
                nfe = [r["nfe"] * (1 + 0.02 * (j - 0.5)) for r in mine]  # seeds side by side
                color = f"C{k + 5 * ci}"
                for ax, key in zip(axes[:2], ("fd", "flatness"), strict=True):
                    v = [r["measures"][key] for r in mine]
                    err = [[x["value"] - x["lo"] for x in v], [x["hi"] - x["value"] for x in v]]
                    ax.errorbar(
                        nfe,
                        [x["value"] for x in v],
                        yerr=err,
                        fmt="o-" if j == 0 else "s--",
                        capsize=2,
                        color=color,
                        label=f"{name}: {LABELS.get(sampler, sampler)}" if j == 0 else None,
                    )
                axes[2].plot(nfe, [r["s_per_clip"] for r in mine], "o-" if j == 0 else "s--", color=color)
        for r in (r for r in main if r["sampler"] == "ddpm" and r["nfe"] == slow and slow > 40):
            same_n = sec.get("n_ref", sec["n"]) == sec["n"]  # else its FD is not comparable with the lines'
            for ax, key in zip(axes[:2], ("fd", "flatness"), strict=True):
                if key == "fd" and not same_n:
                    continue
                v = r["measures"][key]
                ax.axhspan(v["lo"], v["hi"], color="C3", alpha=0.12, label=f"DDPM-{slow}, {sec['n']} clips")
        if ci == 0:
            floor = sec["bounds"]["real_vs_real"]
            axes[0].axhspan(floor["fd"]["lo"], floor["fd"]["hi"], color="k", alpha=0.1, label="real notes (floor)")
    axes[0].set(title="FD on the note classifier (95 % CI)", ylabel="FD")
    axes[1].set(title="spectral flatness, the noise floor (95 % CI)", yscale="log")
    axes[1].legend(fontsize=7)
    axes[2].set(title="seconds per clip (1 thread, shared CPU)", yscale="log")
    for ax in axes:
        ax.set(xscale="log", xlabel="network evaluations (NFE)")
        ax.set_xticks([9, 10, 20, 40], ["9", "10", "20", "40"])
        ax.minorticks_off()
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle("network evaluations against quality; o- seed 0, s-- seed 1")
    fig.savefig(out, dpi=100)
    print(f"\nwrote {out}")


def from_json(path: str, out: str | None) -> None:
    doc = json.loads(Path(path).read_text())
    print(f"made by: {'; '.join(doc['meta']['commands'])}")
    for name, sec in doc["sections"].items():
        print_section(name, sec)
    if "probe" in doc:
        print_probe(doc["probe"])
    if out:
        plot(doc, out)


# --------------------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="notes_unet", help="a folder or a shipped name")
    parser.add_argument("--name", default=None, help="the section name in --json (default: the checkpoint's)")
    parser.add_argument("--classifier", default="notes_classifier")
    parser.add_argument("--nfe", type=int, nargs="+", default=None, help="evaluation budgets (default 10 20)")
    parser.add_argument("--samplers", nargs="+", default=None, help="default: all five (euler, heun for fm)")
    parser.add_argument(
        "--ref-steps", type=int, default=None, help="steps of the DDPM reference (default 200; 0: none)"
    )
    parser.add_argument("--churn", type=float, default=10.0, help="S_churn of edm_heun_churn")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--n", type=int, default=None, help="clips per set (default 256; 96 with --quick)")
    parser.add_argument("--n-ref", type=int, default=None, help="real reference clips (default: --n)")
    parser.add_argument("--n-boot", type=int, default=None, help="bootstrap replicates (default 500; 50 quick)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", default=None, help="add every figure to this JSON file (skipping rows in it)")
    parser.add_argument("--from-json", default=None, help="print the tables of this file and draw --out; no sampling")
    parser.add_argument("--out", default=None, help="with --from-json: the figure (e.g. docs/nfe_vs_quality.png)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 96 clips, NFE 5, DDPM-20 reference")
    parser.add_argument("--probe", type=int, default=0, help="instead: the probe near t = 0 on this many real notes")
    parser.add_argument("--shard-out", default=None, help="only draw the clips and save them here (no measures)")
    parser.add_argument("--pool", nargs="+", default=None, help="measure these saved shards as one set of --n clips")
    args = parser.parse_args(argv)
    if args.from_json:
        return from_json(args.from_json, args.out)
    n, n_boot = args.n or (96 if args.quick else 256), args.n_boot or (50 if args.quick else 500)
    nfes = args.nfe or ([5] if args.quick else [10, 20])
    ref_steps = args.ref_steps if args.ref_steps is not None else (20 if args.quick else 200)

    seed_everything(0)
    device = get_device(args.device)
    model, record = load_model(args.checkpoint, device=device)
    classifier, _ = load_model(args.classifier, device=device)
    schedule = record.make_schedule()
    flow = record.prediction == "fm"
    default = ["euler", "heun"] if flow else ["ddpm", "ddim", "dpm", "edm_heun", "edm_heun_churn"]
    samplers, name = args.samplers or default, args.name or Path(args.checkpoint).name
    path = Path(args.json) if args.json else None
    doc = json.loads(path.read_text()) if path and path.exists() else {"meta": {"commands": []}, "sections": {}}
    command = "python benchmarks/nfe_vs_quality.py " + " ".join(argv if argv is not None else sys.argv[1:])
    doc["meta"]["commands"].append(command)
    doc["meta"]["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, " \
                             f"{torch.get_num_threads()} threads"  # fmt: skip
    if args.probe:
        doc["probe"] = probe(model, record, args.probe, n_boot)
        print_probe(doc["probe"])
        return path.write_text(json.dumps(doc, indent=1)) if path else None
    if args.shard_out:  # draw only, e.g. one seed per process; --pool measures the shards together
        out = Path(args.shard_out)
        out.mkdir(parents=True, exist_ok=True)
        for sampler, nfe, seed in [(s, b, seed) for b in nfes for s in samplers for seed in args.seeds]:
            start = time.perf_counter()
            x = draw(model, record, sampler, nfe, n, seed, args.churn)
            shard = {"x": x, "seconds": (time.perf_counter() - start) / n, "sampler": sampler, "budget": nfe,
                     "seed": seed, "load_avg_1min": os.getloadavg()[0]}  # fmt: skip
            torch.save(shard, out / f"{sampler}_{nfe}_{seed}_{n}.pt")
        return None
    n_ref = args.n_ref or n
    reference = toy_notes(n_ref, length=record.length, sr=record.sr, seed=777)[0]  # held out: not a training seed
    sec = doc["sections"].get(name)
    if sec is None or sec["n"] != n or sec["step"] != record.step or sec.get("n_ref", n) != n_ref:
        sec = {"checkpoint": args.checkpoint, "step": record.step, "n": n, "n_ref": n_ref, "n_boot": n_boot,
               "churn": args.churn,
               "bounds": bounds(reference, classifier, n_boot, n), "rows": []}  # fmt: skip
        doc["sections"][name] = sec
    print(f"\n### {name} (step {record.step}), n = {n}, seeds {args.seeds}; load {os.getloadavg()[0]:.2f}\n")
    print(header())
    settings = [(s, nfe, seed) for nfe in nfes for s in samplers for seed in args.seeds]
    settings += [("ddpm", ref_steps, args.seeds[0])] if ref_steps and not flow else []  # the slow reference, last
    done = {(r["sampler"], r["budget"], r["seed"]) for r in sec["rows"]}
    if args.pool:  # one row of the saved shards together; its seed is written "0+1+..."
        shards = [torch.load(p, weights_only=True) for p in args.pool]
        if len({(s["sampler"], s["budget"]) for s in shards}) != 1 or sum(len(s["x"]) for s in shards) != n:
            raise ValueError(f"--pool needs shards of one sampler and budget with {n} clips in all")
        settings = [(shards[0]["sampler"], shards[0]["budget"], "+".join(str(s["seed"]) for s in shards))]
    for sampler, nfe, seed in settings:
        if (sampler, nfe, seed) in done:
            continue
        load = os.getloadavg()[0]
        start = time.perf_counter()
        if args.pool:
            x = torch.cat([s["x"] for s in shards])
            seconds = sum(s["seconds"] * len(s["x"]) for s in shards) / n
            load = max(s["load_avg_1min"] for s in shards)
        else:
            x = draw(model, record, sampler, nfe, n, seed, args.churn)
            seconds = (time.perf_counter() - start) / n
        m = measures(x, reference, classifier, n_boot, 0 if args.pool else seed)
        evals = evaluations(sampler, nfe, schedule)
        print(row(f"{sampler} (seed {seed})", evals, seconds, m), flush=True)
        sec["rows"].append({"sampler": sampler, "budget": nfe, "nfe": evals, "seed": seed, "s_per_clip": seconds,
                            "load_avg_1min": load, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                            "measures": m})  # fmt: skip
        done.add((sampler, nfe, seed))
        if path:
            path.write_text(json.dumps(doc, indent=1))


def bounds(reference, classifier, n_boot: int, n: int) -> dict:
    """The floor (n fresh real notes, seed 12345) and the ceiling (n clips of white noise at the reference's RMS)
    with every measure of :func:`measures`, as a generated set of n clips would be measured."""
    real = toy_notes(n, length=reference.shape[-1], seed=12345)[0]
    rms = reference.double().pow(2).mean().sqrt()
    g = torch.Generator().manual_seed(12345)
    noise = (torch.randn((n, 1, reference.shape[-1]), generator=g, dtype=torch.float64) * rms).float()
    return {"real_vs_real": measures(real, reference, classifier, n_boot, 12345),
            "noise_vs_real": measures(noise, reference, classifier, n_boot, 12345)}  # fmt: skip


if __name__ == "__main__":
    main()
