"""The speech measures of ``metrics.py`` (chapter 10) at values known in closed form, and their refusals."""

import sys

import numpy as np
import pytest

from audiodiff_minimal.metrics import log_spectral_distance, mean_difference, pesq_nb, si_sdr, stoi

SR = 8000


def voiced(seconds: float = 0.6, f0: float = 120.0, seed: int = 0) -> np.ndarray:
    """A speech-like test signal (L,): a harmonic buzz at f0 with a formant-like spectral tilt, a syllable envelope
    and a little vibrato; deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))) / SR
    x = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 30) if k * f0 < SR / 2)
    envelope = np.sin(np.pi * t / seconds) ** 2 * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return 0.3 * x * envelope / np.abs(x).max()


def orthogonal_residual(s: np.ndarray, r: float, rng) -> np.ndarray:
    """e with <e, s> = 0, zero mean, and |e|^2 = r |s|^2."""
    e = rng.standard_normal(s.shape)
    e -= e.mean()
    s0 = s - s.mean()
    e -= (e @ s0) / (s0 @ s0) * s0
    return e * np.sqrt(r * (s0 @ s0) / (e @ e))


def test_si_sdr_of_an_orthogonal_residual_is_10_log10_of_one_over_r():
    """s_hat = s + e, e orthogonal to s with |e|^2 = r |s|^2: the best scale is 1 and SI-SDR = 10 log10(1 / r).
    A projection normalised by |s_hat|^2 instead of |s|^2 gives 10 log10(1 / (r^2 + r (1 + r)^2)) here."""
    rng = np.random.default_rng(0)
    s = voiced()
    s -= s.mean()
    for r in (0.01, 0.5, 1.0, 4.0):
        assert si_sdr(s + orthogonal_residual(s, r, rng), s)[0] == pytest.approx(10 * np.log10(1 / r), abs=1e-9)


def test_si_sdr_is_invariant_to_scaling_the_estimate():
    """SI-SDR(c s_hat, s) = SI-SDR(s_hat, s) for any c != 0 (the paper's point); plain SNR 10 log10(|s|^2 /
    |s_hat - s|^2) and a scale normalised by the estimate's energy both change with c."""
    rng = np.random.default_rng(1)
    s = np.stack([voiced(seed=0), voiced(f0=180.0, seed=1)])  # (2, L)
    s_hat = 0.7 * s + 0.2 * rng.standard_normal(s.shape) * s.std()
    base = si_sdr(s_hat, s)
    for c in (0.05, 0.5, 3.0, -2.0):
        np.testing.assert_allclose(si_sdr(c * s_hat, s), base, atol=1e-9)


def test_si_sdr_shapes_mean_and_refusals():
    """(B, 1, L) -> (B,); with zero_mean a DC offset in the estimate changes nothing; a perfect estimate is +inf."""
    s = voiced()[None, None].repeat(3, axis=0)  # (3, 1, L)
    noisy = s + 0.1 * np.random.default_rng(2).standard_normal(s.shape) * s.std()
    assert si_sdr(noisy, s).shape == (3,)
    np.testing.assert_allclose(si_sdr(noisy + 0.3, s), si_sdr(noisy, s), atol=1e-9)
    assert np.isposinf(si_sdr(s, s)).all()
    with pytest.raises(ValueError, match="silent"):
        si_sdr(s, np.zeros_like(s))
    with pytest.raises(ValueError, match="same shape"):
        si_sdr(s[:2], s)
    with pytest.raises(ValueError, match="NaN"):
        si_sdr(np.full_like(s, np.nan), s)


