"""Measures on a trained classifier's outputs, frame-wise pitch, and their confidence intervals (issue 12).

The SC09 protocol of DiffWave (Kong et al. 2021) and SaShiMi (Goel et al. 2022), with our own note
classifier (``models.classifier``) in place of the digit classifier. Nothing here imports a network:
every measure takes precomputed features phi(x) (B, D) or class probabilities p(y | x) (B, K); the thin
caller that loads the classifier is ``generate.classifier_features``.

    FD      |mu_g - mu_r|^2 + tr(C_g + C_r - 2 (C_g C_r)^(1/2)) on phi       (Heusel et al. 2017, Eq. 6)
    IS      exp E_x KL(p(y | x) || p(y)),  p(y) = E_x p(y | x)               (Salimans et al. 2016)
    mIS     exp E_{x, x'} KL(p(y | x) || p(y | x'))                          (Gurumurthy et al. 2017)
    AM      KL(p_r(y) || p_g(y)) + E_x H(p(y | x))                            (Zhou et al. 2018)
    KID     unbiased MMD^2 with k(a, b) = (a.b / D + 1)^3                      (Binkowski et al. 2018, Eq. 4)
    P / R   fraction of generated (real) clips inside the real (generated) k-NN manifold
                                                                              (Kynkaanniemi et al. 2019)

FD needs n well above the feature dimension D (its covariance has rank n - 1): :func:`frechet_feature_distance`
refuses n <= D, and a figure should use n >= 4 D. KID is unbiased at any n. Read every figure between
the real-versus-real floor and the noise-versus-real ceiling at the same n. Intervals come from
:func:`bootstrap_ci` (percentile bootstrap). Resampling with replacement repeats clips, which biases
the replicates of set statistics (FD and KID up, IS and entropies down); their intervals are shifted by the
bootstrap estimate of that bias (``bias_correct``). Spread over generation seeds is the other interval to read.

Speech (chapter 10), per clip, an estimate against its clean reference (waveforms (B, L)):

    SI-SDR  10 log10(|a s|^2 / |s_hat - a s|^2),  a = <s_hat, s> / |s|^2     (Le Roux et al. 2019)
    LSD     mean_frames sqrt(mean_f (10 log10 P_s(f, t) - 10 log10 P_s_hat(f, t))^2), P = |STFT|^2, in dB
                                                                              (Gray & Markel 1976)
    PESQ    narrow-band ITU-T P.862 (Rix et al. 2001) by the ``pesq`` package, MOS-LQO 1.0 .. 4.5 (P.862.1)
    STOI    short-time objective intelligibility (Taal et al. 2011) by the ``pystoi`` package, 0 .. 1

:func:`mean_difference` gives "A minus B" on the same clips with a paired bootstrap interval.

Frame-wise pitch uses pYIN (Mauch & Dixon 2014, ``librosa.pyin``): a clip's median f0 over voiced
frames, its drift (the standard deviation, in cents, of the voiced frames around that median: a glide
or a second note shows here) and its voiced fraction.

References:
    Heusel et al. (2017), FID.  Salimans et al. (2016), Inception Score.  Gurumurthy et al. (2017), DeLiGAN (mIS).
    Zhou et al. (2018), Activation Maximization Generative Adversarial Nets (AM score).
    Binkowski et al. (2018), Demystifying MMD GANs (KID).  Kynkaanniemi et al. (2019), Improved Precision and Recall.
    Mauch & Dixon (2014), pYIN.  Miller (1955), the bias of the plug-in entropy.  Efron & Tibshirani (1993).
    Le Roux, Wisdom, Erdogan & Hershey (2019), SDR - half-baked or well done?  Gray & Markel (1976), Distance
    measures for speech processing.  ITU-T P.862 (2001); Rix, Beerends, Hollier & Hekstra (2001), PESQ.
    Taal, Hendriks, Heusdens & Jensen (2011), An algorithm for intelligibility prediction of time-frequency
    weighted noisy speech (STOI).
"""

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.spatial

from .data import SCALE_MIDI, SR, midi_to_hz
from .evaluate import cents_to_scale, frechet_distance
from .utils import to_numpy


