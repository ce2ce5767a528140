"""Checkpoint folders: one typed record, atomic saves, checked loads (introduced in ``04_unet_on_gpu``).

A checkpoint is a folder::

    config.json            the :class:`Record`: kind of model, its config, the training config, schedule, step...
    model.safetensors      weights to sample with (EMA weights for diffusion models)
    model_raw.safetensors  raw weights (what the optimizer moves); absent in shipped checkpoints
    optimizer.pt           the training state: optimizer, EMA, RNGs, step (``weights_only=True``)
    loss_log.json          the training loss at every step

This module reads and writes that folder and nothing else: it imports no model. Which function builds
the network of ``record.kind`` is the business of ``registry.py``, one layer up.

A save is atomic as a whole (a small write-ahead journal): every file is written into ``.saving/`` and
flushed to disk, then an empty ``.saving/COMPLETE`` marks the new checkpoint as whole, then the files are
moved into place and ``.saving/`` is removed. A crash before the marker leaves the old checkpoint
untouched (the half-written ``.saving/`` is discarded); a crash after it leaves a complete new checkpoint
in ``.saving/``, which the next read moves into place. So the folder always reads as one complete
checkpoint, never as new weights beside an old ``config.json``.

Every tensor saved or loaded is checked finite: one NaN weight makes every sample NaN.
"""

import json
import math
import os
import shutil
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .schedules import Schedule, make_schedule

FORMAT_VERSION = 2
PREDICTIONS = ("eps", "x0", "v", "fm")  # "fm": a flow-matching velocity (flow.py, chapter 09)
WEIGHT_FILES = {"model": "model.safetensors", "model_raw": "model_raw.safetensors"}
JOURNAL, COMPLETE = ".saving", "COMPLETE"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Record:
    """One training run as written in ``config.json``: everything needed to rebuild and sample a model.

    ``model`` and ``train`` are the model's and the training's configs as plain JSON dicts (e.g. the
    fields of ``UNetConfig`` and ``TrainConfig``); ``registry.MODELS[kind]`` turns ``model`` into a network.
    """

    kind: str  # "unet" or "wavenet": the key of registry.MODELS
    step: int  # optimizer steps taken
    sr: int  # sample rate, Hz
    length: int  # clip length, samples
    model: dict  # the network's config
    train: dict  # the training config
    prediction: str | None = None  # what a diffusion net predicts: "eps", "x0", "v" or "fm"; None for the WaveNet
    schedule: dict | None = None  # {"name": "cosine", "T": 1000}; None for the WaveNet
    data: str = "toy"  # what it was trained on
    wall_time_s: float = 0.0  # training time so far
    format_version: int = FORMAT_VERSION

    def make_schedule(self) -> Schedule:
        """The noise schedule this model was trained with."""
        if self.schedule is None:
            raise ValueError(f"a {self.kind} checkpoint has no noise schedule")
        return make_schedule(self.schedule["name"], self.schedule["T"])

    def to_json(self) -> dict:
        return {**asdict(self), "format_version": FORMAT_VERSION}

    @classmethod
    def from_json(cls, info, file: str | Path = "config.json") -> "Record":
        """Check a parsed ``config.json`` (format 1 or 2) and return its Record; errors name ``file``."""
        if not isinstance(info, dict):
            raise CheckpointError(f"{file}: expected a JSON object, got {type(info).__name__}")
        version = info.get("format_version")
        if version is None:
            raise CheckpointError(f"{file}: missing keys ['format_version']; not an audiodiff-minimal checkpoint")
        if version not in (1, FORMAT_VERSION):
            raise CheckpointError(f"{file}: format_version {version!r} is not one this code reads (1, 2)")
        if version == 1:
            info = _upgrade_v1(info, file)
        known = {f.name for f in fields(cls)}
        missing = [k for k in ("kind", "step", "sr", "length", "model", "train") if k not in info]
        if missing:
            raise CheckpointError(f"{file}: missing keys {missing}; not an audiodiff-minimal checkpoint")
        record = cls(**{k: v for k, v in info.items() if k in known})
        _check(record, file)
        return record


