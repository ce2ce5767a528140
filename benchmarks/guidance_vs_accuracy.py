"""Pitch and timbre accuracy of a class-conditional checkpoint against the guidance scale (chapter 06).

For every scale, generates ``--n`` clips whose labels cycle through all 32 toy-note classes (pitch x timbre),
with classifier-free guidance (``guidance.guided_model``) and the same seed, and prints a markdown table:
the fraction of clips whose estimated pitch is the requested scale note (within 50 cents), the fraction whose
classified timbre is the requested one, spectral flatness, and a diversity figure (the mean distance of each
clip's log-mel features to the mean of its class, so it falls as guidance sharpens the distribution).

    python benchmarks/guidance_vs_accuracy.py --checkpoint data/checkpoints/notes_cond
"""

import argparse

import torch

from audiodiff_minimal.data import NUM_NOTE_CLASSES
from audiodiff_minimal.evaluate import label_measures
from audiodiff_minimal.generate import generate
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.utils import get_device


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="notes_cond", help="a folder or a shipped name")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.0, 1.0, 2.0, 3.0, 5.0])
    parser.add_argument("--n", type=int, default=64, help="clips per scale (labels cycle through the 32 classes)")
    parser.add_argument("--sampler", default="dpm")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)

    model, record = load_model(args.checkpoint, device=get_device(args.device))
    labels = torch.arange(args.n) % NUM_NOTE_CLASSES
    print(f"checkpoint {args.checkpoint} (step {record.step}), {args.sampler} {args.steps} steps, {args.n} clips\n")
    print("| guidance scale | pitch accuracy | timbre accuracy | flatness | within-class spread |")
    print("|---|---|---|---|---|")
    for scale in args.scales:
        x = generate(model, record, args.sampler, args.steps, args.n, args.seed, labels=labels, scale=scale,
                     progress=False)  # fmt: skip
        m = label_measures(x, labels, record.sr)
        row = f"| {scale:g} | {m['pitch_acc']:.2f} | {m['timbre_acc']:.2f} | {m['flatness']:.4f} | {m['spread']:.2f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
