"""Pitch and timbre accuracy of a class-conditional checkpoint against the guidance scale (chapter 06).

For every scale and every seed, generates ``--n`` clips whose labels cycle through all 32 toy-note classes
(pitch x timbre) with classifier-free guidance (``guidance.guided_model``), and prints a markdown table with
95% percentile-bootstrap intervals over the pooled clips (``metrics.bootstrap_ci``):

- pitch accuracy: the clip's estimated pitch is the requested scale note within 50 cents (chance 1/8);
- timbre accuracy: the shipped evaluation network ``notes_classifier`` (its MODEL_CARD.md) names the requested
  timbre, p(timbre | x) = sum over pitch of p(y | x) (chance 1/4). The older template matcher
  (``evaluate.classify_timbre``) mixes timbre with harmonic energy, so it is no longer used here;
- the paired gain in timbre accuracy of each scale over s = 1 (the plain conditional model: guidance itself);
- flatness, RMS (real toy notes: about 0.22) and the within-class spread (diversity; no interval).

    python benchmarks/guidance_vs_accuracy.py --n 128 --seeds 0 1 2 --scales 0 1 2 3 5 --steps 20
"""

import argparse
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from audiodiff_minimal.data import NUM_NOTE_CLASSES, label_to_note
from audiodiff_minimal.evaluate import cents_to_scale, estimate_pitch, label_measures
from audiodiff_minimal.generate import classifier_outputs, generate
from audiodiff_minimal.metrics import bootstrap_ci
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.utils import get_device


def per_clip(x, labels, classifier, sr: int) -> dict:
    """Per-clip 0/1 verdicts and loudness of clips x (B, 1, L) asked for ``labels`` (B,)."""
    pitch, timbre = (v.numpy() for v in label_to_note(labels))
    cents, note = cents_to_scale(estimate_pitch(x, sr))
    probs = classifier_outputs(classifier, x)[1]  # (B, 32), class = pitch * 4 + timbre
    heard_timbre = probs.reshape(len(x), -1, 4).sum(1).argmax(1)
    return {
        "pitch_ok": ((np.abs(cents) <= 50) & (note == pitch)).astype(float),
        "timbre_ok": (heard_timbre == timbre).astype(float),
        "rms": x.pow(2).mean((1, 2)).sqrt().numpy(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="notes_cond", help="a folder or a shipped name")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.0, 1.0, 2.0, 3.0, 5.0])
    parser.add_argument("--n", type=int, default=64, help="clips per scale and seed (labels cycle the 32 classes)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sampler", default="dpm")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)

    device = get_device(args.device)
    model, record = load_model(args.checkpoint, device=device)
    classifier, _ = load_model("notes_classifier", device=device)
    labels = torch.arange(args.n) % NUM_NOTE_CLASSES
    print(f"checkpoint {args.checkpoint} (step {record.step}), {args.sampler} {args.steps} steps, "
          f"{args.n} clips x seeds {args.seeds} per scale; 95% bootstrap intervals, pooled clips\n")  # fmt: skip
    rows = {}
    for scale in tqdm(args.scales, desc="guidance scales"):
        t0, parts, flat, spread = time.perf_counter(), [], [], []
        for seed in args.seeds:
            x = generate(model, record, args.sampler, args.steps, args.n, seed, labels=labels, scale=scale,
                         progress=False)  # fmt: skip
            parts.append(per_clip(x, labels, classifier, record.sr))
            m = label_measures(x, labels, record.sr)
            flat.append(m["flatness"])
            spread.append(m["spread"])
        v = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        rows[scale] = (v, np.mean(flat), np.mean(spread), (time.perf_counter() - t0) / len(v["rms"]))
    print("| guidance scale | pitch accuracy | timbre accuracy (classifier) | timbre gain over s = 1 (paired) "
          "| flatness | RMS | within-class spread | s per clip |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    base = rows[1.0][0]["timbre_ok"] if 1.0 in rows else None
    for scale, (v, flat, spread, seconds) in rows.items():
        gain = bootstrap_ci(np.mean, v["timbre_ok"] - base, paired=True) if base is not None else "-"
        print(
            f"| {scale:g} | {bootstrap_ci(np.mean, v['pitch_ok'])} | {bootstrap_ci(np.mean, v['timbre_ok'])} | "
            f"{gain} | {flat:.4f} | {bootstrap_ci(np.mean, v['rms'])} | {spread:.2f} | {seconds:.2f} |"
        )


if __name__ == "__main__":
    main()
