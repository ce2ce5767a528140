"""Train the note classifier (the evaluation network of ``metrics.py``), measure it, and ship it (issue 12).

Trains ``models.classifier.NoteClassifier`` with ``train.train_classifier`` (resumable: run the same command
again after an interruption), then measures it on fresh seeded toy notes that training never drew: accuracy
(32 classes, pitch, timbre) with bootstrap intervals, accuracy with white noise at fixed SNRs, and the pitch
and timbre confusion matrices. With ``--ship`` it copies the weights and config.json there and writes
MODEL_CARD.md with every figure and this command.

    OMP_NUM_THREADS=1 python benchmarks/train_classifier.py --out runs/notes_classifier \
        --ship data/checkpoints/notes_classifier           # about 2 min on one CPU core
    python benchmarks/train_classifier.py --quick --out runs/clf_quick   # smoke run: 60 steps, 128 test notes
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import scipy.stats
import torch

from audiodiff_minimal.data import SCALE_NAMES, TIMBRE_NAMES, label_to_note, toy_notes
from audiodiff_minimal.metrics import bootstrap_ci
from audiodiff_minimal.models.classifier import ClassifierConfig, augment
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.train import train_classifier

SNRS_DB = (40, 20, 10, 5, 0, -5)


@torch.no_grad()
def predict(model, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """(B,) predicted labels of clips x (B, 1, L)."""
    return torch.cat([model(x[i : i + batch]).argmax(1) for i in range(0, len(x), batch)])


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact binomial interval of k successes in n (Clopper & Pearson 1934): defined at k = n too, where
    the percentile bootstrap collapses to [1, 1]."""
    a = (1 - level) / 2
    lo = scipy.stats.beta.ppf(a, k, n - k + 1) if k > 0 else 0.0
    hi = scipy.stats.beta.ppf(1 - a, k + 1, n - k) if k < n else 1.0
    return float(lo), float(hi)


def accuracy_row(name: str, correct: torch.Tensor, n_boot: int) -> str:
    """A markdown row: accuracy, its percentile-bootstrap interval and its exact binomial interval."""
    ok = correct.numpy().astype(float)
    ci = bootstrap_ci(np.mean, ok, n_boot=n_boot, seed=0)
    lo, hi = clopper_pearson(int(ok.sum()), len(ok))
    return f"| {name} | {ci.value:.4f} | [{ci.lo:.4f}, {ci.hi:.4f}] | [{lo:.4f}, {hi:.4f}] |"


def confusion(true: np.ndarray, pred: np.ndarray, names) -> str:
    """A markdown confusion matrix, rows true, columns predicted."""
    k = len(names)
    m = np.zeros((k, k), dtype=int)
    np.add.at(m, (true, pred), 1)
    lines = ["| true \\ predicted | " + " | ".join(names) + " |", "|---" * (k + 1) + "|"]
    lines += [f"| {names[i]} | " + " | ".join(str(v) for v in m[i]) + " |" for i in range(k)]
    return "\n".join(lines)


def measure(model, n: int, seed: int, n_boot: int) -> tuple[str, dict]:
    """The card's figures on ``n`` fresh notes of ``seed``: markdown and a dict of the headline numbers."""
    x, pitch, timbre = toy_notes(n, seed=seed)
    pred = predict(model, x)
    p_hat, t_hat = label_to_note(pred)
    ok = {"class (32)": (pred == pitch * 4 + timbre), "pitch (8)": p_hat == pitch, "timbre (4)": t_hat == timbre}
    rows = [accuracy_row(k, v, n_boot) for k, v in ok.items()]
    g = torch.Generator().manual_seed(seed + 1)
    noisy = []
    for snr in SNRS_DB:
        pred_n = predict(model, augment(x, g, snr_db=(snr, snr), p_clean=0.0, gain_db=(0.0, 0.0)))
        noisy.append(accuracy_row(f"{snr} dB", pred_n == pitch * 4 + timbre, n_boot))
    text = "\n".join([
        f"Held-out accuracy on n = {n} fresh toy notes (`toy_notes({n}, seed={seed})`; training draws from seeds 0 "
        f"and 1 streams), 95 % percentile-bootstrap intervals ({n_boot} replicates):\n",
        "| what | accuracy | 95 % bootstrap | 95 % exact binomial |", "|---|---|---|---|", *rows, "",
        f"Class accuracy with white Gaussian noise added at a fixed SNR (signal power over the whole clip; "
        f"same {n} notes, noise seed {seed + 1}):\n",
        "| SNR | accuracy | 95 % bootstrap | 95 % exact binomial |", "|---|---|---|---|", *noisy, "",
        "Pitch confusion (clean):\n", confusion(pitch.numpy(), p_hat.numpy(), SCALE_NAMES), "",
        "Timbre confusion (clean):\n", confusion(timbre.numpy(), t_hat.numpy(), TIMBRE_NAMES),
    ])  # fmt: skip
    return text, {k: float(v.float().mean()) for k, v in ok.items()}


