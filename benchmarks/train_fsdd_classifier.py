"""Train the spoken-digit classifier (chapter 10's intelligibility measure), measure it, and ship it (issue 14).

Trains ``models.classifier.NoteClassifier`` with 10 classes on the log-mel of FSDD recordings, with
``train.train_classifier`` and ``train.fsdd_digit_source`` (random 8192-sample crops, shorter clips zero-padded
at a random offset; speed perturbation 0.85-1.15; random gain and light white noise). Training files: the
training split of ``--data`` (``speech.split(..., "train")``: indices 5-49 of every speaker but george).
Measured on the test split (indices 0-4 of the training speakers) and on the unseen speaker george (all his
files in ``--data``), each clip cut or zero-padded to 8192 samples around its centre (``speech.center_fit``):
accuracy with a percentile-bootstrap and an exact binomial interval, accuracy with white noise at fixed SNRs,
and the confusion matrices. Resumable: run the same command again after an interruption. With ``--ship`` it
copies the weights and config.json there and writes MODEL_CARD.md with every figure and this command.

    OMP_NUM_THREADS=1 python benchmarks/train_fsdd_classifier.py --data FSDD_FOLDER \
        --out runs/fsdd_classifier --ship data/checkpoints/fsdd_classifier
    python benchmarks/train_fsdd_classifier.py --quick --out runs/fsdd_clf_quick   # smoke: data/fsdd, 40 steps

FSDD_FOLDER: the full dataset's recordings, as ``audiodiff_minimal.fsdd.download_fsdd()`` fetches them.
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

import torch

from audiodiff_minimal import speech
from audiodiff_minimal.models.classifier import ClassifierConfig
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.train import fsdd_digit_source, train_classifier

sys.path.insert(0, str(Path(__file__).parent))
from train_classifier import accuracy_row, confusion, predict  # noqa: E402

LENGTH = 8192  # 1.024 s at 8 kHz: longer than 98 % of the recordings
CONFIG = ClassifierConfig(classes=10, n_fft=512, hop=128, n_mels=64, channels=64, layers=3, features=64)
SNRS_DB = (20, 10, 5, 0)
DIGITS = [str(d) for d in range(10)]


def held_out(utterances, which: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The clips (n, 1, LENGTH) of a split, centred, at RMS 0.05, and their (n,) digits."""
    clips = speech.load_clips(speech.split(utterances, which))
    x = torch.stack([speech.center_fit(c, LENGTH) for _, c in clips])[:, None]
    return x, torch.tensor([u.digit for u, _ in clips])


