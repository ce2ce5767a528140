"""Objective measures for generated audio (introduced in ``05_sampling``).

For the toy notes we know what a good sample is: one steady pitch on the C major scale,
a harmonic (not noisy) spectrum, and, across many samples, every pitch and timbre
(no mode collapse). For any dataset we compare feature statistics of generated and real
clips with a Frechet distance (as FID does for images; DiffWave reported FID/IS on SC09).

Feature choice, stated once: our Frechet distance ("FD-mel") uses log-mel statistics,
the per-band mean and standard deviation over time of a 32-band log-mel spectrogram
(64 numbers per clip), not a trained classifier's embedding. It needs no network and no
download, and it separates noise from notes by orders of magnitude; it is not comparable
with published FAD numbers (which use VGGish embeddings). Like FID it is biased upwards for
small sets: compare numbers computed with the same number of clips, and read them next
to the real-vs-real floor and the noise-vs-real ceiling (:func:`reference_bounds`).

Everything is NumPy on the CPU (framing + rfft, librosa only for the mel filterbank, so no
numba compile): a few hundred clips take well under a second.

References:
    Heusel et al. (2017), GANs Trained by a Two Time-Scale Update Rule (FID), Eq. (6).
    Kong et al. (2021), DiffWave, Sec. 5.3 (FID/IS on SC09).
    Kilgour et al. (2019), Frechet Audio Distance.
    Johnston (1988) / Gray & Markel (1974): spectral flatness, geometric over arithmetic mean.
"""

import warnings

import numpy as np
import scipy.linalg
import torch

from .data import SCALE_MIDI, SR, TIMBRE_NAMES, TIMBRES, label_to_note, toy_notes
from .utils import to_numpy

N_HARMONICS = 8


def _batch(x) -> np.ndarray:
    """Clips as a float64 array (B, L), from a (B, 1, L) or (B, L) tensor or array, or one (L,) clip."""
    x = to_numpy(x)
    if x.ndim == 3:
        x = x[:, 0]
    return x[None] if x.ndim == 1 else x


def _spectrum(x: np.ndarray, n_fft: int) -> np.ndarray:
    """Hann-windowed magnitude spectrum of each whole clip, zero-padded to n_fft: (B, n_fft // 2 + 1)."""
    return np.abs(np.fft.rfft(x * np.hanning(x.shape[-1]), n=n_fft))


def _stft_power(x: np.ndarray, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    """Power spectrogram |STFT|^2 with a Hann window, no padding: (B, frames, n_fft // 2 + 1)."""
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft, axis=-1)[:, ::hop]  # (B, frames, n_fft)
    return np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=-1)) ** 2


# --------------------------------------------------------------------------- pitch and timbre


def estimate_pitch(x, sr: int = SR, fmin: float = 100.0, fmax: float = 1000.0, n_fft: int = 16384) -> np.ndarray:
    """Fundamental frequency of each clip by harmonic summation on a 1-cent grid of candidates.

    score(f) = sum_k w_k |X(k f)|, k = 1..8 with k f below Nyquist and weights w_k = 0.8^(k-1), on the
    zero-padded whole-clip spectrum X; the decaying weights stop sub-octaves from winning. One steady
    note per clip is assumed (true for the toy notes). Returns f0 in Hz, (B,) float64.
    """
    X = _spectrum(_batch(x), n_fft)  # (B, F)
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    f = fmin * 2 ** (np.arange(int(1200 * np.log2(fmax / fmin)) + 1) / 1200)  # (C,) candidates, 1 cent apart
    score = np.zeros((X.shape[0], len(f)))
    for k in range(1, N_HARMONICS + 1):
        valid = k * f < sr / 2
        # linear interpolation of |X| at k f for every clip: (B, C)
        mag = np.stack([np.interp(k * f, freqs, row) for row in X])
        score += 0.8 ** (k - 1) * np.where(valid, mag, 0.0)
    return f[score.argmax(axis=1)]


def cents_to_scale(f0) -> tuple[np.ndarray, np.ndarray]:
    """Distance of each f0 to the nearest note of the toy scale (``data.SCALE_MIDI``).

    Returns:
        cents (B,) signed, in cents (100 per semitone), and the index 0..7 of that note (B,).
    """
    midi = 69 + 12 * np.log2(np.asarray(f0, dtype=np.float64) / 440.0)
    scale = np.asarray(SCALE_MIDI, dtype=np.float64)
    idx = np.abs(midi[:, None] - scale[None, :]).argmin(axis=1)
    return 100 * (midi - scale[idx]), idx


