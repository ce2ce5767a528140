"""Classical speech enhancement and vocoding: the baselines of chapter 10's diffusion models (``10_real_speech``).

Noisy speech is y = x + n. In the STFT domain Y(f, t) = X(f, t) + N(f, t), and with speech and noise
uncorrelated, E|Y|^2 = S + N in each bin (S, N: the speech and noise powers). Both enhancers keep the noisy
phase, scale each bin by a gain G(f, t) and overlap-add (inverse STFT):

    spectral subtraction   |X_hat|^2 = |Y|^2 - N, floored:  G = sqrt(max(1 - N / |Y|^2, floor))       (10.1)
    Wiener                 G = S_hat / (S_hat + N),  S_hat = max(P_Y - N, 0)                            (10.2)

(10.1) is Boll's (1979) spectral subtraction in its power form with the spectral floor of Berouti, Schwartz
& Makhoul (1979). (10.2) is chapter 03's Wiener gain S / (S + N) per frequency, with the speech power
estimated by power subtraction (Lim & Oppenheim 1979) from P_Y, the noisy power |Y|^2 averaged over a few
neighbouring frames. We do not use Ephraim & Malah's (1984) decision-directed estimate: fed back through the
Wiener gain it settles well below the true S / N wherever S / N is near 1 or lower, even on a stationary
signal (the price of the smoothing that suppresses musical noise; Cappe 1994), whereas (10.2) tends to
S / (S + N) as P_Y tends to E|Y|^2 (``tests/test_classical.py`` checks it on a stationary Gaussian signal).

The noise power N(f) is either given (the oracle: :func:`noise_psd` of the noise itself) or estimated from
the noisy clip. FSDD clips are trimmed of silence, so there is no noise-only lead-in to average; we use
minimum statistics (Martin 2001) in a simple form: per frequency, the q-th percentile of the frame powers
|Y(f, t)|^2, divided by its value for noise alone. In a noise-only bin |Y|^2 ~ N Exp(1), whose q-th percentile
is N (-ln(1 - q)), so the estimate is unbiased when at least a fraction q of the frames hold no speech at that
frequency (between words, between harmonics, at high frequencies), and too high where speech fills every frame.

Vocoding from a log-mel spectrogram (``speech.MelConfig``): Griffin & Lim (1984) via librosa, which inverts
the mel filter bank by non-negative least squares and iterates the "fast" Griffin-Lim of Perraudin, Balazs &
Sondergaard (2013) (momentum 0.99) from a seeded random phase.

Shapes: audio (B, 1, L), (B, L) or (L,) in, the same shape out (NumPy float64); STFTs (B, F, frames),
F = n_fft // 2 + 1, Hann window of ``frame_s`` seconds (32 ms: 256 samples at 8 kHz), hop a quarter of it.

References:
    Boll (1979), Suppression of acoustic noise in speech using spectral subtraction.
    Berouti, Schwartz & Makhoul (1979), Enhancement of speech corrupted by acoustic noise.
    Lim & Oppenheim (1979), Enhancement and bandwidth compression of noisy speech.
    Ephraim & Malah (1984), Speech enhancement using a minimum mean-square error short-time spectral amplitude
    estimator.  Cappe (1994), Elimination of the musical noise phenomenon with the Ephraim and Malah noise
    suppressor.  Martin (2001), Noise power spectral density estimation based on optimal smoothing and minimum
    statistics.  Griffin & Lim (1984), Signal estimation from modified short-time Fourier transform.
    Perraudin, Balazs & Sondergaard (2013), A fast Griffin-Lim algorithm.
"""

import numpy as np
import scipy.ndimage

from .speech import MelConfig
from .utils import to_numpy

FRAME_S = 0.032  # analysis window of the enhancers: 32 ms, 256 samples at 8 kHz


# --------------------------------------------------------------------------- STFT and noise power


def frame_sizes(sr: int, frame_s: float = FRAME_S) -> tuple[int, int]:
    """(n_fft, hop): a window of ``frame_s`` seconds and a hop of a quarter of it (75% overlap)."""
    n_fft = int(round(frame_s * sr))
    return n_fft, n_fft // 4


