"""Which network each checkpoint holds, and the shipped checkpoints by name (used from ``04_unet_on_gpu`` on).

``checkpoint.py`` reads and writes a :class:`checkpoint.Record` without knowing any model; this module,
one layer up, maps a record's ``kind`` to the config class and the network that it builds::

    model, record = load_model("notes_unet")           # a shipped checkpoint, by name
    model, record = load_model("runs/quick", "cuda")   # or any checkpoint folder
    schedule = record.make_schedule()

Before any weight is read, the network is built on PyTorch's ``meta`` device (no memory) and its
tensor shapes are compared with the weights file's header, so a crafted or mismatched ``config.json``
is refused with a clear message instead of allocating gigabytes first.
"""

from pathlib import Path

import torch
from torch import nn

from .checkpoint import CheckpointError, Record, read_record, read_weights, weight_shapes
from .models.classifier import ClassifierConfig, NoteClassifier
from .models.unet1d import UNet1D, UNetConfig
from .models.wavenet import WaveNet, WaveNetConfig

# kind -> (config class, network class); the network is built as Network(Config(**record.model))
MODELS: dict[str, tuple[type, type[nn.Module]]] = {
    "unet": (UNetConfig, UNet1D),
    "wavenet": (WaveNetConfig, WaveNet),
    "classifier": (ClassifierConfig, NoteClassifier),
}

CHECKPOINTS = Path(__file__).resolve().parent.parent / "data" / "checkpoints"
SHIPPED = {
    "notes_unet": CHECKPOINTS / "notes_unet",  # chapters 04-05: the 1.35M U-Net, v-prediction
    "notes_fm": CHECKPOINTS / "notes_fm",  # chapter 09: the same U-Net trained with flow matching
    "notes_cond": CHECKPOINTS / "notes_cond",  # chapter 06: class-conditional
    "notes_unet_small": CHECKPOINTS / "notes_unet_small",  # chapter 07: the WaveNet's size and time
    "notes_wavenet": CHECKPOINTS / "notes_wavenet",  # chapter 07: the autoregressive baseline
    "notes_classifier": CHECKPOINTS / "notes_classifier",  # issue 12: the evaluation network of metrics.py
    "fsdd_classifier": CHECKPOINTS / "fsdd_classifier",  # chapter 10: the spoken-digit recogniser
    "fsdd_vocoder": CHECKPOINTS / "fsdd_vocoder",  # chapter 10: speech from a log-mel spectrogram
    "fsdd_enhancer": CHECKPOINTS / "fsdd_enhancer",  # chapter 10: clean speech from a noisy recording
}
DEFAULT = "notes_unet"  # what `sample` uses without --checkpoint


def checkpoint_path(name_or_path: str | Path) -> Path:
    """A shipped checkpoint's folder for its name (``"notes_unet"``), else the path itself."""
    return SHIPPED[name_or_path] if isinstance(name_or_path, str) and name_or_path in SHIPPED else Path(name_or_path)


def model_config(record: Record, where: str | Path = "config.json"):
    """The model's config object (``UNetConfig``, ``WaveNetConfig``) of a record; errors name ``where``."""
    if record.kind not in MODELS:
        raise CheckpointError(f"{where}: unknown model kind {record.kind!r}; this code knows {sorted(MODELS)}")
    config_class = MODELS[record.kind][0]
    try:
        return config_class(**record.model)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{where}: the model config does not build a {config_class.__name__}: {err}") from err


def build_model(record: Record, where: str | Path = "config.json") -> nn.Module:
    """A freshly initialised network of the kind and config a record describes."""
    return MODELS[record.kind][1](model_config(record, where))


def load_model(
    name_or_path: str | Path = DEFAULT, device: str | torch.device | None = None, ema: bool = True
) -> tuple[nn.Module, Record]:
    """Rebuild the network of a checkpoint and load its weights.

    Args:
        name_or_path: a shipped name (see :data:`SHIPPED`) or a checkpoint folder.
        device: where to put the model (default CPU).  ema: the EMA weights (True) or the raw ones.
    Returns:
        (model in eval mode on ``device``, record). ``record.make_schedule()`` gives a diffusion model's schedule.
    Raises:
        FileNotFoundError, CheckpointError: a message that names the file and the problem.
    """
    path = checkpoint_path(name_or_path)
    record = read_record(path)
    where = path / "config.json"
    with torch.device("meta"):  # shapes only, no memory: a crafted config cannot allocate gigabytes
        expected = {k: tuple(v.shape) for k, v in build_model(record, where).state_dict().items()}
    found = weight_shapes(path, ema)
    if expected != found:
        diff = sorted(set(expected.items()) ^ set(found.items()))[:3]
        raise CheckpointError(f"{where}: the weights do not fit the model config it describes (first differences: "
                              f"{diff}); the config was edited or the files come from different runs")  # fmt: skip
    model = build_model(record, where)
    model.load_state_dict(read_weights(path, record, ema))
    return model.to(device or "cpu").eval(), record
