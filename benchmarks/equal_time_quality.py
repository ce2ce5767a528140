"""Equal-time quality: our U-Net against the two peer 1D U-Nets, each trained for the same CPU time (issue 4).

The question a learner with a laptop asks: "if I train for 20 minutes, which network makes better notes?"
Every model gets the same recipe and only the network differs:

- data: fresh toy notes (``data.draw_toy_notes``), 16 clips of 4096 samples per step, the same seeded draws;
- loss: v-prediction, cosine schedule, T = 1000 (``losses.diffusion_loss``);
- optimizer: our ``laptop`` preset through the one training loop (``train.train`` with ``Stop(cpu_s=...)``):
  AdamW lr 1e-3, 200 warm-up steps, then a cosine to 0.1 x lr over the *CPU-time* budget (the number of
  steps is not known in advance), grad clip 1.0, EMA 0.999 with warm-up;
- budget: ``--minutes`` of this process's CPU time (``time.process_time``) spent in training steps, with
  ``--threads`` torch threads (default 1, so 20 CPU minutes is also 20 minutes on one core, and other
  jobs on the machine do not change the budget);
- sampling: the EMA weights through our samplers (``samplers.sample``, x0_hat clipped), ``--n`` clips per
  sampler and seed, measured against ``--n`` held-out toy notes with chapter 09's measures
  (``nfe_vs_quality.measures``: FD, KID, precision, recall on ``notes_classifier``, the pYIN in-tune rate,
  spectral flatness and FD-mel, each ``value [95 % CI]`` by a bootstrap over clips), beside the real-versus-real
  floor and the noise ceiling at the same n, and our ``train.mean_loss`` yardstick. What the intervals do not
  cover: a second training seed (each model is trained once).

The peers are built by ``benchmarks/peers.py`` (about 1.1M parameters each) and called through its adapters,
which only translate t. Training state is saved every ``--save-every`` steps into ``--out/NAME/state.pt``
(``torch.load(weights_only=True)``), so an interrupted run resumes where it stopped, and the finished
measures go to ``--json`` row by row; a row already there is not measured again.

    python benchmarks/equal_time_quality.py --models ours-1m --json runs/eqt/seed0_ours-1m.json  # one model
    python benchmarks/equal_time_quality.py --merge runs/eqt/seed0_*.json --json data/results/equal_time_quality.json
    python benchmarks/equal_time_quality.py --from-json data/results/equal_time_quality.json \
        data/results/equal_time_quality_seed1.json                            # the README's table, no training
    python benchmarks/equal_time_quality.py --minutes 0.2 --n 96 --n-boot 20 --samplers dpm:5 \
        --out runs/eqt_smoke --json runs/eqt_smoke/result.json                # a smoke run (about 2 minutes)

FD fits a 64-dimensional Gaussian: ``--n`` must exceed 64 (the run stops with that error otherwise), and a figure
wants n >= 256; read FD against the floor at the same n.
"""

import argparse
import copy
import json
import os
import platform
import sys
import time
from pathlib import Path

import nfe_vs_quality as nvq  # benchmarks/nfe_vs_quality.py: the measures, table rows and bounds
import peers  # benchmarks/peers.py, beside this script
import torch

from audiodiff_minimal.data import draw_toy_notes, toy_notes
from audiodiff_minimal.generate import SAMPLER_LABELS
from audiodiff_minimal.losses import diffusion_loss
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.samplers import sample
from audiodiff_minimal.schedules import make_schedule
from audiodiff_minimal.train import TRAIN_PRESETS, Stop, TrainState, mean_loss, train

ROOT = Path(__file__).resolve().parents[1]
RECIPE = TRAIN_PRESETS["laptop"]  # v, cosine T=1000, batch 16, 4096 samples, lr 1e-3, warm-up 200, EMA 0.999
MODELS = ("ours-1m", "diffusers-1m", "lucidrains-1m")
META_KEYS = ("minutes", "threads", "train_seed", "n", "n_boot")  # what one results file holds fixed