def measure(model, utterances, n_boot: int) -> str:
    """The card's figures: accuracy on test and unseen, with white noise, and the confusion matrices."""
    rows, noisy, matrices = [], [], []
    g = torch.Generator().manual_seed(20001)
    for which in ("test", "unseen"):
        x, digit = held_out(utterances, which)
        pred = predict(model, x)
        rows.append(accuracy_row(f"{which} (n = {len(x)})", pred == digit, n_boot))
        for snr in SNRS_DB:
            noise = torch.randn(x.shape, generator=g)
            pred_n = predict(model, speech.mix_at_snr(x, noise, snr))
            noisy.append(accuracy_row(f"{which}, {snr} dB", pred_n == digit, n_boot))
        matrices += [f"\nConfusion on {which} (rows true digit, columns predicted):\n",
                     confusion(digit.numpy(), pred.numpy(), DIGITS)]  # fmt: skip
    head = "| what | accuracy | 95 % bootstrap | 95 % exact binomial |\n|---|---|---|---|"
    return "\n".join([
        f"Held-out accuracy, 95 % intervals (percentile bootstrap, {n_boot} replicates; Clopper-Pearson):\n",
        head, *rows,
        "\nWith white Gaussian noise at a fixed SNR (`speech.mix_at_snr`, power over the whole 8192-sample clip "
        "including its zero padding; noise seed 20001):\n",
        head, *noisy, *matrices,
    ])  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(speech.FSDD_DIR), help="a folder of FSDD recordings (the full set)")
    p.add_argument("--out", default="runs/fsdd_classifier")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--ship", default=None, help="copy the checkpoint and write MODEL_CARD.md there")
    p.add_argument("--quick", action="store_true", help="40 steps on data/fsdd, 100 bootstrap replicates")
    args = p.parse_args()
    steps, n_boot = (40, 100) if args.quick else (args.steps, 1000)
    utterances = speech.fsdd_index(args.data)
    train_files = speech.split(utterances, "train")
    out = Path(args.out)
    start = time.process_time()
    train_classifier(CONFIG, out, steps=steps, resume=(out / "config.json").is_file(), data="fsdd-digits",
                     source=fsdd_digit_source(speech.load_clips(train_files), LENGTH), length=LENGTH)  # fmt: skip
    cpu = time.process_time() - start
    model, record = load_model(out)
    figures = measure(model, utterances, n_boot)
    print(figures)
    if args.ship is None:
        return
    ship = Path(args.ship)
    ship.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "config.json"):
        shutil.copy(out / name, ship / name)
    params = sum(p.numel() for p in model.parameters())
    command = " ".join(["OMP_NUM_THREADS=1 python", *sys.argv])
    card = CARD.format(params=params, steps=record.step, n_train=len(train_files), rule=speech.TRAIN_RULE,
                       wall=record.wall_time_s, cpu=cpu, command=command, figures=figures, length=LENGTH,
                       config=CONFIG)  # fmt: skip
    (ship / "MODEL_CARD.md").write_text(card)
    print(f"shipped to {ship}")


CARD = """# fsdd_classifier: the spoken-digit recogniser (chapter 10's intelligibility measure)

A small CNN on log-mel features (`audiodiff_minimal/models/classifier.py`, the network of notes_classifier with
10 classes; {params:,} parameters) that names the digit spoken in a Free Spoken Digit Dataset recording. It is
chapter 10's intelligibility measure ("would a recogniser still hear 'seven'?", the analogue of the word error
rate used to judge speech synthesis) and the feature extractor of a Frechet distance on speech.

- Input: (B, 1, {length}) audio at 8 kHz (a recording cut or zero-padded around its centre,
  `speech.center_fit`) -> log-mel (n_fft 512, hop 128, 64 bands), each clip's maximum subtracted (gain does not
  matter), floored 12 nats below it. `{config}`
- Training: `train.train_classifier` (the package's one loop) with `train.fsdd_digit_source`: {steps} steps of 64
  random {length}-sample crops (shorter recordings zero-padded at a random offset) of the {n_train} training
  files, each played at a random speed in [0.85, 1.15] (speed perturbation, Ko et al. 2015: new voices from
  three speakers), random gain in [-12, +3] dB and white noise at an SNR in [15, 60] dB on 75 % of the clips
  (`classifier.augment`); cross-entropy with label smoothing 0.1, AdamW lr 0.003, 100 warm-up steps then cosine
  to lr / 10, grad clip 1, seed 0. {wall:.0f} s of training steps, {cpu:.0f} CPU-s in all, one CPU thread.
- Training files, by rule: {rule}, from the full FSDD (CC BY-SA 4.0; see data/fsdd/README.md). The test
  split (indices 0-4 of those speakers) and the held-out speaker george were never seen.

Command (from the repository root; `--data` is the folder of the full dataset's recordings, which
`audiodiff_minimal.fsdd.download_fsdd()` fetches):

    {command}

## Measured

{figures}

## Limits

Three training speakers are few: the unseen speaker george is recognised far less often than held-out
recordings of the training speakers (see the table), and his errors cluster (0 heard as 3, 5 as 0, 9 as 3).
So compare like with like: the accuracy on vocoded or enhanced george against the accuracy on george's real
recordings (the unseen row), and on the test split against the test row; never against 1.
"""

if __name__ == "__main__":
    main()
