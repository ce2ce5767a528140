"""Audio to learn from: toy notes, a Gaussian AR process, and a folder of your own WAVs.

Introduced in ``00_setup`` (toy notes), ``01_noise_process`` (AR process) and used by
every later chapter. Everything built-in is made by code, deterministic by seed, and
needs no files or network. Clips are mono, 8 kHz by default, shaped (B, 1, L), in [-1, 1].
"""

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile
import torch

from .audio import AudioFileError, load_wav

SR = 8000  # default sample rate, Hz
LENGTH = 4096  # default clip length, samples (0.512 s at 8 kHz)

# --------------------------------------------------------------------------- toy notes

SCALE_MIDI = (60, 62, 64, 65, 67, 69, 71, 72)  # C major, C4 .. C5; A4 = 69 = 440 Hz
SCALE_NAMES = ("C4", "D4", "E4", "F4", "G4", "A4", "B4", "C5")
# Relative amplitudes of harmonics 1, 2, 3, ... for each timbre.
TIMBRES = {
    "sine": (1.0, 0.1),
    "clarinet": (1.0, 0.0, 0.5, 0.0, 0.3, 0.0, 0.2, 0.0, 0.1),  # odd harmonics
    "string": tuple(1.0 / n for n in range(1, 13)),  # sawtooth-like, all harmonics 1/n
    "organ": (1.0, 0.7, 0.0, 0.5, 0.0, 0.0, 0.0, 0.35),  # octaves: 1, 2, 4, 8
}
TIMBRE_NAMES = tuple(TIMBRES)


def midi_to_hz(midi) -> float | np.ndarray:
    """Equal temperament: f = 440 * 2 ** ((midi - 69) / 12)."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69) / 12)


def toy_note(
    pitch: int, timbre: int, length: int = LENGTH, sr: int = SR, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One synthetic note: scale degree ``pitch`` (0..7) played with timbre ``timbre`` (0..3).

    A sum of harmonics k * f0 below Nyquist with the timbre's amplitudes and random phases,
    shaped by an envelope with a short linear attack (5-30 ms) and an exponential decay
    (time constant 0.1-0.6 s), starting after a random onset of up to 10% of the clip,
    scaled to a random peak in [0.4, 0.9]. The random draws come from ``generator``.

    Returns:
        (1, L) float32.
    """
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    u = torch.rand(6, generator=g, dtype=torch.float64).numpy()
    f0 = float(midi_to_hz(SCALE_MIDI[pitch]))
    n = np.arange(length) / sr  # time in seconds, (L,)
    x = np.zeros(length)
    for k, amp in enumerate(TIMBRES[TIMBRE_NAMES[timbre]], start=1):
        if amp > 0 and k * f0 < sr / 2:
            phase = 2 * math.pi * torch.rand(1, generator=g, dtype=torch.float64).item()
            x += amp * np.sin(2 * math.pi * k * f0 * n + phase)
    onset = u[0] * 0.1 * length / sr
    attack, decay = 0.005 + 0.025 * u[1], 0.1 + 0.5 * u[2]
    tau = n - onset  # time since the onset
    env = np.where(tau < 0, 0.0, np.minimum(tau / attack, 1.0) * np.exp(-np.maximum(tau - attack, 0) / decay))
    x = x * env
    x = x / (np.abs(x).max() + 1e-12) * (0.4 + 0.5 * u[3])
    return torch.from_numpy(x).float().unsqueeze(0)