@dataclass(frozen=True)
class Interval:
    """A figure with its percentile-bootstrap interval: ``value [lo, hi]`` at ``level``."""

    value: float
    lo: float
    hi: float
    level: float = 0.95

    def __str__(self) -> str:
        return f"{self.value:.4g} [{self.lo:.4g}, {self.hi:.4g}]"


def bootstrap_ci(
    statistic: Callable,
    *arrays,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    paired: bool = False,
    bias_correct: bool = False,
) -> Interval:
    """Percentile bootstrap interval of ``statistic(*arrays)`` (Efron & Tibshirani 1993, Sec. 13.3).

    Each replicate resamples the rows of every array with replacement, independently per array (two sets,
    e.g. generated and real), or with the same indices when ``paired`` (arrays of equal length).
    Returns the statistic on the data, and the (1 - level) / 2 and (1 + level) / 2 quantiles of the replicates.
    ``bias_correct``: shift the interval by (estimate - mean of the replicates) (Efron & Tibshirani Sec. 10.6),
    for set statistics whose replicates are biased by the repeated clips (FD and KID up, IS and entropies down),
    so the interval keeps the estimate inside.
    """
    arrays = [np.asarray(a) for a in arrays]
    rng = np.random.default_rng(seed)
    if paired and len({len(a) for a in arrays}) != 1:
        raise ValueError(f"bootstrap_ci(paired=True) needs arrays of equal length, got {[len(a) for a in arrays]}")
    reps = np.empty(n_boot)
    for b in range(n_boot):
        if paired:
            idx = rng.integers(0, len(arrays[0]), len(arrays[0]))
            reps[b] = statistic(*(a[idx] for a in arrays))
        else:
            reps[b] = statistic(*(a[rng.integers(0, len(a), len(a))] for a in arrays))
    lo, hi = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
    value = float(statistic(*arrays))
    shift = value - reps.mean() if bias_correct else 0.0
    return Interval(value, float(lo + shift), float(hi + shift), level)


# --------------------------------------------------------------------------- distances between feature sets


def frechet_feature_distance(a, b) -> float:
    """FD between Gaussians fitted to features a (n, D) and b (m, D); refuses min(n, m) <= D (singular covariance)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if min(len(a), len(b)) <= a.shape[1]:
        raise ValueError(f"FD of {len(a)} and {len(b)} clips in {a.shape[1]} dimensions: the covariance is singular; "
                         f"use n >= {4 * a.shape[1]} clips or KID (unbiased at any n)")  # fmt: skip
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def polynomial_kernel(a: np.ndarray, b: np.ndarray, degree: int = 3) -> np.ndarray:
    """k(a_i, b_j) = (a_i . b_j / D + 1)^degree, (n, m): KID's kernel (Binkowski et al. 2018)."""
    return (a @ b.T / a.shape[1] + 1.0) ** degree


def kernel_inception_distance(a, b, degree: int = 3) -> float:
    """Unbiased MMD^2 between features a (n, D) and b (m, D) (Binkowski et al. 2018, Eq. 4; Gretton et al. 2012):

    1 / (n (n-1)) sum_{i != j} k(a_i, a_j) + 1 / (m (m-1)) sum_{i != j} k(b_i, b_j) - 2 / (n m) sum_ij k(a_i, b_j).
    Its expectation is 0 when a and b come from one distribution; single estimates can be negative.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    n, m = len(a), len(b)
    k_aa, k_bb, k_ab = polynomial_kernel(a, a, degree), polynomial_kernel(b, b, degree), polynomial_kernel(a, b, degree)
    within_a = (k_aa.sum() - np.trace(k_aa)) / (n * (n - 1))
    within_b = (k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
    return float(within_a + within_b - 2 * k_ab.mean())


def manifold_membership(reference, query, k: int = 3) -> np.ndarray:
    """Is each query row inside the k-NN manifold of ``reference`` (Kynkaanniemi et al. 2019, Eq. 1)?

    The manifold is the union of balls around each reference row with radius its distance to its k-th
    nearest other reference row. reference (n, D), query (m, D) -> (m,) bool.
    """
    ref, q = np.asarray(reference, dtype=np.float64), np.asarray(query, dtype=np.float64)
    d_ref = scipy.spatial.distance.cdist(ref, ref)  # (n, n) Euclidean
    radius = np.sort(d_ref, axis=1)[:, k]  # column 0 is the row itself
    d_q = scipy.spatial.distance.cdist(q, ref)  # (m, n)
    return (d_q <= radius[None]).any(axis=1)


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Precision (fidelity: fake inside the real manifold) and recall (diversity: real inside the fake manifold)."""
    return float(manifold_membership(real, fake, k).mean()), float(manifold_membership(fake, real, k).mean())


