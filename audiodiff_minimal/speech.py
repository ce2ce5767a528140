"""Real speech to learn from: the Free Spoken Digit Dataset, its log-mel spectrogram, noise and batches.

Introduced in ``10_speech`` (a diffusion vocoder and a diffusion speech enhancer). FSDD files are named
``{digit}_{speaker}_{index}.wav`` (8 kHz mono); the dataset's convention makes indices 0-4 the test split,
and we keep one speaker (:data:`HELD_OUT_SPEAKER`) out of training entirely for a speaker-independent test.
``data/fsdd/`` holds a committed subset (see its README: CC BY-SA 4.0, not the code's licence); the shipped
models train on the full set, whose folder a training script takes as an argument
(``fsdd.download_fsdd()`` fetches it).

Levels: every clip the models see is scaled to RMS :data:`RMS` = 0.05 (about -26 dBFS, peaks near 0.3-0.6
for these recordings), so a loud and a quiet recording of the same digit look alike to the network.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from .audio import load_wav

FSDD_DIR = Path(__file__).resolve().parents[1] / "data" / "fsdd"  # the committed subset
HELD_OUT_SPEAKER = "george"  # never trained on: the "unseen" split
TEST_INDICES = range(5)  # the dataset's convention: indices 0-4 of each speaker and digit are the test split
RMS = 0.05  # the level of every clip the models see (normalize_rms)
SR = 8000

# --------------------------------------------------------------------------- the index and its splits


@dataclass(frozen=True)
class Utterance:
    """One FSDD recording: ``{digit}_{speaker}_{index}.wav``."""

    path: Path
    digit: int
    speaker: str
    index: int


NAME = re.compile(r"^([0-9])_([a-z]+)_([0-9]+)\.wav$")


def fsdd_index(root: str | Path) -> list[Utterance]:
    """Every ``*.wav`` in ``root`` as an :class:`Utterance`, sorted by file name.

    Raises:
        ValueError: a WAV whose name is not ``{digit}_{speaker}_{index}.wav`` (named), or a folder without any.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder (fsdd.download_fsdd() fetches the dataset)")
    found = []
    for path in sorted(root.glob("*.wav")):
        m = NAME.match(path.name)
        if m is None:
            raise ValueError(f"{path}: not an FSDD name {{digit}}_{{speaker}}_{{index}}.wav; move it out of {root}")
        found.append(Utterance(path, int(m.group(1)), m.group(2), int(m.group(3))))
    if not found:
        raise ValueError(f"{root}: no FSDD recordings (*.wav) in this folder")
    return found


def split(utterances: list[Utterance], which: str) -> list[Utterance]:
    """The ``"train"``, ``"test"`` or ``"unseen"`` part of ``utterances``.

    ``"unseen"``: every file of :data:`HELD_OUT_SPEAKER`; ``"test"``: indices 0-4 of the other speakers;
    ``"train"``: indices 5 and up of the other speakers. The three never overlap.
    """
    rules = {
        "train": lambda u: u.speaker != HELD_OUT_SPEAKER and u.index not in TEST_INDICES,
        "test": lambda u: u.speaker != HELD_OUT_SPEAKER and u.index in TEST_INDICES,
        "unseen": lambda u: u.speaker == HELD_OUT_SPEAKER,
    }
    if which not in rules:
        raise ValueError(f"split: which must be one of {sorted(rules)}, got {which!r}")
    return [u for u in utterances if rules[which](u)]


# --------------------------------------------------------------------------- loading and level


def load_utterance(path: str | Path, sr: int = SR) -> torch.Tensor:
    """A recording as a mono (L,) float32 tensor at ``sr``, converted and checked by :func:`audio.load_wav`.

    Any sample rate and channel count is converted; a silent, too short, NaN or corrupt file raises
    ``audio.AudioFileError`` naming it.
    """
    x, _ = load_wav(path, sr=sr)
    return torch.from_numpy(x)


def normalize_rms(x: torch.Tensor, rms: float = RMS) -> torch.Tensor:
    """Scale each clip of ``x`` (..., L) to root-mean-square ``rms`` over its last axis (default 0.05, -26 dBFS)."""
    current = x.pow(2).mean(-1, keepdim=True).sqrt()
    return x * (rms / current.clamp_min(1e-8))


# --------------------------------------------------------------------------- the log-mel spectrogram


@dataclass(frozen=True)
class MelConfig:
    """The log-mel spectrogram the vocoder is conditioned on (and the digit classifier reads).

    Magnitude (power 1) of a Hann-windowed STFT with ``center=True`` (zero padding), mapped by
    ``librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)`` (Slaney mel scale and area normalisation,
    librosa's defaults), then ``log(max(mel, floor))``.
    """

    sr: int = SR
    n_fft: int = 512  # 64 ms window at 8 kHz
    hop: int = 128  # 16 ms hop: 62.5 frames per second
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float = 4000.0  # Nyquist at 8 kHz
    floor: float = 1e-5  # log floor: -11.5 nats, far below a speech frame at RMS 0.05


def mel_filters(cfg: MelConfig) -> torch.Tensor:
    """The (n_mels, n_fft // 2 + 1) float32 mel filter bank of ``librosa.filters.mel`` (htk=False, norm="slaney")."""
    import librosa

    fb = librosa.filters.mel(sr=cfg.sr, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax)
    return torch.from_numpy(fb).float()


def log_mel(x: torch.Tensor, cfg: MelConfig = MelConfig()) -> torch.Tensor:
    """log(max(M |STFT(x)|, floor)): the log-mel spectrogram of audio ``x``.

    Args:
        x: (B, L) or (B, 1, L) audio at ``cfg.sr``.
    Returns:
        (B, n_mels, frames) with frames = L // hop + 1 (centred frames: frame k is centred on sample k * hop).
    """
    x = x.reshape(-1, x.shape[-1])  # (B, L)
    window = torch.hann_window(cfg.n_fft, device=x.device, dtype=x.dtype)  # periodic, as librosa's
    spec = torch.stft(x, cfg.n_fft, cfg.hop, window=window, center=True, pad_mode="constant", return_complex=True)
    mel = mel_filters(cfg).to(x.device, x.dtype) @ spec.abs()  # (B, n_mels, frames)
    return torch.log(mel.clamp_min(cfg.floor))