def stft(x, sr: int, frame_s: float = FRAME_S) -> np.ndarray:
    """Y (B, F, frames) complex: the Hann-windowed STFT of audio x (B, 1, L), (B, L) or (L,), frames centred."""
    import librosa

    x = to_numpy(x)
    n_fft, hop = frame_sizes(sr, frame_s)
    return librosa.stft(x.reshape(-1, x.shape[-1]), n_fft=n_fft, hop_length=hop, window="hann")


def istft(Y: np.ndarray, sr: int, length: int, frame_s: float = FRAME_S) -> np.ndarray:
    """(B, L) audio from Y (B, F, frames) by weighted overlap-add (the inverse of :func:`stft`)."""
    import librosa

    return librosa.istft(Y, hop_length=frame_sizes(sr, frame_s)[1], window="hann", length=length)


def noise_psd(noise, sr: int, frame_s: float = FRAME_S) -> np.ndarray:
    """The oracle noise power per bin, N(f) = mean_t |STFT(noise)(f, t)|^2: (B, F) from noise (B, 1, L) or (B, L)."""
    return (np.abs(stft(noise, sr, frame_s)) ** 2).mean(axis=-1)


def minimum_statistics_psd(noisy_power: np.ndarray, q: float = 0.1) -> np.ndarray:
    """N(f) estimated from the noisy power |Y|^2 (B, F, frames) alone (a simple form of Martin 2001): (B, F).

    The q-th quantile over frames of each bin, divided by -ln(1 - q), the q-th quantile of Exp(1): unbiased for
    a bin where at least a fraction q of the frames hold noise only (|Y|^2 ~ N Exp(1) there).
    """
    return np.quantile(noisy_power, q, axis=-1) / -np.log(1 - q)


# --------------------------------------------------------------------------- gains


def subtraction_gain(noisy_power: np.ndarray, noise_power: np.ndarray, floor: float = 0.01) -> np.ndarray:
    """G = sqrt(max(1 - N / |Y|^2, floor)), so |G Y|^2 = |Y|^2 - N above the floor (10.1); shapes broadcast."""
    return np.sqrt(np.maximum(1 - noise_power / noisy_power, floor))


def wiener_gain(signal_power: np.ndarray, noise_power: np.ndarray) -> np.ndarray:
    """G = S / (S + N) (10.2; chapter 03): the MMSE linear estimate of a bin of speech from speech plus noise."""
    return signal_power / (signal_power + noise_power)


def moving_average(power: np.ndarray, frames: int) -> np.ndarray:
    """The mean of ``power`` (..., T) over ``frames`` frames centred on each t; near the ends, over those that exist."""
    total = scipy.ndimage.uniform_filter1d(power, frames, axis=-1, mode="constant")
    count = scipy.ndimage.uniform_filter1d(np.ones(power.shape[-1]), frames, mode="constant")  # (T,) fraction inside
    return total / count


def wiener_gains(noisy_power: np.ndarray, noise_power: np.ndarray, smooth_frames: int = 5,
                 gain_floor: float = 0.1) -> np.ndarray:  # fmt: skip
    """G(f, t) of (10.2) for |Y|^2 (B, F, frames) and N (B, F) or (F,): (B, F, frames).

    P_Y is |Y|^2 averaged over ``smooth_frames`` frames centred on t (:func:`moving_average`);
    S_hat = max(P_Y - N, 0) (power subtraction); the gain is floored at ``gain_floor`` (-20 dB), which keeps
    a little noise rather than the "musical" tones of isolated bins.
    """
    P_Y = moving_average(noisy_power, smooth_frames)
    N = np.broadcast_to(noise_power, noisy_power.shape[:-1])[..., None]  # (B, F, 1)
    S_hat = np.maximum(P_Y - N, 0.0)
    return np.maximum(wiener_gain(S_hat, N), gain_floor)


# --------------------------------------------------------------------------- the enhancers