# --------------------------------------------------------------------------- scores from p(y | x)


def _kl_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(p_i || q_i) in nats per row, with 0 log 0 = 0; p (B, K), q (B, K) or (K,)."""
    p = np.asarray(p, dtype=np.float64)
    ratio = np.where(p > 0, p / np.maximum(q, 1e-300), 1.0)
    return (p * np.log(ratio)).sum(-1)


def inception_score(probs) -> float:
    """IS = exp(E_x KL(p(y | x) || p(y))), p(y) the mean of the rows of probs (B, K); 1 .. K."""
    p = np.asarray(probs, dtype=np.float64)
    return float(np.exp(_kl_rows(p, p.mean(0)).mean()))


def modified_inception_score(probs) -> float:
    """mIS = exp(E_{x != x'} KL(p(y | x) || p(y | x'))) over all ordered pairs of distinct rows of probs (B, K)."""
    p = np.maximum(np.asarray(probs, dtype=np.float64), 1e-300)
    kl = (p * np.log(p)).sum(-1)[:, None] - p @ np.log(p).T  # (B, B): KL(p_i || p_j)
    n = len(p)
    return float(np.exp((kl.sum() - np.trace(kl)) / (n * (n - 1))))


def am_score(probs, reference_probs) -> float:
    """AM = KL(p_r(y) || p_g(y)) + E_x H(p(y | x)) (nats; lower is better; 0 for confident clips in the real mix)."""
    p = np.asarray(probs, dtype=np.float64)
    p_r = np.asarray(reference_probs, dtype=np.float64).mean(0)
    entropy = -_kl_rows(p, np.ones(p.shape[1])).mean()  # H(p) = -sum p log p
    return float(_kl_rows(p_r[None], p.mean(0)[None])[0] + entropy)


# --------------------------------------------------------------------------- counts and chance levels


def entropy_miller_madow(labels, n_classes: int) -> float:
    """Entropy in bits of a histogram with the Miller-Madow correction: H_plugin + (m - 1) / (2 N ln 2),
    m the number of occupied bins, N the count (Miller 1955); the plug-in estimate is biased low at small N."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
    N = counts.sum()
    if N == 0:
        return 0.0
    p = counts[counts > 0] / N
    return float(-(p * np.log2(p)).sum() + (len(p) - 1) / (2 * N * np.log(2)))


def in_tune_chance(scale_midi=SCALE_MIDI, tolerance_cents: float = 50.0) -> float:
    """P(within ``tolerance_cents`` of a scale note) for a pitch uniform in cents over [min(scale), max(scale)].

    For C major over C4-C5 and 50 cents: 7 pitch classes x 100 c of a 1200 c octave = 7 / 12.
    """
    lo, hi = 100.0 * min(scale_midi), 100.0 * max(scale_midi)
    edges = sorted((max(lo, 100 * m - tolerance_cents), min(hi, 100 * m + tolerance_cents)) for m in scale_midi)
    covered, end = 0.0, lo
    for a, b in edges:  # the length of the union of the intervals
        covered += max(0.0, b - max(a, end))
        end = max(end, b)
    return covered / (hi - lo)


# --------------------------------------------------------------------------- frame-wise pitch (pYIN)