def test_log_spectral_distance_of_a_gain_is_20_log10_of_it():
    """An estimate g s differs from s by 10 log10(g^2) = 20 log10 g dB in every bin: LSD = |20 log10 g|
    (a power spectrum taken to dB with 20 log10 would give twice that). A faint noise floor keeps every bin above
    the -100 dB floor of the measure."""
    s = voiced() + 1e-3 * np.random.default_rng(7).standard_normal(int(0.6 * SR))
    for g in (0.5, 2.0, 10.0):
        assert log_spectral_distance(g * s, s, SR)[0] == pytest.approx(abs(20 * np.log10(g)), rel=1e-6)
    assert log_spectral_distance(s, s, SR)[0] == pytest.approx(0.0, abs=1e-9)


def test_log_spectral_distance_is_an_rms_over_frequencies():
    """White noise with a 6 dB gain below 2 kHz only (half of the band 0-4 kHz): in every frame half of the
    bins differ by 6 dB and half by 0, so the RMS over frequencies is 6 / sqrt(2) dB (a mean of |dB| would say 3)."""
    s = np.random.default_rng(3).standard_normal(2 * SR)
    S = np.fft.rfft(s)
    S[np.fft.rfftfreq(len(s), 1 / SR) < 2000] *= 10 ** (6 / 20)
    lsd = log_spectral_distance(np.fft.irfft(S, n=len(s)), s, SR)[0]
    assert lsd == pytest.approx(6 / np.sqrt(2), rel=0.03)  # the Hann window's leakage blurs the edge bins


def test_pesq_nb_scores_identity_high_and_falls_with_noise():
    """Narrow-band PESQ (MOS-LQO): the clean clip against itself scores above 4.4; white noise at 20, 10, 0 dB
    SNR scores lower and lower."""
    s = voiced()
    noise = np.random.default_rng(4).standard_normal(s.shape)
    noise *= np.sqrt((s**2).mean() / (noise**2).mean())
    scores = pesq_nb(np.stack([s] + [s + noise * 10 ** (-snr / 20) for snr in (20, 10, 0)]), np.stack([s] * 4))
    assert scores[0] > 4.4
    assert (np.diff(scores) < 0).all(), scores


def test_pesq_nb_refuses_short_clips_silence_and_other_rates():
    s = voiced()
    with pytest.raises(ValueError, match="at least 0.25 s"):
        pesq_nb(s[: int(0.2 * SR)], s[: int(0.2 * SR)])
    with pytest.raises(ValueError, match="silent"):
        pesq_nb(np.zeros_like(s), s)
    with pytest.raises(ValueError, match="8000 or 16000"):
        pesq_nb(s, s, sr=22050)


def test_stoi_scores_identity_one_falls_with_noise_and_refuses_short_clips():
    s = voiced(seconds=1.0)
    noise = np.random.default_rng(5).standard_normal(s.shape) * s.std()
    scores = stoi(np.stack([s, s + 0.3 * noise, s + 3 * noise]), np.stack([s] * 3), SR)
    assert scores[0] == pytest.approx(1.0, abs=1e-6)
    assert scores[0] > scores[1] > scores[2]
    with pytest.raises(ValueError, match="30 frames"):
        stoi(s[: int(0.3 * SR)], s[: int(0.3 * SR)], SR)


def test_missing_packages_say_how_to_install_them(monkeypatch):
    """A None entry in sys.modules makes ``import pesq`` raise ImportError, as if it were not installed."""
    monkeypatch.setitem(sys.modules, "pesq", None)
    monkeypatch.setitem(sys.modules, "pystoi", None)
    s = voiced()
    with pytest.raises(ImportError, match="pip install pesq"):
        pesq_nb(s, s)
    with pytest.raises(ImportError, match="pip install pystoi"):
        stoi(s, s, SR)


def test_mean_difference_is_paired():
    """B = A - 1 + small noise on clips whose own spread is large: the paired interval is narrow around 1."""
    rng = np.random.default_rng(6)
    a = rng.normal(0, 10, 50)
    b = a - 1 + rng.normal(0, 0.1, 50)
    d = mean_difference(a, b, seed=0)
    assert d.lo < 1 < d.hi and d.hi - d.lo < 0.1