def _upgrade_v1(info: dict, file) -> dict:
    """Format 1 (until session 3): the U-Net's config under "unet", the WaveNet's under "wavenet"."""
    if info.get("kind") == "wavenet":
        if not isinstance(info.get("train"), dict) or "wavenet" not in info:
            raise CheckpointError(f"{file}: a format-1 WaveNet checkpoint needs 'wavenet' and 'train' objects")
        train = info["train"]
        return {**info, "kind": "wavenet", "model": info["wavenet"], "sr": train.get("sr"),
                "length": train.get("length")}  # fmt: skip
    if "unet" not in info:
        raise CheckpointError(f"{file}: missing keys ['unet']; not an audiodiff-minimal checkpoint")
    return {**info, "kind": "unet", "model": info["unet"]}


def _check(r: Record, file) -> None:
    """Types and ranges of every field, and the schedule against the training config."""

    def bad(name, why):
        raise CheckpointError(f"{file}: {name} {why}; the file was edited or is corrupt")

    for name in ("step", "sr", "length"):
        value = getattr(r, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "step" else 1):
            bad(name, f"= {value!r} must be a {'non-negative' if name == 'step' else 'positive'} integer")
    if not isinstance(r.kind, str):
        bad("kind", f"= {r.kind!r} must be a string")
    for name in ("model", "train"):
        if not isinstance(getattr(r, name), dict):
            bad(name, "must be a JSON object")
    if r.prediction is not None and r.prediction not in PREDICTIONS:
        bad("prediction", f"= {r.prediction!r} must be one of {PREDICTIONS}")
    if r.schedule is not None:
        s = r.schedule
        if not (isinstance(s, dict) and isinstance(s.get("name"), str) and isinstance(s.get("T"), int) and s["T"] > 0):
            bad("schedule", f"= {s!r} must be {{'name': str, 'T': positive int}}")
        trained = {k: r.train[k] for k in ("schedule", "T") if k in r.train}
        if trained and (trained.get("schedule", s["name"]), trained.get("T", s["T"])) != (s["name"], s["T"]):
            bad("schedule", f"= {s} disagrees with the training config's {trained}")
    if not isinstance(r.wall_time_s, int | float) or not math.isfinite(r.wall_time_s):
        bad("wall_time_s", f"= {r.wall_time_s!r} must be a finite number")


# --------------------------------------------------------------------------- saving


def _sync(path: Path) -> None:
    """Flush a file or a folder to disk (folders matter for renames; some systems cannot open them)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _crash_point(what: str) -> None:
    """Called after every file operation of a save; tests replace it to simulate a crash right there."""


def check_finite(tensors: dict[str, torch.Tensor], where: str) -> None:
    """Raise FloatingPointError naming the first tensor that holds a NaN or an infinity."""
    for name, value in tensors.items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise FloatingPointError(f"{where}: tensor {name!r} holds NaN or infinite values")


def save_checkpoint(
    out: str | Path,
    record: Record,
    weights: dict[str, dict] | None = None,
    state: dict | None = None,
    log: dict | None = None,
) -> None:
    """Write checkpoint folder ``out`` atomically as a whole (see the module docstring).

    Args:
        out: the folder (created if needed).  record: what goes into config.json.
        weights: {"model": state_dict} and optionally {"model_raw": state_dict}, saved as safetensors.
        state: the training state (saved with ``torch.save``, read with ``weights_only=True``).
        log: a JSON-able dict (``loss_log.json``).
    Raises:
        FloatingPointError naming the tensor if any weight is not finite (nothing is written then).
    """
    out = Path(out)
    for key, tensors in weights.items():
        check_finite(tensors, f"{out / WEIGHT_FILES[key]} (step {record.step})")
    journal = out / JOURNAL
    out.mkdir(parents=True, exist_ok=True)
    if journal.exists():
        shutil.rmtree(journal)  # a save cut off earlier
    journal.mkdir()
    files = {}
    for key, tensors in weights.items():
        files[WEIGHT_FILES[key]] = lambda p, t=tensors: save_file(
            {k: v.detach().contiguous().cpu() for k, v in t.items()}, p,
            metadata={"step": str(record.step), "format_version": str(FORMAT_VERSION)})  # fmt: skip
    if state is not None:
        files["optimizer.pt"] = lambda p: torch.save(state, p)
    if log is not None:
        files["loss_log.json"] = lambda p: p.write_text(json.dumps(log))
    files["config.json"] = lambda p: p.write_text(json.dumps(record.to_json(), indent=1))
    for name, write in files.items():
        write(journal / name)
        _sync(journal / name)
        _crash_point(f"wrote {name}")
    (journal / COMPLETE).touch()
    _sync(journal / COMPLETE)
    _sync(journal)
    _crash_point("marked complete")
    _finish_save(out)


def _finish_save(out: Path) -> None:
    """Move a complete journal's files into place (idempotent), then remove the journal."""
    journal = out / JOURNAL
    for file in sorted(journal.iterdir()):
        if file.name != COMPLETE:
            os.replace(file, out / file.name)
            _crash_point(f"moved {file.name}")
    _sync(out)
    shutil.rmtree(journal)
    _sync(out)
    _crash_point("removed journal")