def frame_pitch(x, sr: int = SR, fmin: float | None = None, fmax: float | None = None, hop: int = 128):
    """pYIN f0 of every frame (Mauch & Dixon 2014): f0 (B, frames) in Hz (NaN unvoiced) and voiced (B, frames) bool.

    The search runs from C3 to C6 (an octave around the toy scale) on a 10-cent grid that holds every
    equal-tempered note; frames of 1024 samples (128 ms at 8 kHz).
    """
    import librosa  # numba compiles its Viterbi once per process (a few seconds)

    fmin = fmin or float(midi_to_hz(48))
    fmax = fmax or float(midi_to_hz(84))
    clips = to_numpy(x).reshape(-1, to_numpy(x).shape[-1])  # (B, L)
    f0, voiced, _ = librosa.pyin(clips, fmin=fmin, fmax=fmax, sr=sr, frame_length=1024, hop_length=hop,
                                 resolution=0.1)  # fmt: skip
    return f0, voiced


def pitch_track_measures(f0: np.ndarray, voiced: np.ndarray) -> dict:
    """Per clip, from :func:`frame_pitch`: median f0 (Hz; NaN if no frame is voiced), drift (the standard
    deviation in cents of the voiced frames around the median), voiced fraction, and the cents to the nearest
    scale note with that note's index (``evaluate.cents_to_scale``). Every value is a (B,) array."""
    f0 = np.where(voiced, f0, np.nan)
    any_voiced = voiced.any(axis=1)
    median = np.full(len(f0), np.nan)
    median[any_voiced] = np.nanmedian(f0[any_voiced], axis=1)
    cents_track = 1200 * np.log2(f0 / median[:, None])  # (B, frames), NaN when unvoiced
    drift = np.full(len(f0), np.nan)
    drift[any_voiced] = np.nanstd(cents_track[any_voiced], axis=1)
    cents, note = cents_to_scale(np.where(any_voiced, median, 1.0))
    return {"f0": median, "drift_cents": drift, "voiced": voiced.mean(axis=1),
            "cents": np.where(any_voiced, cents, np.nan), "note": note}  # fmt: skip


# --------------------------------------------------------------------------- every figure of a set, with intervals


def classifier_measures(feats, probs, ref_feats, ref_probs, n_boot: int = 200, seed: int = 0) -> dict:
    """FD, KID, IS, mIS, AM, precision and recall of generated (feats (n, D), probs (n, K)) against real
    (ref_feats, ref_probs), each an :class:`Interval`. P / R intervals resample the clips tested against a
    fixed manifold; the others resample both sets."""
    precision = manifold_membership(ref_feats, feats)  # (n,) bool
    recall = manifold_membership(feats, ref_feats)
    b = {"n_boot": n_boot, "seed": seed}
    return {
        "fd": bootstrap_ci(frechet_feature_distance, feats, ref_feats, bias_correct=True, **b),
        "kid": bootstrap_ci(kernel_inception_distance, feats, ref_feats, bias_correct=True, **b),
        "is": bootstrap_ci(inception_score, probs, bias_correct=True, **b),
        "mis": bootstrap_ci(modified_inception_score, probs, bias_correct=True, **b),
        "am": bootstrap_ci(am_score, probs, ref_probs, bias_correct=True, **b),
        "precision": bootstrap_ci(np.mean, precision, **b),
        "recall": bootstrap_ci(np.mean, recall, **b),
    }


def pitch_measures(f0, voiced, timbre, n_timbres: int = 4, n_boot: int = 200, seed: int = 0) -> dict:
    """In-tune rate (median pYIN pitch within 50 c of a scale note) beside its chance level, median drift (c),
    voiced fraction, and Miller-Madow entropies (bits) of the in-tune notes and of the timbres ``timbre`` (B,)
    named by the classifier; intervals by bootstrap over clips."""
    m = pitch_track_measures(f0, voiced)
    in_tune = np.abs(np.nan_to_num(m["cents"], nan=1e9)) <= 50
    b = {"n_boot": n_boot, "seed": seed}
    n_notes = len(SCALE_MIDI)
    return {
        "in_tune": bootstrap_ci(np.mean, in_tune, **b),
        "in_tune_chance": in_tune_chance(),
        "drift_cents": bootstrap_ci(np.nanmedian, m["drift_cents"], **b),
        "voiced": bootstrap_ci(np.mean, m["voiced"], **b),
        "pitch_entropy": bootstrap_ci(
            lambda n, ok: entropy_miller_madow(n[ok], n_notes), m["note"], in_tune, paired=True, bias_correct=True, **b
        ),
        "timbre_entropy": bootstrap_ci(
            lambda t: entropy_miller_madow(t, n_timbres), np.asarray(timbre), bias_correct=True, **b
        ),
    }