def train_for(name: str, budget_s: float, out: Path, seed: int, save_every: int):
    """Train model ``name`` with ``train.train`` for ``budget_s`` CPU seconds (``Stop(cpu_s=...)``).

    The learning rate warms up over RECIPE.warmup steps, then its cosine follows the fraction of the CPU
    budget used. Returns (ema_model, steps, losses).
    """
    torch.manual_seed(seed)
    model = peers.build(name, RECIPE.length)
    g = {"data": torch.Generator().manual_seed(seed), "noise": torch.Generator().manual_seed(seed + 1)}
    opt = torch.optim.AdamW(model.parameters(), lr=RECIPE.lr, weight_decay=RECIPE.weight_decay)
    state = TrainState(opt, copy.deepcopy(model).requires_grad_(False).eval(), g)
    state_path = out / "state.pt"
    if state_path.is_file():
        saved = torch.load(state_path, weights_only=True)
        model.load_state_dict(saved["model"])
        state.load_state_dict(saved["state"], state_path)
        print(f"{name}: resumed at step {state.step}, {state.cpu_time_s / 60:.1f} CPU min used")

    def save(state):
        torch.save({"model": model.state_dict(), "state": state.state_dict()}, out / "state.tmp")
        os.replace(out / "state.tmp", state_path)  # atomic: a crash mid-save keeps the last good state

    schedule = make_schedule(RECIPE.schedule, RECIPE.T)
    batches = lambda: draw_toy_notes(RECIPE.batch_size, RECIPE.length, RECIPE.sr, g["data"])[0]  # (B, 1, L)
    loss = lambda net, x0: diffusion_loss(net, x0, schedule, RECIPE.prediction, g["noise"])
    train(model, loss, batches, Stop(cpu_s=budget_s), state, lr=RECIPE.lr, warmup=RECIPE.warmup,
          min_lr_frac=RECIPE.min_lr_frac, grad_clip=RECIPE.grad_clip, ema_decay=RECIPE.ema_decay, save=save,
          save_every=save_every, desc=f"{name} (CPU s)")  # fmt: skip
    return state.ema, state.step, state.losses


def draw(ema, schedule, sampler: str, steps: int, n: int, seed: int, batch: int = 64) -> torch.Tensor:
    """n clips (n, 1, L) from ``ema`` through our sampler, seeded, drawn ``batch`` clips at a time."""
    g = torch.Generator().manual_seed(seed)
    x_T = torch.randn(n, 1, RECIPE.length, generator=g)
    return torch.cat([sample(ema, schedule, x, sampler, steps, RECIPE.prediction, clip_x0=True, generator=g,
                             progress=False) for x in x_T.split(batch)])  # fmt: skip


FORMATS = {"fd": ".0f", "kid": ".0f", "precision": ".2f", "recall": ".2f", "in_tune": ".2f", "flatness": ".3g",
           "fd_mel": ".0f"}  # fmt: skip  # the README's digits: an interval's width is well above the last digit


def cells(m: dict) -> str:
    """The measures of one row as ``value [lo, hi]`` cells in ``nvq.MEASURES``' order."""
    return " | ".join(f"{m[k]['value']:{f}} [{m[k]['lo']:{f}}, {m[k]['hi']:{f}}]" for k, f in FORMATS.items())


def print_tables(docs: list[dict]) -> None:
    """One table of the results files ``docs`` (e.g. training seeds 0 and 1 of one budget): a row per model,
    training seed and sampler, then the floor and ceiling, which every file must share."""
    for d in docs:
        print(f"made by: {'; '.join(d['meta']['commands'])}\n{d['meta']['machine']}")
    meta = docs[0]["meta"]
    if any(d["bounds"] != docs[0]["bounds"] or d["meta"]["n"] != meta["n"] for d in docs):
        raise SystemExit("these results files have different reference sets; print them one at a time")
    print(
        f"\n{meta['minutes']:g} CPU minutes of training each ({meta['threads']} thread); {meta['n']} clips per row "
        f"against {meta['n']} held-out notes toy_notes(seed=777); {meta['n_boot']} bootstrap replicates, 95 % CI\n"
    )
    labels = " | ".join(nvq.MEASURES[k] for k in FORMATS)
    print(f"| model | params | training seed | steps in the budget | v-loss | sampler | NFE | {labels} |")
    print("|---" * (7 + len(FORMATS)) + "|")
    rows = [(m, d["meta"]["train_seed"], r) for d in docs for m in d["models"].values() for r in m["rows"]]
    order = {name: i for i, name in enumerate(MODELS)}
    for m, seed, r in sorted(rows, key=lambda x: (order.get(x[0]["model"], 9), x[2]["sampler"] != "dpm", x[1])):
        print(
            f"| {m['description']} | {m['params'] / 1e6:.2f}M | {seed} | {m['steps']} | {m['mean_loss']:.3f} | "
            f"{SAMPLER_LABELS[r['sampler']]} (sampling seed {r['seed']}) | {r['steps']} | {cells(r['measures'])} |"
        )
    for name, key in (("real toy notes (floor)", "real_vs_real"), ("white noise (ceiling)", "noise_vs_real")):
        print(f"| {name} | | | | | | | {cells(docs[0]['bounds'][key])} |")


