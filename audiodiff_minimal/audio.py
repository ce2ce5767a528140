"""Load, save, listen to and look at audio (introduced in ``00_setup``).

Clips may be torch tensors or NumPy arrays shaped (L,), (1, L) or (1, 1, L).
``listen`` never normalises: loud noise sounds loud. matplotlib and IPython are
imported inside the functions that draw or play, so the numerics modules that
import :func:`load_wav` stay free of them.
"""

import math
from pathlib import Path

import numpy as np
import soundfile

from .utils import to_numpy


class AudioFileError(ValueError):
    """A file that cannot be used as audio; the message names the file and the problem."""

    def __init__(self, path, problem: str):
        self.path, self.problem = Path(path), problem
        super().__init__(f"{path}: {problem}")


def as_numpy(x) -> np.ndarray:
    """A mono clip as a float32 NumPy array (L,), from (L,), (1, L) or (1, 1, L)."""
    x = to_numpy(x, np.float32)
    if x.ndim > 1:
        if x.size != x.shape[-1]:
            raise ValueError(f"expected one mono clip, got shape {x.shape}; index a single clip first")
        x = x.reshape(-1)
    return x


# A clip whose peak is below this after conversion holds nothing a 16-bit file can tell apart from its own rounding:
# one 16-bit step is 2**-15 = 3.05e-5, dithered digital silence (TPDF dither) reaches +-2 steps, and a stereo file
# whose channels cancel leaves sub-step hiss in the mono mix. Peak-normalising such a clip multiplies that hiss by
# up to ~30,000. Four steps (1.2e-4, -78 dBFS) refuses all of those and keeps any recording with audible content.
SILENCE_PEAK = 4 * 2**-15
# A clip shorter than this after conversion is refused: 50 ms is less than a syllable or a note's attack, a 0.512 s
# training clip made of it is over 90% zero padding (it teaches silence), and a file of a few samples does not
# survive resampling (2 samples at 48 kHz become 1 at 8 kHz). Longer clips that are still shorter than a training
# clip are zero-padded (``data.WavFolder`` counts them in its summary).
MIN_SECONDS = 0.05


def check_audio(x: np.ndarray, path, sr: int, min_seconds: float = MIN_SECONDS, after: str = "") -> None:
    """Raise :class:`AudioFileError` for a clip (L,) the model should not see: too short, NaN or infinite, silent.

    Run on what the model will see, after mixing and resampling; ``after`` says what was done (e.g.
    "after resampling 48000 -> 8000 Hz") so the message explains a clip that was fine in the file.
    """
    where = f" {after}" if after else ""
    if len(x) < max(1, math.ceil(min_seconds * sr)):
        minimum = f"the minimum of {min_seconds} s (audio.MIN_SECONDS)"
        raise AudioFileError(path, f"too short: {len(x)} sample(s) at {sr} Hz{where}, under {minimum}; remove it")
    if not np.all(np.isfinite(x)):
        n_bad = np.sum(~np.isfinite(x))
        raise AudioFileError(path, f"contains {n_bad} NaN or infinite samples{where}; re-export it or remove it")
    peak = float(np.abs(x).max())
    if peak == 0:
        raise AudioFileError(path, f"silent: every sample is zero{where}; remove it")
    if peak < SILENCE_PEAK:
        floor = f"the floor {SILENCE_PEAK:.2g} (4 steps of 16-bit audio, audio.SILENCE_PEAK)"
        raise AudioFileError(
            path, f"near-silent{where}: peak {peak:.2g} is below {floor}; remove it or record it louder"
        )


def wav_header_frames(path: Path) -> int | None:
    """Frames that a RIFF/WAVE file's header promises, or None (not a WAV file, or a size left open by a stream)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != b"WAVE":
            return None
        block_align = 0
        while len(chunk := f.read(8)) == 8:
            name, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if name == b"data":
                return size // block_align if block_align and size not in (0, 0xFFFFFFFF) else None
            body = f.read(size + size % 2)  # chunks are padded to an even size
            if name == b"fmt ":
                block_align = int.from_bytes(body[12:14], "little")
    return None


def load_wav(path: str | Path, sr: int | None = None, min_seconds: float = MIN_SECONDS) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32 (L,), mixing channels and resampling to ``sr``.

    The checks of :func:`check_audio` run on the result, what the model will see.

    Raises:
        AudioFileError: the file is missing, unreadable, corrupt or truncated, empty, shorter than
            ``min_seconds``, silent or near-silent, or holds NaN or infinite samples; the message names the file.
    """
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise AudioFileError(path, f"a symbolic link to a missing file ({path.readlink()}); fix or remove the link")
    if not path.is_file():
        raise AudioFileError(path, "no such file")
    if path.stat().st_size == 0:
        raise AudioFileError(path, "is an empty file (0 bytes): an interrupted copy or download?")
    try:
        x, file_sr = soundfile.read(path, dtype="float32", always_2d=True)  # (L, channels)
    except Exception as err:  # soundfile raises several types for bad files
        raise AudioFileError(path, f"cannot be read as audio ({err})") from err
    promised = wav_header_frames(path)
    if promised is not None and len(x) < promised:
        held = f"its header promises {promised} samples, the file holds {len(x)}"
        raise AudioFileError(path, f"truncated: {held} (an interrupted copy or download?); copy it again or remove it")
    if x.size == 0:
        raise AudioFileError(path, "contains no samples (zero-length audio)")
    check_audio(x.ravel(), path, file_sr, min_seconds=0)  # NaN and silence of the file itself: the plain message
    steps = [f"mixing {x.shape[1]} channels to mono"] if x.shape[1] > 1 else []
    x = x.mean(axis=1)  # stereo -> mono
    if steps and np.abs(x).max() < SILENCE_PEAK:
        steps[0] += " (the channels cancel: is one of them inverted? keep one channel)"
    if sr is not None and file_sr != sr:
        import librosa

        steps.append(f"resampling {file_sr} -> {sr} Hz")
        x = librosa.resample(x, orig_sr=file_sr, target_sr=sr).astype(np.float32)
        file_sr = sr
    check_audio(x, path, file_sr, min_seconds, after="after " + " and ".join(steps) if steps else "")
    return x, file_sr