def draw_toy_notes(
    n: int, length: int = LENGTH, sr: int = SR, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` toy notes with uniformly random pitch and timbre, every random draw from ``generator``.

    Returns:
        x (n, 1, L) float32, pitch (n,) int64 in 0..7, timbre (n,) int64 in 0..3.
    """
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    pitch = torch.randint(len(SCALE_MIDI), (n,), generator=g)
    timbre = torch.randint(len(TIMBRES), (n,), generator=g)
    x = torch.stack([toy_note(int(p), int(c), length, sr, g) for p, c in zip(pitch, timbre, strict=True)])
    return x, pitch, timbre


def toy_notes(
    n: int, length: int = LENGTH, sr: int = SR, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` toy notes with uniformly random pitch and timbre, deterministic in ``seed``.

    Returns:
        x (n, 1, L) float32, pitch (n,) int64 in 0..7, timbre (n,) int64 in 0..3.
    """
    return draw_toy_notes(n, length, sr, torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- class labels of the toy notes

NUM_NOTE_CLASSES = len(SCALE_MIDI) * len(TIMBRE_NAMES)  # 32


def note_label(pitch, timbre):
    """Class index of a toy note: ``pitch * len(TIMBRE_NAMES) + timbre``.

    Args:
        pitch: int or (B,) int64 in 0..7 (index into ``data.SCALE_MIDI``).
        timbre: int or (B,) int64 in 0..3 (index into ``data.TIMBRE_NAMES``).
    Returns:
        int or (B,) int64 in 0..31.
    """
    for name, value, n in (("pitch", pitch, len(SCALE_MIDI)), ("timbre", timbre, len(TIMBRE_NAMES))):
        v = torch.as_tensor(value)
        if v.numel() and (v.min() < 0 or v.max() >= n):
            raise ValueError(f"note_label: {name} must lie in 0..{n - 1}, got {value}")
    return pitch * len(TIMBRE_NAMES) + timbre


def label_to_note(label):
    """Inverse of :func:`note_label`: class index (int or (B,) int64) -> (pitch, timbre)."""
    v = torch.as_tensor(label)
    if v.numel() and (v.min() < 0 or v.max() >= NUM_NOTE_CLASSES):
        raise ValueError(f"label_to_note: labels must lie in 0..{NUM_NOTE_CLASSES - 1}, got {label}")
    return label // len(TIMBRE_NAMES), label % len(TIMBRE_NAMES)


def label_name(label: int) -> str:
    """A readable name of a toy-note class, e.g. 'A4 sine'."""
    pitch, timbre = label_to_note(int(label))
    return f"{SCALE_NAMES[pitch]} {TIMBRE_NAMES[timbre]}"


# --------------------------------------------------------------------------- AR process


@dataclass(frozen=True)
class ARProcess:
    """A stationary Gaussian AR(2) process: resonant, filtered white noise.

    x[n] = a1 x[n-1] + a2 x[n-2] + sigma_e e[n],  e[n] ~ N(0, 1),
    with poles at radius ``radius`` and angle 2 pi ``freq`` / ``sr``, so the spectrum peaks
    near ``freq`` Hz; sigma_e is chosen so that the stationary std is ``std``. Its
    autocovariance, covariance matrix and power spectrum are known in closed form, which
    makes it the exactly solvable dataset of chapters 01-03 (Box & Jenkins, Sec. 3.2.4).
    """

    freq: float = 400.0
    radius: float = 0.95
    std: float = 0.3
    sr: int = SR

    @property
    def coeffs(self) -> tuple[float, float]:
        """(a1, a2) = (2 r cos(theta), -r^2), theta = 2 pi freq / sr."""
        theta = 2 * math.pi * self.freq / self.sr
        return 2 * self.radius * math.cos(theta), -(self.radius**2)

    @property
    def noise_std(self) -> float:
        """sigma_e such that gamma(0) = std**2, from the AR(2) variance formula."""
        a1, a2 = self.coeffs
        gain = (1 - a2) / ((1 + a2) * ((1 - a2) ** 2 - a1**2))  # gamma(0) / sigma_e**2
        return self.std / math.sqrt(gain)

    def autocovariance(self, max_lag: int) -> np.ndarray:
        """gamma(k) = E[x[n] x[n+k]] for k = 0..max_lag (Yule-Walker recursion), float64 (max_lag+1,)."""
        a1, a2 = self.coeffs
        gamma = np.empty(max_lag + 1)
        gamma[0] = self.std**2
        if max_lag >= 1:
            gamma[1] = a1 / (1 - a2) * gamma[0]
        for k in range(2, max_lag + 1):
            gamma[k] = a1 * gamma[k - 1] + a2 * gamma[k - 2]
        return gamma

    def covariance(self, length: int) -> torch.Tensor:
        """The (L, L) Toeplitz covariance matrix Sigma[i, j] = gamma(|i - j|), float64."""
        gamma = torch.from_numpy(self.autocovariance(length - 1))
        idx = torch.arange(length)
        return gamma[(idx[:, None] - idx[None, :]).abs()]

    def power_spectrum(self, freqs: np.ndarray) -> np.ndarray:
        """Power spectral density S(f) = sigma_e^2 / |1 - a1 z^-1 - a2 z^-2|^2, z = exp(2 pi i f / sr).

        Two-sided and per radian: gamma(k) = (1 / 2 pi) int_{-pi}^{pi} S e^{i w k} dw, so
        E|DFT(x)[k]|^2 / L -> S(f_k) as L grows.
        """
        z = np.exp(-2j * np.pi * np.asarray(freqs, dtype=np.float64) / self.sr)
        a1, a2 = self.coeffs
        return self.noise_std**2 / np.abs(1 - a1 * z - a2 * z**2) ** 2

    def sample(self, n: int, length: int = LENGTH, seed: int = 0) -> torch.Tensor:
        """``n`` clips from the stationary process, deterministic in ``seed``.

        Runs the recursion from zero for a burn-in of B samples with radius**B < 1e-12, so
        the start-up transient is below float32 precision. Returns (n, 1, L) float32.
        """
        a1, a2 = self.coeffs
        burn = int(math.ceil(math.log(1e-12) / math.log(self.radius)))
        g = torch.Generator().manual_seed(seed)
        e = torch.randn(n, burn + length, generator=g, dtype=torch.float64).numpy() * self.noise_std
        x = scipy.signal.lfilter([1.0], [1.0, -a1, -a2], e, axis=-1)[:, burn:]
        return torch.from_numpy(x).float().unsqueeze(1)


# --------------------------------------------------------------------------- your own WAVs


class WavFolder(torch.utils.data.Dataset):
    """Every audio file under ``root`` as mono clips of ``length`` samples at ``sr``.

    Files are loaded once, here, and checked: any sample rate (resampled to ``sr``),
    stereo mixed to mono, then peak-normalised to ``peak``. In ``__getitem__`` a clip is
    cropped (randomly if ``random_crop``, else from the start) or zero-padded to ``length``.
    A bad file (unreadable, truncated, empty, NaN or infinite samples, or, after conversion,
    silent, near-silent or shorter than ``audio.MIN_SECONDS``: see ``audio.load_wav``) or a
    folder that cannot be read raises :class:`AudioFileError` naming it; with ``skip_bad=True``
    it is skipped and listed in ``self.skipped`` as ``(path, problem)`` so one bad file never
    poisons a run. Files that needed converting are listed in ``self.converted`` as ``(path,
    what was done)``; with ``strict=True`` another sample rate or more than one channel is an
    error instead (for a folder that should already be clean, e.g. before a long GPU run).
    Symlinked folders are read (each folder once); files of other types (MP3, text) and links
    back to a folder already read are listed in ``self.ignored`` as ``(path, reason)``.
    :meth:`summary` says all of it in one line for a log.

    Items are dicts ``{"audio": (1, L) float32, "path": str}``.
    """

    EXTENSIONS = (".wav", ".flac", ".ogg")

    def __init__(
        self,
        root: str | Path,
        sr: int = SR,
        length: int = LENGTH,
        peak: float = 0.9,
        random_crop: bool = True,
        skip_bad: bool = False,
        strict: bool = False,
    ):
        self.root, self.sr, self.length, self.random_crop = Path(root), sr, length, random_crop
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: no such folder")
        self.paths, self.clips, self.skipped, self.converted, self.ignored = [], [], [], [], []
        self.skip_bad = skip_bad
        paths = sorted(self._find(self.root, {self.root.resolve()}))
        if not paths:
            there = ""
            for what, items in (("skipped", self.skipped), ("ignored", self.ignored)):
                there += f"; {what} {len(items)}: {', '.join(p.name for p, _ in items[:3])}" if items else ""
            raise AudioFileError(self.root, f"no audio files ({', '.join(self.EXTENSIONS)}) in this folder{there}")
        for path in paths:
            try:
                changes = self._conversions(path, sr)
                if changes and strict:
                    problem = f"{' and '.join(changes)}; convert it first, or load with strict=False to convert here"
                    raise AudioFileError(path, problem)
                x, _ = load_wav(path, sr=sr)
            except AudioFileError as err:
                self._bad(err)
                continue
            self.paths.append(path)
            self.clips.append(x / np.abs(x).max() * peak)
            if changes:
                self.converted.append((path, "; ".join(changes) + ": converted"))
        if not self.clips:
            first, problem = self.skipped[0]
            raise AudioFileError(self.root, f"all {len(paths)} audio files are bad, e.g. {first}: {problem}")

    def _bad(self, err: AudioFileError) -> None:
        """Raise ``err``, or with ``skip_bad`` list it in ``self.skipped``."""
        if not self.skip_bad:
            raise err
        self.skipped.append((err.path, err.problem))

    def _find(self, folder: Path, seen: set[Path]) -> list[Path]:
        """The audio files below ``folder``, following symlinked folders once; lists what is not read."""
        try:
            entries = sorted(os.scandir(folder), key=lambda e: (e.is_symlink(), e.name))  # real folders first
        except OSError as err:
            problem = f"folder cannot be read ({err.strerror}): its files are left out; check its permissions"
            self._bad(AudioFileError(folder, problem))
            return []
        found = []
        for entry in entries:
            path = Path(entry.path)
            if entry.is_dir():  # True for a symlinked folder too
                if path.resolve() in seen:
                    self.ignored.append((path, f"a link to {path.resolve()}, a folder already read"))
                    continue
                seen.add(path.resolve())
                found += self._find(path, seen)
            elif path.suffix.lower() in self.EXTENSIONS:
                found.append(path)  # a broken link too: load_wav names it
            else:
                self.ignored.append((path, self._why_ignored(path)))
        return found

    def _why_ignored(self, path: Path) -> str:
        """Why a file of another type is not read, and what to do if it is audio."""
        read = ", ".join(self.EXTENSIONS)
        kind = path.suffix.lower()
        if kind in (".mp3", ".m4a", ".aac", ".aif", ".aiff", ".opus", ".wma", ".mp4"):
            return f"{kind[1:].upper()} is not read (only {read}); convert it: ffmpeg -i {path.name} {path.stem}.wav"
        return f"not audio (only {read} files are read)"

    def summary(self) -> str:
        """One line for a log: how many files and seconds, and how many converted, skipped and ignored."""
        seconds = sum(len(x) for x in self.clips) / self.sr
        short = sum(len(x) < self.length for x in self.clips)
        duration = f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.1f} s"
        padded = f" ({short} shorter than a {self.length / self.sr:.3g} s clip: zero-padded)" if short else ""
        files = f"{len(self)} file{'' if len(self) == 1 else 's'}"
        counts = f"converted {len(self.converted)}, skipped {len(self.skipped)} bad, ignored {len(self.ignored)}"
        return f"{self.root}: {files}, {duration} at {self.sr} Hz{padded}; {counts}"

    @staticmethod
    def _conversions(path: Path, sr: int) -> list[str]:
        """What loading ``path`` at ``sr`` will change: another sample rate, several channels (empty if none)."""
        try:
            info = soundfile.info(path)
        except Exception:  # unreadable: load_wav names the problem
            return []
        changes = [f"sample rate {info.samplerate} Hz, not {sr} Hz"] if info.samplerate != sr else []
        if info.channels > 1:
            changes.append(f"{info.channels} channels, not mono")
        return changes

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict:
        x = self.clips[i]
        if len(x) > self.length:
            start = int(torch.randint(len(x) - self.length + 1, ())) if self.random_crop else 0
            x = x[start : start + self.length]
        x = np.pad(x, (0, self.length - len(x)))
        return {"audio": torch.from_numpy(x).float().unsqueeze(0), "path": str(self.paths[i])}
