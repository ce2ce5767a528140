"""Checkpoint folders: save atomically, load with clear errors (introduced in ``04_unet_on_gpu``).

A checkpoint is a folder::

    model.safetensors      EMA weights (what you sample with)
    model_raw.safetensors  raw weights (what the optimizer moves); absent in shipped checkpoints
    config.json            UNetConfig, TrainConfig, schedule recipe, prediction, step, format version
    optimizer.pt           optimizer state, step and every RNG state (for an exact --resume)
    loss_log.json          the training loss at every step

Files are written into ``.saving/`` first and then moved into place with ``os.replace``,
``config.json`` last, so a crash while writing leaves the previous checkpoint intact.
Weights are read only through safetensors or ``torch.load(..., weights_only=True)``.
"""

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .models.unet1d import UNet1D, UNetConfig
from .schedules import Schedule, make_schedule

FORMAT_VERSION = 1
SHIPPED_CHECKPOINT = Path(__file__).resolve().parent.parent / "data" / "checkpoints" / "notes_unet"
REQUIRED_KEYS = ("format_version", "step", "prediction", "sr", "length", "unet", "train", "schedule")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message names the file and the problem."""


def save_checkpoint(out: str | Path, files: dict) -> None:
    """Write a checkpoint folder atomically.

    Args:
        out: the folder.  files: name -> content, where content is a dict of tensors (for
            ``*.safetensors``, saved with ``{"step": ...}`` metadata), a dict for ``*.json``, or any
            ``torch.save``-able object for ``*.pt``. ``config.json`` must be among them.
    """
    out = Path(out)
    tmp = out / ".saving"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    step = str(files["config.json"]["step"])
    for name, content in files.items():
        if name.endswith(".safetensors"):
            tensors = {k: v.detach().contiguous().cpu() for k, v in content.items()}
            save_file(tensors, tmp / name, metadata={"step": step, "format_version": str(FORMAT_VERSION)})
        elif name.endswith(".json"):
            (tmp / name).write_text(json.dumps(content, indent=1))
        else:
            torch.save(content, tmp / name)
    for name in sorted(files, key=lambda n: n == "config.json"):  # config.json last: it marks a complete save
        os.replace(tmp / name, out / name)
    tmp.rmdir()


def read_config(path: str | Path) -> dict:
    """The parsed ``config.json`` of checkpoint folder ``path``, checked for the keys we need."""
    file = Path(path) / "config.json"
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no such file; is {path} a checkpoint folder (see checkpoint.py)?")
    try:
        info = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{file}: not valid JSON ({err}); the checkpoint is corrupt, copy it again") from err
    missing = [k for k in REQUIRED_KEYS if k not in info] if isinstance(info, dict) else list(REQUIRED_KEYS)
    if missing:
        raise CheckpointError(f"{file}: missing keys {missing}; not an audiodiff-minimal checkpoint")
    if info["format_version"] > FORMAT_VERSION:
        raise CheckpointError(f"{file}: format {info['format_version']} is newer than this code ({FORMAT_VERSION})")
    return info


def read_weights(path: str | Path, ema: bool = True, step: int | None = None) -> dict[str, torch.Tensor]:
    """The state dict in ``model.safetensors`` (EMA) or ``model_raw.safetensors`` (raw) of folder ``path``."""
    file = Path(path) / ("model.safetensors" if ema else "model_raw.safetensors")
    if not file.is_file():
        kind = "EMA" if ema else "raw (shipped checkpoints hold only EMA weights; use ema=True)"
        raise FileNotFoundError(f"{file}: no such file; {kind} weights are missing")
    try:
        state = load_file(file)
        with open(file, "rb") as f:  # the header holds the step it was saved at
            header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{file}: cannot read safetensors ({err}); the file is truncated or corrupt") from err
    saved_step = header.get("__metadata__", {}).get("step")
    if step is not None and saved_step is not None and int(saved_step) != step:
        raise CheckpointError(f"{file}: saved at step {saved_step} but config.json says {step}; a save was cut off")
    return state


def load_into(model: UNet1D, path: str | Path, ema: bool = True) -> dict:
    """Load the weights of checkpoint ``path`` into ``model`` (in place); return its config.json.

    Raises:
        ValueError naming both configs when ``model`` was built with another UNetConfig.
    """
    info = read_config(path)
    saved = UNetConfig(**info["unet"])
    if saved != model.config:
        raise ValueError(
            f"checkpoint {path} holds a UNet1D with {saved}, but the model to load into has {model.config}"
        )
    state = read_weights(path, ema, info["step"])
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit {saved} from its config.json:\n{err}") from err
    return info


def load_checkpoint(
    path: str | Path, device: str | torch.device | None = None, ema: bool = True
) -> tuple[UNet1D, Schedule, dict]:
    """Rebuild the model and schedule of a checkpoint folder.

    Args:
        path: a checkpoint folder (a run folder ``runs/NAME`` or :data:`SHIPPED_CHECKPOINT`).
        device: where to put the model (default: CPU).  ema: EMA weights (True) or raw ones.
    Returns:
        model (``UNet1D`` in eval mode on ``device``), schedule, and info: config.json as a dict
        with keys prediction, sr, length, step, unet, train, schedule, ...
    """
    info = read_config(path)
    model = UNet1D(UNetConfig(**info["unet"]))
    load_into(model, path, ema)
    schedule = make_schedule(info["schedule"]["name"], info["schedule"]["T"])
    return model.to(device or "cpu").eval(), schedule, info


def load_training_state(path: str | Path) -> dict:
    """``optimizer.pt`` of a run folder: optimizer state, step and RNG states (``weights_only=True``)."""
    file = Path(path) / "optimizer.pt"
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{file}: no such file; only run folders (not shipped ones) can resume") from None
    except Exception as err:
        raise CheckpointError(f"{file}: cannot read the training state ({err}); the file is corrupt") from err