def save_wav(path: str | Path, x, sr: int) -> Path:
    """Write a mono clip as 16-bit PCM WAV, rounded to the nearest 16-bit step and clipped; creates parent folders.

    We round ourselves: libsndfile converts floats by truncating towards minus infinity, which moves every
    sample down by up to one step (0.5 on average). Rounding keeps the round-trip error within half a step.
    """
    x = as_numpy(x)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{path}: refusing to write NaN or infinite samples")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.clip(np.round(x.astype(np.float64) * 32768), -32768, 32767).astype(np.int16)  # the 16-bit step is 2^-15
    soundfile.write(path, pcm, sr, subtype="PCM_16")
    return path


def listen(x, sr: int):
    """An inline player for a mono clip, without normalisation (values clipped to [-1, 1])."""
    from IPython.display import Audio

    return Audio(np.clip(as_numpy(x), -1.0, 1.0), rate=sr, normalize=False)


# The colour range of spectrogram plots, in dB re a full-scale sine (see spectrogram_db). Fixed, so that panels
# compare: unit white noise (x_T) sits near -20 dB, a toy note's harmonics between -40 and 0 dB, and noise of
# std 1e-3 (a few diffusion steps) near -80 dB, the dark end.
DB_RANGE = (-80.0, 0.0)


def spectrogram_db(x, n_fft: int = 512, hop_length: int = 64) -> np.ndarray:
    """Magnitude STFT (Hann window) in dB re a full-scale sine, floored at -120 dB: (1 + n_fft // 2, frames) float32.

    A sine of amplitude A centred in a bin gives |X| = A sum(w) / 2 (= A n_fft / 4 for the periodic Hann window
    w), so that is the reference: 0 dB is a sine of amplitude 1, -6 dB one of amplitude 0.5. White noise of
    variance s^2 has E|X|^2 = s^2 sum(w^2) = s^2 3 n_fft / 8 per bin: unit noise at n_fft = 512 sits at -19.3 dB.
    """
    import librosa
    import scipy.signal

    window = scipy.signal.get_window("hann", n_fft)  # periodic, as librosa.stft uses
    ref = window.sum() / 2  # |X| of a full-scale sine at a bin centre
    mag = np.abs(librosa.stft(as_numpy(x), n_fft=n_fft, hop_length=hop_length, window=window))
    return librosa.amplitude_to_db(mag, ref=ref, amin=ref * 1e-6, top_db=None).astype(np.float32)


def plot_waveform(x, sr: int, ax=None, title: str | None = None):
    """Waveform against time in seconds; returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    x = as_numpy(x)
    ax = ax or plt.subplots(figsize=(6, 2))[1]
    ax.plot(np.arange(len(x)) / sr, x, lw=0.6)
    ax.set(xlabel="time (s)", ylabel="amplitude", title=title)
    return ax


def plot_spectrogram(
    x, sr: int, ax=None, title: str | None = None, n_fft: int = 512, hop_length: int = 64, colorbar: bool = True
):
    """Spectrogram (:func:`spectrogram_db`, ``DB_RANGE`` shown) against time and frequency; returns the Axes.

    With ``colorbar`` a colour bar labelled in dB re a full-scale sine is drawn beside the Axes.
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 2.5), constrained_layout=True)[1]
    S = spectrogram_db(x, n_fft=n_fft, hop_length=hop_length)  # (F, frames); frame j is centred at j * hop
    dt, df = hop_length / sr, sr / n_fft
    extent = (-dt / 2, (S.shape[1] - 0.5) * dt, -df / 2, sr / 2 + df / 2)  # pixel edges: time (s), frequency (Hz)
    image = ax.imshow(S, origin="lower", aspect="auto", extent=extent, vmin=DB_RANGE[0], vmax=DB_RANGE[1],
                      cmap="magma", interpolation="nearest")  # fmt: skip
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)", title=title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="dB re full-scale sine")
    return ax


def plot_clip(x, sr: int, title: str | None = None):
    """Waveform and spectrogram side by side; returns the Figure."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 2.6), constrained_layout=True)
    plot_waveform(x, sr, a, title)
    plot_spectrogram(x, sr, b, title)
    return fig


def plot_clips(clips, sr: int, titles=None, ncols: int = 4, kind: str = "spectrogram"):
    """A grid of clips (a (B, 1, L) batch or a list) as spectrograms or waveforms; returns the Figure.

    Spectrograms share one colour scale (``DB_RANGE``) and one colour bar; axis names on the outer panels only.
    """
    import matplotlib.pyplot as plt

    clips = list(clips)
    nrows = (len(clips) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), squeeze=False, constrained_layout=True)
    for i, ax in enumerate(axes.flat):
        if i >= len(clips):
            ax.axis("off")
        elif kind == "spectrogram":
            plot_spectrogram(clips[i], sr, ax, titles[i] if titles else None, colorbar=False)
            if i + ncols < len(clips):  # axis names on the outer panels only
                ax.set_xlabel("")
            if i % ncols:
                ax.set_ylabel("")
        else:
            {"waveform": plot_waveform}[kind](clips[i], sr, ax, titles[i] if titles else None)
    if kind == "spectrogram":
        fig.colorbar(axes.flat[0].images[0], ax=axes, label="dB re full-scale sine")
    return fig
