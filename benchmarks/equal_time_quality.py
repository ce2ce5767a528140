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
- sampling: the EMA weights through our samplers (``samplers.sample``), the same seeds, then chapter 05's
  measures (``evaluate.evaluate_clips``) against held-out toy notes, and our ``train.mean_loss`` yardstick.

The peers are built by ``benchmarks/peers.py`` (about 1.1M parameters each) and called through its adapters,
which only translate t. Training state is saved every ``--save-every`` steps into ``--out/NAME/state.pt``
(``torch.load(weights_only=True)``), so an interrupted run resumes where it stopped, and the finished
measures go to ``--out/NAME/result.json``; a model with a result is not trained again.

    python benchmarks/equal_time_quality.py                       # 3 x 20 CPU minutes + sampling
    python benchmarks/equal_time_quality.py --minutes 0.2 --n 4 --out runs/equal_time_smoke   # smoke run
"""

import argparse
import copy
import json
import os
from pathlib import Path

import peers  # benchmarks/peers.py, beside this script
import torch

from audiodiff_minimal.data import draw_toy_notes, toy_notes
from audiodiff_minimal.evaluate import evaluate_clips
from audiodiff_minimal.generate import SAMPLER_LABELS, real_rows
from audiodiff_minimal.losses import diffusion_loss
from audiodiff_minimal.samplers import sample
from audiodiff_minimal.schedules import make_schedule
from audiodiff_minimal.train import TRAIN_PRESETS, Stop, TrainState, mean_loss, train

ROOT = Path(__file__).resolve().parents[1]
RECIPE = TRAIN_PRESETS["laptop"]  # v, cosine T=1000, batch 16, 4096 samples, lr 1e-3, warm-up 200, EMA 0.999
MODELS = ("ours-1m", "diffusers-1m", "lucidrains-1m")


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=sorted(peers.MODELS))
    parser.add_argument("--minutes", type=float, default=20.0, help="CPU minutes of training per model")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n", type=int, default=32, help="clips per sampler")
    parser.add_argument("--samplers", nargs="+", default=["dpm:20", "ddpm:100"], help="NAME:STEPS")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-every", type=int, default=100)
    parser.add_argument("--out", default=str(ROOT / "runs" / "equal_time"))
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    schedule = make_schedule(RECIPE.schedule, RECIPE.T)
    reference = toy_notes(args.n, length=RECIPE.length, sr=RECIPE.sr, seed=777)[0]  # held out, as in chapter 05
    yardstick = toy_notes(64, length=RECIPE.length, sr=RECIPE.sr, seed=778)[0]
    results = []
    for name in args.models:
        out = Path(args.out) / name
        out.mkdir(parents=True, exist_ok=True)
        done = out / "result.json"
        if done.is_file():
            results.append(json.loads(done.read_text()))
            continue
        try:
            ema, steps, losses = train_for(name, args.minutes * 60, out, args.seed, args.save_every)
        except peers.PeerUnavailable as error:
            print(f"{name}: skipped: {error}")
            continue
        row = {"model": name, "description": peers.describe(name, ema),
               "params": sum(p.numel() for p in ema.parameters()),
               "minutes": args.minutes, "threads": args.threads, "steps": steps,
               "mean_loss": mean_loss(ema, yardstick, schedule, RECIPE.prediction), "samplers": []}  # fmt: skip
        for spec in args.samplers:
            sampler, n_steps = spec.split(":")
            g = torch.Generator().manual_seed(args.seed)
            x_T = torch.randn(args.n, 1, RECIPE.length, generator=g)
            x = sample(ema, schedule, x_T, sampler, int(n_steps), RECIPE.prediction, clip_x0=True, generator=g,
                       progress=False)  # fmt: skip
            row["samplers"].append({"sampler": sampler, "steps": int(n_steps), **evaluate_clips(x, reference)})
        done.write_text(json.dumps(row, indent=1))
        results.append(row)

    real, bounds = real_rows(reference, n=args.n)
    print(f"\n{args.minutes:g} CPU minutes of training each ({args.threads} thread), {args.n} clips per sampler\n")
    print(
        "| model | params | steps | v-loss | sampler | in tune | cents MAE | flatness | pitch H | timbre H | FD-mel |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in results:
        for s in row["samplers"]:
            print(f"| {row['description']} | {row['params'] / 1e6:.2f}M | {row['steps']} | {row['mean_loss']:.4f} | "
                  f"{SAMPLER_LABELS[s['sampler']]} {s['steps']} | {s['pitch_in_tune']:.2f} | "
                  f"{s['pitch_cents_mae']:.1f} | {s['flatness']:.4f} | {s['pitch_entropy']:.2f} | "
                  f"{s['timbre_entropy']:.2f} | {s['frechet_mel']:.0f} |")  # fmt: skip
    print(f"| real toy notes | | | | | {real['pitch_in_tune']:.2f} | {real['pitch_cents_mae']:.1f} | "
          f"{real['flatness']:.4f} | {real['pitch_entropy']:.2f} | {real['timbre_entropy']:.2f} | "
          f"{real['frechet_mel']:.0f} |")  # fmt: skip
    print(f"\nFD-mel floor (real vs real) {bounds['real_vs_real']:.0f}, ceiling (noise vs real) "
          f"{bounds['noise_vs_real']:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
