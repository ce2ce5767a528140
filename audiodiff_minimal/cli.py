"""The command line: ``python -m audiodiff_minimal {train,sample,enhance,vocode} ...`` (chapters 04-10; see the README).

train   trains a U-Net (chapter 04) on the toy notes or a folder of WAVs, with --resume; under
        ``torchrun --nproc_per_node N`` the same command trains data-parallel (chapter 08). With
        ``--task vocoder|enhancer --data FSDD_FOLDER`` it trains chapter 10's speech models: the same
        command, so the same checks, resume and torchrun apply (a separate subcommand would repeat them).
sample  writes WAVs and a spectrogram grid from a checkpoint (chapter 05); without --checkpoint it
        uses the shipped notes_unet.
enhance removes noise from a recording with the diffusion enhancer (chapter 10, fsdd_enhancer).
vocode  resynthesises a recording from its log-mel spectrogram with the diffusion vocoder (fsdd_vocoder).
        Both read any sample rate and channel count (converted as ``data.WavFolder`` does) and write
        8 kHz mono 16-bit WAV, the models' rate, at the input's level.

Every argument and the output folder are checked before any work starts. A mistake the user can fix
prints one line (what went wrong, which file, what to do) and exits with status 2; a run that fails
(a NaN loss, a full disk) prints one line and exits with 1; anything else is a bug and shows its
traceback. ``--debug`` shows the traceback of every error. This module owns the process group:
it joins torchrun's group at the entry point and leaves it on the way out.
"""

import argparse
import errno
import math
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from .audio import AudioFileError
from .checkpoint import CheckpointError, read_record
from .registry import DEFAULT, SHIPPED, checkpoint_path, load_model, model_config


class UsageError(ValueError):
    """A command-line mistake the user can fix; the message says how."""


# Errors the user can fix (exit 2) and failures of a run (exit 1); anything else is a bug.
USER_ERRORS = (UsageError, CheckpointError, AudioFileError, FileNotFoundError, FileExistsError, PermissionError)
RUN_FAILURES = (FloatingPointError,)


def parser() -> argparse.ArgumentParser:
    from .data import SCALE_NAMES, TIMBRE_NAMES
    from .flow import FLOW_SAMPLERS
    from .samplers import SAMPLERS
    from .train import TRAIN_PRESETS

    fmt = argparse.ArgumentDefaultsHelpFormatter
    top = argparse.ArgumentParser(prog="python -m audiodiff_minimal", description=__doc__.splitlines()[0])
    top.add_argument("--debug", action="store_true", help="show the full traceback of every error")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a U-Net on toy notes or a folder of WAV files", formatter_class=fmt)
    p.add_argument("--config", choices=sorted(TRAIN_PRESETS), default="laptop", help="*_cond: class-conditional")
    p.add_argument("--data", default="toy", help="'toy' or a folder of WAV files (with --task: the FSDD recordings)")
    p.add_argument("--task", choices=("vocoder", "enhancer"), default=None,
                   help="chapter 10: train the speech vocoder or enhancer on the FSDD training split of --data "
                        "(--config quick, laptop or gpu picks the size)")  # fmt: skip
    p.add_argument("--out", required=True, help="run folder for checkpoints and logs, e.g. runs/NAME")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--steps", type=int, default=None, help="total optimizer steps (default: the config's)")
    p.add_argument("--prediction", choices=("eps", "x0", "v", "fm"), default=None,
                   help="what the net learns (default: the config's, v); fm = flow matching (chapter 09)")  # fmt: skip
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    p = sub.add_parser("sample", help="write WAVs and a spectrogram grid from a checkpoint", formatter_class=fmt)
    p.add_argument("--checkpoint", default=DEFAULT, help=f"a folder or a shipped name: {', '.join(SHIPPED)}")
    p.add_argument("--sampler", choices=sorted(SAMPLERS) + list(FLOW_SAMPLERS), default=None,
                   help="default: dpm; a flow-matching checkpoint takes euler or heun (default heun)")  # fmt: skip
    p.add_argument("--steps", type=int, default=20, help="network evaluations")
    p.add_argument("--n", type=int, default=8, help="number of clips")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="folder for the WAVs and the PNG")
    p.add_argument("--pitch", default=None, choices=SCALE_NAMES, help="class-conditional checkpoints only")
    p.add_argument("--timbre", default=None, choices=TIMBRE_NAMES, help="class-conditional checkpoints only")
    p.add_argument("--scale", type=float, default=1.0, help="classifier-free guidance scale s (1 = plain conditional)")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    for name, what, default in (("enhance", "remove noise from a recording (chapter 10)", "fsdd_enhancer"),
                                ("vocode", "resynthesise a recording from its log-mel spectrogram (chapter 10)",
                                 "fsdd_vocoder")):  # fmt: skip
        p = sub.add_parser(name, help=what, formatter_class=fmt)
        p.add_argument("input", help="a WAV, FLAC or OGG file (any sample rate and channel count)")
        p.add_argument("--out", required=True, help="the output WAV file (8 kHz mono)")
        p.add_argument("--checkpoint", default=default, help="a folder or a shipped name")
        p.add_argument("--sampler", choices=sorted(SAMPLERS), default="dpm")
        p.add_argument("--steps", type=int, default=20, help="network evaluations")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
        p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return top


