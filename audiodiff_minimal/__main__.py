"""The command line: ``python -m audiodiff_minimal {train,sample} ...`` (see the README).

train   trains a U-Net (chapter 04) on the toy notes or a folder of WAVs, with --resume.
sample  writes WAVs and a spectrogram grid from a checkpoint (chapter 05); without
        --checkpoint it uses the shipped one.
"""

import argparse


def main(argv: list[str] | None = None) -> None:
    from .train import TRAIN_PRESETS

    parser = argparse.ArgumentParser(prog="python -m audiodiff_minimal", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    # --- train (chapter 04) ---
    p = sub.add_parser("train", help="train a U-Net on toy notes or a folder of WAV files")
    p.add_argument("--config", choices=sorted(TRAIN_PRESETS), default="laptop", help="*_cond: class-conditional")
    p.add_argument("--data", default="toy", help="'toy' or a folder of WAV files")
    p.add_argument("--out", required=True, help="run folder for checkpoints and logs, e.g. runs/NAME")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--steps", type=int, default=None, help="override the config's number of steps")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")

    # --- sample (chapter 05) ---
    p = sub.add_parser("sample", help="write WAVs and a spectrogram grid from a checkpoint")
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped one)")
    p.add_argument("--sampler", choices=["ddpm", "ddim", "dpm"], default="dpm")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--n", type=int, default=8, help="number of clips")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="folder for the WAVs and the PNG")
    p.add_argument("--pitch", default=None, help="with a class-conditional checkpoint: C4, D4, ..., C5")
    p.add_argument("--timbre", default=None, help="with a class-conditional checkpoint: sine, clarinet, string, organ")
    p.add_argument("--scale", type=float, default=1.0, help="classifier-free guidance scale (1 = plain conditional)")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")

    args = parser.parse_args(argv)
    if args.command == "train":
        from .train import train_command

        train_command(args.config, args.data, args.out, resume=args.resume, steps=args.steps, device=args.device)
    else:
        from .generate import sample_command

        sample_command(args.checkpoint, args.sampler, args.steps, args.n, args.seed, args.out, device=args.device,
                       pitch=args.pitch, timbre=args.timbre, scale=args.scale)  # fmt: skip


if __name__ == "__main__":
    main()