def harmonic_profile(x, f0, sr: int = SR, n_fft: int = 16384) -> np.ndarray:
    """Amplitudes of harmonics k = 1..8 of f0 relative to the strongest, (B, 8); NaN above Nyquist.

    Each is the spectral peak within +-2% of k f0 (the clip's harmonics are near, not at, k f0 when
    f0 is estimated).
    """
    X, freqs = _spectrum(_batch(x), n_fft), np.fft.rfftfreq(n_fft, 1 / sr)
    out = np.full((X.shape[0], N_HARMONICS), np.nan)
    for i, (row, f) in enumerate(zip(X, np.asarray(f0), strict=True)):
        for k in range(1, N_HARMONICS + 1):
            if k * f * 1.02 < sr / 2:
                out[i, k - 1] = row[(freqs > k * f * 0.98) & (freqs < k * f * 1.02)].max()
        out[i] /= np.nanmax(out[i]) + 1e-12
    return out


def classify_timbre(x, f0, sr: int = SR) -> np.ndarray:
    """Nearest timbre template (``data.TIMBRES``) by the distance of log harmonic profiles: (B,) in 0..3."""
    profile = np.log(harmonic_profile(x, f0, sr) + 0.05)  # (B, 8); the 0.05 floor tames absent harmonics
    templates = np.zeros((len(TIMBRES), N_HARMONICS))
    for j, name in enumerate(TIMBRE_NAMES):
        amps = TIMBRES[name][:N_HARMONICS]
        templates[j, : len(amps)] = amps
    templates = np.log(templates / templates.max(axis=1, keepdims=True) + 0.05)  # (4, 8)
    d = np.nansum((profile[:, None, :] - templates[None]) ** 2, axis=-1)  # (B, 4), harmonics below Nyquist
    return d.argmin(axis=1)


def entropy_bits(labels, n_classes: int) -> float:
    """Entropy in bits of the histogram of integer ``labels`` over ``n_classes`` (max log2 n_classes)."""
    p = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes) / max(len(labels), 1)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def spectral_flatness(x, n_fft: int = 512, hop: int = 128, amin: float = 1e-10) -> np.ndarray:
    """Energy-weighted mean over frames of the spectral flatness (geometric / arithmetic mean of power).

    0 for a pure tone, about 0.56 for white noise with Hann-windowed frames (1 in the limit of a flat
    spectrum); weighting by frame energy ignores the near-silent frames before the onset and after
    the decay, whose flatness says nothing. Returns (B,).
    """
    P = np.maximum(_stft_power(_batch(x), n_fft, hop), amin)  # (B, frames, F)
    flat = np.exp(np.log(P).mean(-1)) / P.mean(-1)  # (B, frames)
    energy = P.sum(-1)
    return (flat * energy).sum(-1) / energy.sum(-1)


# --------------------------------------------------------------------------- Frechet distance


