"""A small note classifier: the evaluation network of the measures in ``metrics.py`` (issue 12, chapter 05 on).

Image models are judged with the features of a trained classifier (FID, Inception Score); DiffWave (Kong
et al. 2021) and SaShiMi (Goel et al. 2022) do the same for SC09 digits. For the toy notes we train our
own: 32 classes (8 pitches x 4 timbres, ``data.note_label``) from a log-mel spectrogram::

    log-mel: |STFT|^2 (n_fft 1024, hop 256) -> n_mels bands -> log(. + 1e-5), minus the clip's maximum
             (so the gain does not matter), floored at -``floor``                           (B, n_mels, frames)
    conv1d over time, mel bands as channels (a band keeps its absolute frequency: pitch), GELU, x layers
    mean over frames                                                                         (B, channels)
    Linear -> GELU: the penultimate features phi(x)                                          (B, features)
    Linear: the logits of p(y | x)                                                           (B, 32)

Training (``train.train_classifier``) sees fresh toy notes with white noise at a random SNR and a random
gain, so it also names the notes that a diffusion model generates with a noise floor.

References:
    Heusel et al. (2017), FID.  Salimans et al. (2016), Inception Score.  Kong et al. (2021), DiffWave, Sec. 5.3.
"""

from dataclasses import dataclass

import librosa
import torch
import torch.nn.functional as F
from torch import nn

from ..data import NUM_NOTE_CLASSES, SR


@dataclass(frozen=True)
class ClassifierConfig:
    """The shape of a :class:`NoteClassifier`; JSON-friendly (saved in checkpoints)."""

    sr: int = SR
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 80
    floor: float = 12.0  # log-mel values below max - floor (nats, about 52 dB) are clipped to it
    channels: int = 64
    layers: int = 3
    features: int = 64  # the dimension of phi(x), the features FD / KID / precision-recall use
    classes: int = NUM_NOTE_CLASSES

    def __post_init__(self):
        if self.features < 2 or self.classes < 2 or self.layers < 1:
            raise ValueError(f"ClassifierConfig: features, classes >= 2 and layers >= 1 (got {self})")


class NoteClassifier(nn.Module):
    """p(y | x) over the toy-note classes, and the penultimate features phi(x) (see the module docstring)."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        self.config = c = config
        mel = librosa.filters.mel(sr=c.sr, n_fft=c.n_fft, n_mels=c.n_mels)  # (n_mels, n_fft // 2 + 1)
        self.register_buffer("mel", torch.tensor(mel, dtype=torch.float32), persistent=False)
        self.register_buffer("window", torch.hann_window(c.n_fft), persistent=False)
        convs, width = [], c.n_mels
        for _ in range(c.layers):
            convs += [nn.Conv1d(width, c.channels, 3, padding=1), nn.GELU()]
            width = c.channels
        self.convs = nn.Sequential(*convs)
        self.to_features = nn.Linear(c.channels, c.features)
        self.head = nn.Linear(c.features, c.classes)

    def log_mel(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, L) audio -> (B, n_mels, frames) log-mel, max-normalised per clip and floored."""
        c = self.config
        spec = torch.stft(x[:, 0].float(), c.n_fft, c.hop, window=self.window, return_complex=True)  # (B, F, frames)
        S = torch.log(self.mel @ spec.abs() ** 2 + 1e-5)  # (B, n_mels, frames)
        S = S - S.amax(dim=(1, 2), keepdim=True)
        return S.clamp(min=-c.floor) / c.floor + 0.5  # about [-0.5, 0.5]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """phi(x): (B, 1, L) audio -> (B, features), the penultimate layer."""
        h = self.convs(self.log_mel(x)).mean(dim=-1)  # (B, channels)
        return F.gelu(self.to_features(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, L) audio -> (B, classes) logits of p(y | x)."""
        return self.head(self.features(x))


def augment(x: torch.Tensor, generator: torch.Generator, snr_db=(15.0, 60.0), p_clean: float = 0.25,
            gain_db=(-12.0, 3.0)) -> torch.Tensor:  # fmt: skip
    """Random gain and white noise at a random SNR (dB, uniform in ``snr_db``; clean with ``p_clean``).

    x: (B, 1, L).  All draws from ``generator`` (CPU), moved to x's device.  Returns (B, 1, L).
    """
    B = x.shape[0]
    u = torch.rand(B, 3, generator=generator).to(x.device, x.dtype)  # (B, 3): snr, clean?, gain
    snr = snr_db[0] + (snr_db[1] - snr_db[0]) * u[:, 0]
    power = x.pow(2).mean(dim=(1, 2))  # (B,) signal power over the clip
    noise_std = torch.sqrt(power / 10 ** (snr / 10)) * (u[:, 1] >= p_clean)  # 0 for the clean ones
    eps = torch.randn(x.shape, generator=generator).to(x.device, x.dtype)
    gain = 10 ** ((gain_db[0] + (gain_db[1] - gain_db[0]) * u[:, 2]) / 20)
    return gain[:, None, None] * (x + noise_std[:, None, None] * eps)