def mean_difference(a, b, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    """mean(a - b) of a measure on the same clips under methods A and B, (n,) each, with its paired bootstrap
    interval (the clips resampled together, so the spread between clips cancels)."""
    return bootstrap_ci(lambda x, y: np.mean(x - y), a, b, paired=True, n_boot=n_boot, seed=seed, level=level)


# --------------------------------------------------------------------------- speech: an estimate against its reference


def _clips(estimate, reference) -> tuple[np.ndarray, np.ndarray]:
    """Both as float64 (B, L); (B, 1, L), (B, L) and (L,) accepted; refuses other shapes, NaN and silent references."""
    s_hat, s = to_numpy(estimate), to_numpy(reference)
    if s_hat.shape != s.shape:
        raise ValueError(f"estimate {s_hat.shape} and reference {s.shape} must have the same shape")
    s_hat, s = s_hat.reshape(-1, s.shape[-1]), s.reshape(-1, s.shape[-1])  # (B, L)
    for name, x in (("estimate", s_hat), ("reference", s)):
        if not np.isfinite(x).all():
            raise ValueError(f"the {name} holds NaN or inf (clips {np.flatnonzero(~np.isfinite(x).all(-1)).tolist()})")
    silent = np.flatnonzero(~np.abs(s).any(-1))
    if silent.size:
        raise ValueError(f"reference clips {silent.tolist()} are silent (all zeros): nothing to measure against")
    return s_hat, s


def si_sdr(estimate, reference, zero_mean: bool = True) -> np.ndarray:
    """Scale-invariant signal-to-distortion ratio in dB, per clip (Le Roux et al. 2019).

    The reference s is scaled to best fit the estimate s_hat (the projection of s_hat on s), and what is left
    is the distortion: a = <s_hat, s> / |s|^2,  SI-SDR = 10 log10(|a s|^2 / |s_hat - a s|^2). Scaling s_hat
    does not change it; for s_hat = s + e with e orthogonal to s and |e|^2 = r |s|^2 it is 10 log10(1 / r).
    Args:
        estimate, reference: (B, 1, L), (B, L) or (L,).  zero_mean: remove each clip's mean first (the paper does).
    Returns:
        (B,) float64 dB (+inf for a perfect estimate).
    """
    s_hat, s = _clips(estimate, reference)
    if zero_mean:
        s_hat, s = s_hat - s_hat.mean(-1, keepdims=True), s - s.mean(-1, keepdims=True)
    a = (s_hat * s).sum(-1, keepdims=True) / (s * s).sum(-1, keepdims=True)  # (B, 1): the optimal scale
    target, distortion = a * s, s_hat - a * s
    with np.errstate(divide="ignore"):
        return 10 * np.log10((target**2).sum(-1) / (distortion**2).sum(-1))


def log_spectral_distance(estimate, reference, sr: int, frame_s: float = 0.064, floor: float = 1e-10) -> np.ndarray:
    """Log-spectral distance in dB per clip: the RMS over frequencies of the difference of the two power spectra
    in dB, averaged over frames (Gray & Markel 1976; the form used for vocoders and bandwidth extension):

        LSD = (1 / T) sum_t sqrt((1 / F) sum_f (10 log10 P_s(f, t) - 10 log10 P_s_hat(f, t))^2)

    P = |STFT|^2 with a Hann window of ``frame_s`` seconds (512 samples at 8 kHz), hop a quarter of it,
    frames centred; powers floored at ``floor`` (-100 dB) so silence stays finite. An estimate g s (a gain g)
    has LSD |20 log10 g|. Args: estimate, reference (B, 1, L), (B, L) or (L,). Returns (B,) float64 dB.
    """
    import librosa

    s_hat, s = _clips(estimate, reference)
    n_fft = int(round(frame_s * sr))
    power = [np.abs(librosa.stft(x, n_fft=n_fft, hop_length=n_fft // 4, window="hann")) ** 2 for x in (s_hat, s)]
    db_hat, db = (10 * np.log10(np.maximum(p, floor)) for p in power)  # (B, F, frames)
    return np.sqrt(((db - db_hat) ** 2).mean(axis=1)).mean(axis=-1)


def _require(module: str):
    """Import an optional measure's package, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"this measure needs the {module} package: pip install {module}") from e


PESQ_MIN_SECONDS = 0.25  # the P.862 code refuses shorter buffers


def pesq_nb(estimate, reference, sr: int = 8000) -> np.ndarray:
    """Narrow-band PESQ (ITU-T P.862, Rix et al. 2001) per clip, as MOS-LQO (the P.862.1 mapping, 1.0 .. 4.5),
    by the ``pesq`` package (``pip install pesq``).

    PESQ is an utterance measure (P.862 asks for 8-20 s): the P.862 code refuses clips under 0.25 s, and its
    voice activity detector finds no utterance in single FSDD digits under about 0.2 s, even padded; padding
    with silence also moves the score. So short clips are refused here, not padded: concatenate short clips
    into longer utterances first (``benchmarks/speech_quality.py`` joins groups of clips). Silent estimates or
    references, NaN, and rates other than 8000 or 16000 Hz (16 kHz audio is then scored narrow-band) are refused.
    Args: estimate, reference (B, 1, L), (B, L) or (L,).  Returns: (B,) float64.
    """
    pesq = _require("pesq")
    if sr not in (8000, 16000):
        raise ValueError(f"PESQ takes 8000 or 16000 Hz, not {sr}: resample first (librosa.resample)")
    s_hat, s = _clips(estimate, reference)
    silent = np.flatnonzero(~np.abs(s_hat).any(-1))
    if silent.size:
        raise ValueError(f"estimate clips {silent.tolist()} are silent (all zeros): PESQ is undefined for them")
    if s.shape[-1] < PESQ_MIN_SECONDS * sr:
        raise ValueError(f"PESQ needs clips of at least {PESQ_MIN_SECONDS} s, got {s.shape[-1] / sr:.3f} s: "
                         "concatenate short clips into longer utterances first")  # fmt: skip
    scores = np.empty(len(s))
    for i in range(len(s)):
        try:
            scores[i] = pesq.pesq(sr, s[i], s_hat[i], "nb")
        except pesq.PesqError as e:  # e.g. no utterance found by its voice activity detector
            raise ValueError(f"PESQ refused clip {i}: {e}") from e
    return scores


def stoi(estimate, reference, sr: int, extended: bool = False) -> np.ndarray:
    """Short-time objective intelligibility (Taal et al. 2011) per clip, 0 .. 1, by ``pystoi`` (``pip install pystoi``).

    STOI resamples to 10 kHz, drops the frames more than 40 dB below the reference's loudest, and correlates
    one-third-octave envelopes over segments of 30 frames (384 ms): a clip with fewer than 30 frames of speech
    left (about 0.4 s) is refused, not scored (``pystoi`` itself would return 1e-5 with a warning). Concatenate
    short clips into longer ones first (``benchmarks/speech_quality.py`` joins groups of clips).
    ``extended``: ESTOI (Jensen & Taal 2016). Args: estimate, reference (B, 1, L), (B, L) or (L,). Returns (B,).
    """
    pystoi = _require("pystoi")
    s_hat, s = _clips(estimate, reference)
    scores = np.empty(len(s))
    for i in range(len(s)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scores[i] = pystoi.stoi(s[i], s_hat[i], sr, extended=extended)
        if any("Not enough STFT frames" in str(w.message) for w in caught):
            seconds = s.shape[-1] / sr
            raise ValueError(
                f"STOI needs at least 30 frames (about 0.4 s) of speech within 40 dB of the loudest frame; "
                f"clip {i} ({seconds:.2f} s) has fewer: concatenate short clips first"
            )
    return scores