def merge(paths: list[str], out: str) -> None:
    """Write one results file of the models of ``paths``: files of one budget, size and training seed, measured
    in separate processes (e.g. one model each, in parallel). Their floors and ceilings must agree."""
    docs = [json.loads(Path(p).read_text()) for p in paths]
    for p, d in zip(paths[1:], docs[1:], strict=True):
        if any(d["meta"][k] != docs[0]["meta"][k] for k in META_KEYS) or d["bounds"] != docs[0]["bounds"]:
            raise SystemExit(f"{p}: another budget, size, seed or reference than {paths[0]}; not merged")
    merged = {"meta": {**docs[0]["meta"], "commands": [c for d in docs for c in d["meta"]["commands"]]},
              "models": {k: v for d in docs for k, v in d["models"].items()}, "bounds": docs[0]["bounds"]}  # fmt: skip
    Path(out).write_text(json.dumps(merged, indent=1))
    print_tables([merged])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=sorted(peers.MODELS))
    parser.add_argument("--minutes", type=float, default=20.0, help="CPU minutes of training per model")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n", type=int, default=256, help="clips per sampler and seed (and held-out notes)")
    parser.add_argument("--n-boot", type=int, default=500, help="bootstrap replicates")
    parser.add_argument("--samplers", nargs="+", default=["dpm:20", "ddpm:100"], help="NAME:STEPS")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--sample-seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--classifier", default="notes_classifier")
    parser.add_argument("--save-every", type=int, default=100)
    parser.add_argument("--out", default=str(ROOT / "runs" / "equal_time"), help="training states")
    parser.add_argument("--json", default=str(ROOT / "runs" / "equal_time" / "result.json"),
                        help="every figure goes here; rows already in it are skipped (resume)")  # fmt: skip
    parser.add_argument("--from-json", nargs="+", default=None, help="only print the tables of these files")
    parser.add_argument("--merge", nargs="+", default=None, help="merge these results files into --json")
    args = parser.parse_args(argv)
    if args.from_json:
        return print_tables([json.loads(Path(p).read_text()) for p in args.from_json])
    if args.merge:
        return merge(args.merge, args.json)

    torch.set_num_threads(args.threads)
    schedule = make_schedule(RECIPE.schedule, RECIPE.T)
    classifier, _ = load_model(args.classifier)
    reference = toy_notes(args.n, length=RECIPE.length, sr=RECIPE.sr, seed=777)[0]  # held out, as in chapter 05
    yardstick = toy_notes(64, length=RECIPE.length, sr=RECIPE.sr, seed=778)[0]
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(zip(META_KEYS, (args.minutes, args.threads, args.seed, args.n, args.n_boot), strict=True))
    doc = json.loads(path.read_text()) if path.exists() else None
    if doc is None:
        doc = {"meta": {**meta, "commands": []}, "models": {},
               "bounds": nvq.bounds(reference, classifier, args.n_boot, args.n)}  # fmt: skip
    elif {k: doc["meta"].get(k) for k in meta} != meta:  # rows of another budget or size would not compare
        raise SystemExit(f"{path}: made with {({k: doc['meta'].get(k) for k in meta})}, not {meta}; "
                         "give another --json")  # fmt: skip
    command = "python benchmarks/equal_time_quality.py " + " ".join(argv if argv is not None else sys.argv[1:])
    doc["meta"]["commands"].append(command)
    doc["meta"]["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, " \
                             f"{args.threads} thread(s) per model"  # fmt: skip
    for name in args.models:
        settings = [(s.split(":")[0], int(s.split(":")[1]), seed) for s in args.samplers for seed in args.sample_seeds]
        entry = doc["models"].get(name)
        if entry and {(r["sampler"], r["steps"], r["seed"]) for r in entry["rows"]} >= set(settings):
            continue
        out = Path(args.out) / name
        out.mkdir(parents=True, exist_ok=True)
        try:
            ema, steps, _ = train_for(name, args.minutes * 60, out, args.seed, args.save_every)
        except peers.PeerUnavailable as error:
            print(f"{name}: skipped: {error}")
            continue
        if entry is None:
            entry = doc["models"][name] = {
                "model": name, "description": peers.describe(name, ema), "steps": steps,
                "params": sum(p.numel() for p in ema.parameters()),
                "mean_loss": mean_loss(ema, yardstick, schedule, RECIPE.prediction), "rows": []}  # fmt: skip
        done = {(r["sampler"], r["steps"], r["seed"]) for r in entry["rows"]}
        for sampler, n_steps, seed in settings:
            if (sampler, n_steps, seed) in done:
                continue
            load, start = os.getloadavg()[0], time.perf_counter()
            x = draw(ema, schedule, sampler, n_steps, args.n, seed)
            seconds = (time.perf_counter() - start) / args.n
            entry["rows"].append({"sampler": sampler, "steps": n_steps, "seed": seed, "s_per_clip": seconds,
                                  "load_avg_1min": load, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                  "measures": nvq.measures(x, reference, classifier, args.n_boot, seed)})  # fmt: skip
            path.write_text(json.dumps(doc, indent=1))
            print(f"{name}: {sampler} {n_steps} steps, seed {seed}: {seconds:.3f} s per clip", flush=True)
    path.write_text(json.dumps(doc, indent=1))
    print_tables([doc])


if __name__ == "__main__":
    main()