def log_mel_features(x, sr: int = SR, n_mels: int = 32, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    """Per-clip features: mean and std over time of the log-mel spectrogram log(mel power + 1e-6): (B, 2 n_mels)."""
    import librosa  # the filterbank only (NumPy; no numba compile)

    mel = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)  # (n_mels, F)
    S = np.log(_stft_power(_batch(x), n_fft, hop) @ mel.T + 1e-6)  # (B, frames, n_mels)
    return np.concatenate([S.mean(axis=1), S.std(axis=1)], axis=1)


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """Squared Frechet (2-Wasserstein) distance between N(mu1, cov1) and N(mu2, cov2), FID Eq. (6):

    d^2 = |mu1 - mu2|^2 + tr(cov1 + cov2 - 2 (cov1 cov2)^(1/2)).
    """
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    cov1, cov2 = np.atleast_2d(cov1), np.atleast_2d(cov2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        covmean = scipy.linalg.sqrtm(cov1 @ cov2)
    if caught or not np.all(np.isfinite(covmean)):  # singular product: nudge both, as FID implementations do
        eye = 1e-6 * np.eye(len(cov1))
        covmean = scipy.linalg.sqrtm((cov1 + eye) @ (cov2 + eye))
    covmean = covmean.real  # tiny imaginary parts are round-off
    return float(((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(covmean))


def frechet_mel_distance(x, reference, sr: int = SR) -> float:
    """FD-mel: the Frechet distance between the log-mel feature statistics of clips ``x`` and ``reference``."""
    a, b = log_mel_features(x, sr), log_mel_features(reference, sr)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


# --------------------------------------------------------------------------- all of it


def note_measures(x, sr: int = SR) -> dict:
    """Per-set toy-note measures of clips x (B, 1, L): see :func:`evaluate_clips`."""
    f0 = estimate_pitch(x, sr)
    cents, note = cents_to_scale(f0)
    in_tune = np.abs(cents) <= 50
    timbre = classify_timbre(x, f0, sr)
    return {
        "n": len(f0),
        "pitch_in_tune": float(in_tune.mean()),
        "pitch_cents_mae": float(np.abs(cents).mean()),
        "flatness": float(spectral_flatness(x).mean()),
        "pitch_entropy": entropy_bits(note[in_tune], len(SCALE_MIDI)),
        "timbre_entropy": entropy_bits(timbre, len(TIMBRES)),
    }


def evaluate_clips(x, reference, sr: int = SR) -> dict:
    """All measures of generated clips ``x`` (B, 1, L) against real clips ``reference`` (B', 1, L).

    Returns a dict:
        n: number of clips.
        pitch_in_tune: fraction whose estimated f0 lies within 50 cents of a scale note (real notes: 1.0).
        pitch_cents_mae: mean absolute distance to the nearest scale note, in cents.
        flatness: mean spectral flatness (0 tonal .. ~0.56 white noise); real notes below 0.001.
        pitch_entropy: bits, entropy of the scale-note histogram of the in-tune clips (max 3 for 8 notes).
        timbre_entropy: bits, entropy of the predicted-timbre histogram (max 2 for 4 timbres).
        frechet_mel: FD-mel to ``reference`` (lower is better; compare with :func:`reference_bounds`).
    """
    return {**note_measures(x, sr), "frechet_mel": frechet_mel_distance(x, reference, sr)}


def label_measures(x, labels, sr: int = SR) -> dict:
    """How well clips x (B, 1, L) match the toy-note classes ``labels`` (B,) they were asked for (chapter 06).

    Returns a dict:
        pitch_acc: fraction whose estimated pitch is the requested scale note, within 50 cents.
        timbre_acc: fraction whose classified timbre is the requested one.
        flatness: mean spectral flatness (as in :func:`evaluate_clips`).
        spread: diversity within a class, the mean distance of a clip's log-mel features to the mean
            of its class, averaged over classes with at least two clips (nan if none has two).
    """
    labels = torch.as_tensor(labels).cpu()
    pitch, timbre = label_to_note(labels)
    ids = labels.numpy()
    f0 = estimate_pitch(x, sr)
    cents, note = cents_to_scale(f0)
    feats = log_mel_features(x, sr)  # (B, features)
    classes = [c for c in np.unique(ids) if (ids == c).sum() > 1]
    spread = [np.linalg.norm(feats[ids == c] - feats[ids == c].mean(0), axis=1).mean() for c in classes]
    return {
        "pitch_acc": float(((np.abs(cents) <= 50) & (note == pitch.numpy())).mean()),
        "timbre_acc": float((classify_timbre(x, f0, sr) == timbre.numpy()).mean()),
        "flatness": float(spectral_flatness(x).mean()),
        "spread": float(np.mean(spread)) if spread else float("nan"),
    }


def reference_bounds(reference, sr: int = SR, n: int | None = None, seed: int = 12345) -> dict:
    """The two numbers FD-mel should be read between, for sets of ``n`` clips (default len(reference)).

    real_vs_real: fresh toy notes (``seed``) vs ``reference``, the floor a perfect model reaches.
    noise_vs_real: white Gaussian noise with the reference's RMS vs ``reference``, the ceiling.
    """
    ref = _batch(reference)
    n = n or len(ref)
    real, _, _ = toy_notes(n, length=ref.shape[-1], sr=sr, seed=seed)
    rms = np.sqrt((ref**2).mean())
    noise = np.random.default_rng(seed).standard_normal((n, ref.shape[-1])) * rms
    return {
        "real_vs_real": frechet_mel_distance(real, ref, sr),
        "noise_vs_real": frechet_mel_distance(noise, ref, sr),
    }
