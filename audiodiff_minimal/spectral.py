"""Power spectra and the per-frequency signal-to-noise ratio of x_t (introduced in ``01_noise_process``).

The forward process adds white noise, whose power is the same at every frequency, while audio
has most of its power at low frequencies. So at noise level t the SNR of frequency f,

    SNR_t(f) = alpha_bar_t S(f) / (sigma_t^2 S_noise(f)),  S_noise = 1 for eps ~ N(0, I)     (1.6)

falls below 1 first at high frequencies: diffusion generates coarse-to-fine in frequency
("spectral autoregression", Dieleman 2024), not sample by sample in time.

Spectra here are two-sided and per radian, normalised like :meth:`data.ARProcess.power_spectrum`:
white noise of variance 1 has S(f) = 1, and E|DFT(x)[k]|^2 / L -> S(f_k).
"""

import numpy as np
import torch

from .schedules import Schedule
from .utils import to_numpy


def periodogram(x, sr: int, segment: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Averaged periodogram |DFT(x)|^2 / L over clips and non-overlapping segments (Welch, Hann window).

    Args:
        x: (B, 1, L) or (B, L) or (L,) audio, tensor or array.  sr: sample rate in Hz.
        segment: segment length (default: the whole clip); the window is normalised to unit power.
    Returns:
        freqs (F,) in Hz from 0 to sr / 2 and S (F,) the power spectrum estimate, F = segment // 2 + 1.
    """
    x = to_numpy(x)
    x = x.reshape(-1, x.shape[-1])  # (B, L)
    n = segment or x.shape[-1]
    if n > x.shape[-1]:
        raise ValueError(f"segment {n} is longer than the clips ({x.shape[-1]} samples)")
    segs = x[:, : x.shape[-1] // n * n].reshape(-1, n)  # (B * segments, n)
    window = np.hanning(n + 2)[1:-1]
    window /= np.sqrt(np.mean(window**2))  # unit power, so white noise keeps S = 1
    spec = np.abs(np.fft.rfft(segs * window, axis=-1)) ** 2 / n
    return np.fft.rfftfreq(n, d=1.0 / sr), spec.mean(axis=0)


def expected_periodogram(cov: torch.Tensor, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """E[periodogram] of x ~ N(0, cov) with the window of :func:`periodogram` (one segment of length L).

    E|DFT(w x)[k]|^2 / L = (1 / L) sum_ij w_i w_j cov_ij e^{-i w_k (i - j)}: the power spectrum as seen
    through an L-sample window; it tends to S(f) as L grows. Use it to compare short clips fairly.
    Args:
        cov: (L, L) covariance.  sr: sample rate in Hz.
    Returns:
        freqs (L // 2 + 1,) in Hz and the expected periodogram (L // 2 + 1,).
    """
    cov = to_numpy(cov)
    n = cov.shape[0]
    window = np.hanning(n + 2)[1:-1]
    window /= np.sqrt(np.mean(window**2))
    F = np.exp(-2j * np.pi * np.outer(np.arange(n // 2 + 1), np.arange(n)) / n)  # (F, L) DFT rows
    Fw = F * window[None, :]
    return np.fft.rfftfreq(n, d=1.0 / sr), np.real(np.einsum("ki,ij,kj->k", Fw, cov, Fw.conj())) / n


def spectral_snr(power: np.ndarray, schedule: Schedule, noise_power: float | np.ndarray = 1.0) -> np.ndarray:
    """SNR_t(f) = alpha_bar_t S(f) / (sigma_t^2 S_noise(f)) for every t, Eq. (1.6).

    Args:
        power: (F,) the clean signal's power spectrum S(f).  noise_power: S_noise, scalar or (F,).
    Returns:
        (T + 1, F) float64; row 0 (clean) is inf.
    """
    snr = schedule.snr.numpy()[:, None]  # (T + 1, 1): alpha_bar_t / sigma_t^2
    with np.errstate(divide="ignore"):
        return snr * np.asarray(power, dtype=np.float64)[None, :] / noise_power


def to_db(power_ratio) -> np.ndarray:
    """10 log10 of a power ratio (SNR), floored at -300 dB."""
    return 10 * np.log10(np.maximum(np.asarray(power_ratio, dtype=np.float64), 1e-30))


def cutoff_frequency(freqs: np.ndarray, snr: np.ndarray, threshold: float = 1.0) -> np.ndarray:
    """For each noise level, the highest frequency whose SNR is still above ``threshold`` (0 dB by default).

    Args:
        freqs: (F,) Hz.  snr: (T + 1, F) from :func:`spectral_snr`.
    Returns:
        (T + 1,) Hz; 0 where no frequency is above the threshold.
    """
    above = snr > threshold  # (T + 1, F)
    last = np.where(above.any(axis=1), freqs.size - 1 - np.argmax(above[:, ::-1], axis=1), -1)
    return np.where(last >= 0, freqs[np.maximum(last, 0)], 0.0)