def recover(path: str | Path) -> None:
    """Finish or discard a save that a crash cut off (called by every reader).

    A journal with its COMPLETE marker is moved into place; one without it is removed (the folder
    still holds the previous complete checkpoint). Read-only folders are left as they are.
    """
    journal = Path(path) / JOURNAL
    if not journal.is_dir():
        return
    try:
        if (journal / COMPLETE).exists():
            _finish_save(Path(path))
        else:
            shutil.rmtree(journal)
    except OSError as err:
        raise CheckpointError(f"{journal}: a save was cut off and cannot be finished here ({err})") from err


# --------------------------------------------------------------------------- loading


def read_record(path: str | Path) -> Record:
    """The checked :class:`Record` of checkpoint folder ``path``."""
    path = Path(path)
    file = path / "config.json"
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such checkpoint folder")
    recover(path)
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no such file; is {path} a checkpoint folder (see checkpoint.py)?")
    try:
        info = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{file}: not valid JSON ({err}); the checkpoint is corrupt, copy it again") from err
    try:
        return Record.from_json(info, file)
    except TypeError as err:  # an unknown or ill-typed field
        raise CheckpointError(f"{file}: {err}") from err


def weight_shapes(path: str | Path, ema: bool = True) -> dict[str, tuple[int, ...]]:
    """The name and shape of every tensor in a weights file, read from its header only (no weights loaded)."""
    file = Path(path) / WEIGHT_FILES["model" if ema else "model_raw"]
    try:
        with safe_open(file, framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError) as err:
        raise CheckpointError(
            f"{file}: cannot read safetensors ({err}); the file is missing, truncated or corrupt"
        ) from err


def read_weights(path: str | Path, record: Record | None = None, ema: bool = True) -> dict[str, torch.Tensor]:
    """The state dict in ``model.safetensors`` (``ema=True``) or ``model_raw.safetensors`` of folder ``path``.

    Checks that the file was saved at ``record.step`` (a save cut off would differ) and that every tensor
    is finite. ``record`` defaults to the folder's own.
    """
    path = Path(path)
    record = record if record is not None else read_record(path)
    file = path / WEIGHT_FILES["model" if ema else "model_raw"]
    if not file.is_file():
        kind = "EMA" if ema else "raw (shipped checkpoints hold only EMA weights; use ema=True)"
        raise CheckpointError(f"{file}: no such file; {kind} weights are missing")
    try:
        state = load_file(file)
        with safe_open(file, framework="pt") as f:
            saved_step = (f.metadata() or {}).get("step")
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{file}: cannot read safetensors ({err}); the file is truncated or corrupt") from err
    if saved_step is not None and int(saved_step) != record.step:
        raise CheckpointError(f"{file}: saved at step {saved_step} but config.json says {record.step}")
    try:
        check_finite(state, str(file))
    except FloatingPointError as err:
        raise CheckpointError(f"{err}; this checkpoint cannot make audio, use an earlier one") from err
    return state


def read_state(path: str | Path) -> dict:
    """``optimizer.pt`` of a run folder: the training state (``torch.load(..., weights_only=True)``)."""
    path = Path(path)
    recover(path)
    file = path / "optimizer.pt"
    if not file.is_file():
        raise CheckpointError(f"{file}: no such file; only run folders (not shipped ones) can resume")
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{file}: cannot read the training state ({err}); the file is corrupt") from err