def _noise_or_estimate(power: np.ndarray, noise_power) -> np.ndarray:
    """(B, F): the given noise power (F,) or (B, F), or the minimum-statistics estimate from |Y|^2."""
    if noise_power is None:
        return minimum_statistics_psd(power)
    noise_power = np.asarray(noise_power, dtype=np.float64)
    if noise_power.shape[-1] != power.shape[1]:
        raise ValueError(f"noise_psd has {noise_power.shape[-1]} bins, the STFT {power.shape[1]}: "
                         "compute it with classical.noise_psd at the same sr and frame_s")  # fmt: skip
    return np.broadcast_to(noise_power, power.shape[:2])


def spectral_subtraction(noisy, sr: int, noise_psd=None, floor: float = 0.01, frame_s: float = FRAME_S) -> np.ndarray:
    """Enhance noisy speech by power spectral subtraction (10.1) (Boll 1979; Berouti et al. 1979).

    Args:
        noisy: (B, 1, L), (B, L) or (L,).  noise_psd: N per bin, (F,) or (B, F) from :func:`noise_psd`, or
        None to estimate it by :func:`minimum_statistics_psd`.  floor: the least power gain (-20 dB).
    Returns:
        The enhanced audio, shaped like ``noisy``.
    """
    y = to_numpy(noisy)
    Y = stft(y, sr, frame_s)  # (B, F, frames)
    power = np.abs(Y) ** 2
    G = subtraction_gain(np.maximum(power, 1e-20), _noise_or_estimate(power, noise_psd)[..., None], floor)
    return istft(G * Y, sr, y.shape[-1], frame_s).reshape(y.shape)


def wiener_enhance(noisy, sr: int, noise_psd=None, smooth_frames: int = 5, gain_floor: float = 0.1,
                   frame_s: float = FRAME_S) -> np.ndarray:  # fmt: skip
    """Enhance noisy speech with the Wiener gain S_hat / (S_hat + N) of (10.2) in the STFT domain.

    Args:
        noisy: (B, 1, L), (B, L) or (L,).  noise_psd: as for :func:`spectral_subtraction`.
        smooth_frames, gain_floor: see :func:`wiener_gains`.
    Returns:
        The enhanced audio, shaped like ``noisy``.
    """
    y = to_numpy(noisy)
    Y = stft(y, sr, frame_s)
    power = np.abs(Y) ** 2
    G = wiener_gains(power, _noise_or_estimate(power, noise_psd), smooth_frames, gain_floor)
    return istft(G * Y, sr, y.shape[-1], frame_s).reshape(y.shape)


# --------------------------------------------------------------------------- vocoding


def griffin_lim(log_mel, cfg: MelConfig | None = None, n_iter: int = 32, length: int | None = None,
                seed: int = 0) -> np.ndarray:  # fmt: skip
    """Audio from a log-mel spectrogram by Griffin & Lim (1984), the vocoder baseline.

    The steps of ``librosa.feature.inverse.mel_to_audio``, with the random initial phase seeded: exp(log_mel)
    -> the magnitude STFT by non-negative least squares against the mel bank (``mel_to_stft``) -> ``n_iter``
    iterations of fast Griffin-Lim (``librosa.griffinlim``, momentum 0.99).
    Args:
        log_mel: (B, n_mels, frames) from ``speech.log_mel`` with ``cfg`` (default ``MelConfig()``).
        length: L (default (frames - 1) hop).  seed: the random initial phase.
    Returns:
        (B, 1, L) float64 audio.
    """
    import librosa

    cfg = cfg or MelConfig()
    mel = np.exp(to_numpy(log_mel))  # (B, n_mels, frames), magnitude (power 1)
    length = length or (mel.shape[-1] - 1) * cfg.hop
    magnitude = librosa.feature.inverse.mel_to_stft(mel, sr=cfg.sr, n_fft=cfg.n_fft, power=1.0, fmin=cfg.fmin,
                                                    fmax=cfg.fmax)  # fmt: skip
    x = librosa.griffinlim(magnitude, n_iter=n_iter, hop_length=cfg.hop, window="hann", center=True,
                           length=length, pad_mode="constant", random_state=seed)  # fmt: skip
    return x.reshape(len(mel), 1, length)