CARD = """# notes_classifier: the evaluation network of the measures (issue 12)

A small CNN on log-mel features (`audiodiff_minimal/models/classifier.py`, {params:,} parameters, {kb:.0f} KB of
float32 weights) that names a toy note's pitch and timbre (32 classes, `data.note_label`). Its penultimate
features phi(x) ({features} dimensions) and its p(y | x) give FD, KID, precision/recall, IS, modified IS and
the AM score (`audiodiff_minimal/metrics.py`, the SC09 protocol of DiffWave and SaShiMi); its timbre replaces
the template matcher of `evaluate.classify_timbre`.

- Input: (B, 1, 4096) audio at 8 kHz -> log-mel (n_fft {n_fft}, hop {hop}, {n_mels} bands), each clip's maximum
  subtracted (gain does not matter), floored {floor} nats below it.
- Network: {layers} conv1d layers over time (mel bands as channels, {channels} channels, GELU), mean over time,
  Linear -> GELU (the {features} features), Linear -> 32 logits.
- Training: `train.train_classifier`, the package's one loop: {steps} steps of {batch} fresh toy notes
  (generator seed {seed}), cross-entropy with label smoothing {smoothing} (p(y | x) stays away from 0 and 1, so
  modified IS and AM stay finite), AdamW lr {lr}, 100 warm-up steps then cosine to lr / 10, grad clip 1, no EMA.
  Augmentation (`classifier.augment`, noise seed {seed_noise}): random gain in [-12, +3] dB, and white noise at an SNR
  uniform in [15, 60] dB on 75 % of the clips (the rest clean), so the noise floor of generated clips does not
  change its answer. {wall:.0f} s of training on one CPU thread.

Command (from the repository root):

    {command}

## Measured

{measured}

## Limits

The toy notes are easy: a near-perfect score says the network separates the 32 classes of clean and
noisy synthetic notes, not that it is a perceptual measure. A generated clip that is none of the 32
classes (a glide, two notes, noise) still gets a class; read its p(y | x) (IS, AM) and the pYIN pitch
track beside it. The features are not VGGish or PANNs embeddings, so FD here is not comparable with
published FAD numbers.
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/notes_classifier", help="the training run's folder")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps (default 2000; 60 with --quick)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--n-test", type=int, default=None, help="held-out notes (default 2048; 128 with --quick)")
    parser.add_argument("--test-seed", type=int, default=20_000)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--ship", default=None, help="copy weights and config here and write MODEL_CARD.md")
    parser.add_argument("--quick", action="store_true", help="smoke run: 60 steps, 128 test notes")
    args = parser.parse_args(argv)
    steps = args.steps or (60 if args.quick else 2000)
    n_test = args.n_test or (128 if args.quick else 2048)
    config = ClassifierConfig()
    out = Path(args.out)
    start = time.perf_counter()
    train_classifier(config, out, steps, args.batch, args.lr, args.seed, resume=True,
                     label_smoothing=args.label_smoothing)  # fmt: skip
    print(f"trained to step {steps} in {time.perf_counter() - start:.0f} s (this call)")
    model, record = load_model(out)  # through the registry, as every user of the classifier will
    measured, headline = measure(model, n_test, args.test_seed, args.n_boot)
    print(measured)
    if args.ship:
        ship = Path(args.ship)
        ship.mkdir(parents=True, exist_ok=True)
        for name in ("model.safetensors", "config.json"):
            shutil.copy2(out / name, ship / name)
        params = sum(p.numel() for p in model.parameters())
        command = "OMP_NUM_THREADS=1 python benchmarks/train_classifier.py " + " ".join(sys.argv[1:])
        card = CARD.format(params=params, kb=params * 4 / 1024, command=command, measured=measured,
                           steps=steps, batch=args.batch, seed=args.seed, seed_noise=args.seed + 1, lr=args.lr,
                           smoothing=args.label_smoothing,
                           wall=record.wall_time_s, **vars(config))  # fmt: skip
        (ship / "MODEL_CARD.md").write_text(card)
        print(f"shipped to {ship} (class accuracy {headline['class (32)']:.4f})")


if __name__ == "__main__":
    main()
