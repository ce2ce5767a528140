"""Load, save, listen to and look at audio (introduced in ``00_setup``).

Clips may be torch tensors or NumPy arrays shaped (L,), (1, L) or (1, 1, L).
``listen`` never normalises: loud noise sounds loud. matplotlib and IPython are
imported inside the functions that draw or play, so the numerics modules that
import :func:`load_wav` stay free of them.
"""

from pathlib import Path

import numpy as np
import soundfile
import torch


class AudioFileError(ValueError):
    """A file that cannot be used as audio; the message names the file and the problem."""

    def __init__(self, path, problem: str):
        self.path, self.problem = Path(path), problem
        super().__init__(f"{path}: {problem}")


def as_numpy(x) -> np.ndarray:
    """A mono clip as a float32 NumPy array (L,), from (L,), (1, L) or (1, 1, L)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().float().cpu().numpy()
    x = np.asarray(x, dtype=np.float32)
    if x.ndim > 1:
        if x.size != x.shape[-1]:
            raise ValueError(f"expected one mono clip, got shape {x.shape}; index a single clip first")
        x = x.reshape(-1)
    return x


def check_audio(x: np.ndarray, path, min_peak: float = 1e-6) -> None:
    """Raise :class:`AudioFileError` for an empty, silent, NaN or infinite clip (L,)."""
    if x.size == 0:
        raise AudioFileError(path, "contains no samples (zero-length audio)")
    if not np.all(np.isfinite(x)):
        raise AudioFileError(path, f"contains {np.sum(~np.isfinite(x))} NaN or infinite samples")
    if np.abs(x).max() < min_peak:
        raise AudioFileError(path, "is silent (every sample is zero)")


def load_wav(path: str | Path, sr: int | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32 (L,), mixing channels and resampling to ``sr``.

    Raises:
        AudioFileError: the file is missing, unreadable or corrupt, empty, silent, or
            holds NaN or infinite samples; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(path, "no such file")
    if path.stat().st_size == 0:
        raise AudioFileError(path, "is an empty file (0 bytes): an interrupted copy or download?")
    try:
        x, file_sr = soundfile.read(path, dtype="float32", always_2d=True)  # (L, channels)
    except Exception as err:  # soundfile raises several types for bad files
        raise AudioFileError(path, f"cannot be read as audio ({err})") from err
    x = x.mean(axis=1)  # stereo -> mono
    check_audio(x, path)
    if sr is not None and file_sr != sr:
        import librosa

        x = librosa.resample(x, orig_sr=file_sr, target_sr=sr).astype(np.float32)
        file_sr = sr
    return x, file_sr


def save_wav(path: str | Path, x, sr: int) -> Path:
    """Write a mono clip as 16-bit PCM WAV, clipping to [-1, 1]; creates parent folders."""
    x = as_numpy(x)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{path}: refusing to write NaN or infinite samples")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.clip(x, -1.0, 1.0), sr, subtype="PCM_16")
    return path


def listen(x, sr: int):
    """An inline player for a mono clip, without normalisation (values clipped to [-1, 1])."""
    from IPython.display import Audio

    return Audio(np.clip(as_numpy(x), -1.0, 1.0), rate=sr, normalize=False)


def spectrogram_db(x, n_fft: int = 512, hop_length: int = 64) -> np.ndarray:
    """Magnitude STFT in dB (re 1.0, floored at -100 dB): (1 + n_fft // 2, frames) float32."""
    import librosa

    mag = np.abs(librosa.stft(as_numpy(x), n_fft=n_fft, hop_length=hop_length))
    return librosa.amplitude_to_db(mag, ref=1.0, amin=1e-5, top_db=None)


def plot_waveform(x, sr: int, ax=None, title: str | None = None):
    """Waveform against time in seconds; returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    x = as_numpy(x)
    ax = ax or plt.subplots(figsize=(6, 2))[1]
    ax.plot(np.arange(len(x)) / sr, x, lw=0.6)
    ax.set(xlabel="time (s)", ylabel="amplitude", title=title)
    return ax


def plot_spectrogram(x, sr: int, ax=None, title: str | None = None, n_fft: int = 512, hop_length: int = 64):
    """Log-magnitude spectrogram (dB, -80..0 shown) with a time and frequency axis; returns the Axes."""
    import librosa.display
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 2.5))[1]
    S = spectrogram_db(x, n_fft=n_fft, hop_length=hop_length)
    librosa.display.specshow(
        S, sr=sr, hop_length=hop_length, x_axis="time", y_axis="linear", ax=ax, vmin=-80, vmax=0, cmap="magma"
    )
    ax.set(title=title)
    return ax


def plot_clip(x, sr: int, title: str | None = None):
    """Waveform and spectrogram side by side; returns the Figure."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 2.6), constrained_layout=True)
    plot_waveform(x, sr, a, title)
    plot_spectrogram(x, sr, b, title)
    return fig


def plot_clips(clips, sr: int, titles=None, ncols: int = 4, kind: str = "spectrogram"):
    """A grid of clips (a (B, 1, L) batch or a list) as spectrograms or waveforms; returns the Figure."""
    import matplotlib.pyplot as plt

    clips = list(clips)
    nrows = (len(clips) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), squeeze=False, constrained_layout=True)
    draw = {"spectrogram": plot_spectrogram, "waveform": plot_waveform}[kind]
    for i, ax in enumerate(axes.flat):
        if i < len(clips):
            draw(clips[i], sr, ax, titles[i] if titles else None)
            if kind == "spectrogram":
                ax.set(xlabel="", ylabel="")
        else:
            ax.axis("off")
    return fig