# --------------------------------------------------------------------------- checks before any work


def check_device(name: str | None) -> torch.device:
    """The device ``name`` (None: the best available), refused with a clear message if it is not here."""
    from .utils import get_device

    if name is None:
        return get_device()
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"--device {name!r} is not a device; use cuda, mps or cpu") from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available.get(device.type, False):
        here = ", ".join(k for k, ok in available.items() if ok)
        raise UsageError(f"--device {name}: not available on this machine; available: {here}")
    return device


def check_out_folder(out: str | Path) -> Path:
    """Create the output folder and make sure a file can be written there, before any work is done."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UsageError(f"--out {out}: cannot write there ({err.strerror or err}); choose another --out") from None
    return out


def positive(value: int, flag: str) -> int:
    if value < 1:
        raise UsageError(f"{flag} {value}: must be at least 1")
    return value


# --------------------------------------------------------------------------- the commands


def train_configs(args):
    """The (UNetConfig, TrainConfig) of ``--config`` (and ``--task``: the speech twin of that size)."""
    from .models.unet1d import UNET_PRESETS
    from .train import TRAIN_PRESETS

    if not args.task:
        return UNET_PRESETS[args.config], TRAIN_PRESETS[args.config]
    if args.config not in ("quick", "laptop", "gpu"):
        raise UsageError(f"--task {args.task}: --config must be quick, laptop or gpu, not {args.config}")
    if args.data == "toy":
        raise UsageError(f"--task {args.task}: --data must be the folder of FSDD recordings "
                         "(audiodiff_minimal.fsdd.download_fsdd() fetches it)")  # fmt: skip
    from .speech import TASKS, fsdd_index, split

    try:
        train_files = split(fsdd_index(args.data), "train")
    except (ValueError, FileNotFoundError) as err:
        raise UsageError(f"--data {args.data}: {str(err).splitlines()[0]}") from None
    if not train_files:
        raise UsageError(f"--data {args.data}: no recordings of the training split (speech.TRAIN_RULE)")
    return replace(UNET_PRESETS[args.config], cond_channels=TASKS[args.task]), TRAIN_PRESETS[args.config]


def train_cmd(args) -> None:
    """``train``: check everything, join the process group (torchrun), train, leave the group."""
    from .distributed import cleanup, init_distributed
    from .train import train_speech, train_unet

    unet_config, config = train_configs(args)
    if args.steps is not None:
        config = replace(config, steps=positive(args.steps, "--steps"))
    if args.prediction is not None:
        config = replace(config, prediction=args.prediction)
    device = check_device(args.device)
    if str(args.data) != "toy" and not Path(args.data).is_dir():
        raise UsageError(f"--data {args.data}: no such folder; give 'toy' or a folder of WAV files")
    data = f"fsdd-{args.task}" if args.task else str(args.data)  # what the checkpoint records
    out = Path(args.out)
    if (out / "config.json").is_file() or (out / ".saving").is_dir():
        if not args.resume:
            raise UsageError(f"--out {out}: already holds a checkpoint; add --resume to continue it, "
                             "or choose another --out")  # fmt: skip
        record = read_record(out)
        if record.kind != "unet" or model_config(record, out / "config.json") != unet_config:
            saved_train = {k: v for k, v in record.train.items() if k != "steps"}
            raise UsageError(f"--resume: {out} was trained with the model {record.model} and training config "
                             f"{saved_train}, not --config {args.config} ({unet_config}); pass the config it was "
                             "trained with")  # fmt: skip
        if data != record.data:
            name = lambda d: f"--task {d[5:]}" if d.startswith("fsdd-") else f"--data {d}"  # noqa: E731
            was, now = name(record.data), (f"--task {args.task}" if args.task else str(args.data))
            raise UsageError(f"--resume: {out} was trained on {was}, not {now}; "
                             "resume with the same data or train into another --out")  # fmt: skip
        if args.prediction is not None and args.prediction != record.prediction:
            raise UsageError(f"--resume: {out} learns prediction {record.prediction!r}, not --prediction "
                             f"{args.prediction}; drop --prediction or train into another --out")  # fmt: skip
        if args.steps is None:
            config = replace(config, steps=record.train["steps"])
        if record.step >= config.steps:
            raise UsageError(f"--resume: {out} is already at step {record.step} of {config.steps}; "
                             "pass a larger --steps to train further")  # fmt: skip
    check_out_folder(out)
    d = init_distributed(str(device))
    try:
        if args.task:
            result = train_speech(args.task, unet_config, config, args.data, out, args.resume, d.device, d)
        else:
            result = train_unet(unet_config, config, args.data, out, resume=args.resume, device=d.device, dist=d)
        if d.is_main:
            tail = result.losses[-100:]
            print(f"step {result.step}: mean loss of the last {len(tail)} steps {sum(tail) / len(tail):.4f}, "
                  f"{result.samples_per_s:.1f} samples/s over {d.world_size} process(es); "
                  f"checkpoint in {out}")  # fmt: skip
    finally:
        cleanup(d)


def sample_cmd(args) -> list[Path]:
    """``sample``: check everything, then write ``n`` WAVs and one spectrogram grid into ``--out``."""
    import matplotlib.pyplot as plt

    from .audio import plot_clips, save_wav
    from .data import SCALE_NAMES, TIMBRE_NAMES, note_label
    from .flow import FLOW_SAMPLERS
    from .generate import SAMPLER_LABELS, generate, pitch_titles

    positive(args.n, "--n")
    positive(args.steps, "--steps")
    if not math.isfinite(args.scale) or args.scale < 0:
        raise UsageError(f"--scale {args.scale}: must be a finite number >= 0 (1 = plain conditional)")
    path = checkpoint_path(args.checkpoint)
    record = read_record(path)
    if record.kind != "unet":
        raise UsageError(f"--checkpoint {path}: holds a {record.kind}, not a diffusion U-Net; `sample` needs a U-Net")
    flow = record.prediction == "fm"
    args.sampler = args.sampler or ("heun" if flow else "dpm")
    if flow != (args.sampler in FLOW_SAMPLERS):
        which = f"one of {', '.join(FLOW_SAMPLERS)}" if flow else "ddpm, ddim or dpm"
        raise UsageError(f"--sampler {args.sampler}: {path} is a {'flow-matching' if flow else 'diffusion'} "
                         f"checkpoint; use {which}")  # fmt: skip
    T = record.make_schedule().T
    if args.steps > T:
        raise UsageError(f"--steps {args.steps}: this checkpoint has T = {T} noise levels; use at most {T}")
    conditional = record.model.get("num_classes", 0) > 0
    asked = args.pitch is not None or args.timbre is not None
    if asked and not conditional:
        raise UsageError(f"--checkpoint {path}: unconditional; --pitch and --timbre need a class-conditional "
                         "checkpoint (train one with --config laptop_cond, or use notes_cond)")  # fmt: skip
    if args.scale != 1.0 and not asked:
        raise UsageError("--scale guides towards a requested note: give --pitch and --timbre too "
                         "(with a class-conditional checkpoint)")  # fmt: skip
    if asked and (args.pitch is None or args.timbre is None):
        raise UsageError(f"give both --pitch (one of {', '.join(SCALE_NAMES)}) and --timbre "
                         f"(one of {', '.join(TIMBRE_NAMES)})")  # fmt: skip
    device = check_device(args.device)
    out = check_out_folder(args.out)
    model, record = load_model(path, device)
    labels = note_label(SCALE_NAMES.index(args.pitch), TIMBRE_NAMES.index(args.timbre)) if asked else None
    start = time.perf_counter()
    x = generate(model, record, args.sampler, args.steps, args.n, args.seed, labels=labels, scale=args.scale)
    seconds = time.perf_counter() - start
    if not torch.isfinite(x).all():
        raise FloatingPointError(f"{path}: the samples are not finite; the checkpoint or the sampler is broken")
    paths = [save_wav(out / f"sample_{i:03d}.wav", clip, record.sr) for i, clip in enumerate(x)]
    titles = pitch_titles(x, record.sr) if record.data == "toy" else [f"{i}" for i in range(len(x))]
    fig = plot_clips(x, record.sr, titles=titles)
    fig.suptitle(f"{path.name} (step {record.step}): {SAMPLER_LABELS[args.sampler]}, {args.steps} steps, "
                 f"seed {args.seed}")  # fmt: skip
    fig.savefig(out / "spectrograms.png", dpi=80)
    plt.close(fig)
    paths.append(out / "spectrograms.png")
    print(f"wrote {args.n} clips ({seconds / args.n:.2f} s per clip, {args.sampler}, {args.steps} steps) "
          f"and spectrograms.png to {out}")  # fmt: skip
    return paths


def check_out_file(out: str | Path) -> Path:
    """Make sure the output file can be written (its folder is created), before any work is done."""
    out = Path(out)
    if out.is_dir():
        raise UsageError(f"--out {out}: is a folder; give a file name such as {out / 'out.wav'}")
    if out.suffix.lower() != ".wav":
        raise UsageError(f"--out {out}: the output is a WAV file; give a name ending in .wav")
    check_out_folder(out.parent)
    return out


def speech_cmd(args) -> Path:
    """``enhance`` / ``vocode``: check everything, load and convert the input, run the model, write 8 kHz WAV."""
    from .audio import load_wav, save_wav
    from .generate import enhance, vocode
    from .speech import RMS, SR, log_mel

    positive(args.steps, "--steps")
    path = checkpoint_path(args.checkpoint)
    record = read_record(path)
    want = {"enhance": "fsdd-enhancer", "vocode": "fsdd-vocoder"}[args.command]
    if record.kind != "unet" or record.data != want:
        raise UsageError(f"--checkpoint {path}: holds a {record.kind} trained on {record.data!r}, not the "
                         f"{args.command} model ({want}); train one with train --task {want[5:]}")  # fmt: skip
    if args.steps > record.make_schedule().T:
        raise UsageError(f"--steps {args.steps}: this checkpoint has T = {record.make_schedule().T}; use fewer")
    out = check_out_file(args.out)
    device = check_device(args.device)
    x = torch.from_numpy(load_wav(args.input, sr=SR)[0])  # (L,), converted and checked, errors name the file
    model, record = load_model(path, device)
    start = time.perf_counter()
    if args.command == "enhance":
        y = enhance(model, record, x, args.sampler, args.steps, args.seed)
    else:
        gain = RMS / x.pow(2).mean().sqrt()  # the vocoder learned mels of clips at RMS 0.05 (speech.normalize_rms)
        mel = log_mel((gain * x)[None])  # (1, n_mels, frames)
        y = vocode(model, record, mel, len(x), args.sampler, args.steps, args.seed) / gain
    seconds = time.perf_counter() - start
    if not torch.isfinite(y).all():
        raise FloatingPointError(f"{path}: the output is not finite; the checkpoint or the sampler is broken")
    save_wav(out, y[0, 0], SR)
    print(f"wrote {out} ({len(x) / SR:.2f} s at {SR} Hz; {path.name}, {args.sampler}, {args.steps} steps, "
          f"{seconds:.1f} s)")  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status (0 done, 1 the run failed, 2 bad input)."""
    args = parser().parse_args(argv)  # argparse itself exits with 2 on a malformed command line
    command = {"train": train_cmd, "sample": sample_cmd, "enhance": speech_cmd, "vocode": speech_cmd}[args.command]
    try:
        command(args)
    except USER_ERRORS + RUN_FAILURES + (OSError,) as err:
        if args.debug or (isinstance(err, OSError) and not isinstance(err, USER_ERRORS) and err.errno != errno.ENOSPC):
            raise  # --debug, or an OSError that is not a full disk: a bug or a system problem, show it all
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            message = f"disk full while writing {err.filename or args.out}; free some space (nothing is lost: " \
                      "--resume continues from the last complete checkpoint)"  # fmt: skip
        print(f"audiodiff_minimal {args.command}: error: {message}", file=sys.stderr)
        return 2 if isinstance(err, USER_ERRORS) else 1
    return 0
