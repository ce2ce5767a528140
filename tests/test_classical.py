"""The classical baselines of chapter 10 (``classical.py``): what each formula does, on a real clip and on a
stationary Gaussian signal whose spectrum is known in closed form."""

import numpy as np
import pytest
import scipy.signal
import torch

from audiodiff_minimal import classical
from audiodiff_minimal.data import ARProcess
from audiodiff_minimal.metrics import si_sdr
from audiodiff_minimal.speech import FSDD_DIR, MelConfig, load_utterance, log_mel, make_noise, mix_at_snr, normalize_rms

SR = 8000


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    """A fixed test-split recording (L,): "three" by jackson, index 0, at RMS 0.05."""
    return normalize_rms(load_utterance(FSDD_DIR / "3_jackson_0.wav")).numpy().astype(np.float64)


def white_at_0_db(clean: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, noise) (L,) each: white noise mixed at 0 dB SNR, seeded."""
    noise = make_noise("white", len(clean), SR, torch.Generator().manual_seed(seed))
    noisy = mix_at_snr(torch.from_numpy(clean), noise.double(), 0.0).numpy()
    return noisy, noisy - clean


@pytest.mark.parametrize(
    "method, oracle, floor_db",
    [("spectral_subtraction", False, 1.5), ("spectral_subtraction", True, 2.5),
     ("wiener_enhance", False, 3.0), ("wiener_enhance", True, 5.0)],
)  # fmt: skip
def test_each_baseline_raises_si_sdr_on_white_noise_at_0_db(clip, method, oracle, floor_db):
    """SI-SDR gains measured on this clip at noise seeds 0, 1, 2: spectral subtraction 2.31, 2.75, 2.37 dB with the
    estimated noise and 3.67, 3.66, 3.74 with the oracle; Wiener 4.33, 4.87, 4.19 and 6.85, 6.74, 6.98 dB."""
    for seed in range(3):
        noisy, noise = white_at_0_db(clip, seed)
        psd = classical.noise_psd(noise, SR) if oracle else None
        enhanced = getattr(classical, method)(noisy, SR, noise_psd=psd)
        gain = si_sdr(enhanced, clip)[0] - si_sdr(noisy, clip)[0]
        assert gain > floor_db, f"{method} (oracle={oracle}) seed {seed}: SI-SDR gain {gain:.2f} dB"


def test_power_subtraction_removes_the_noise_power_in_each_bin():
    """|G Y|^2 = |Y|^2 - N wherever that is above the floor (power, not amplitude, subtraction: |Y| - sqrt(N)
    would leave (|Y| - sqrt(N))^2), and floor |Y|^2 below it."""
    noisy_power = np.array([4.0, 2.0, 10.0, 1.0])
    N = np.array([3.0, 1.0, 1.0, 2.0])
    G = classical.subtraction_gain(noisy_power, N, floor=0.01)
    np.testing.assert_allclose((G**2 * noisy_power)[:3], (noisy_power - N)[:3], rtol=1e-12)
    assert G[3] ** 2 == pytest.approx(0.01)


def expected_bin_power(autocovariance: np.ndarray, n_fft: int) -> np.ndarray:
    """E|STFT(x)(f_k)|^2 (F,) for a stationary x with autocovariance gamma(0..n_fft-1) and a periodic Hann window:
    sum_m gamma(|m|) r_w(m) cos(w_k m), r_w the window's autocorrelation."""
    w = scipy.signal.get_window("hann", n_fft)
    r_w = np.correlate(w, w, mode="full")  # lags -(n-1) .. n-1
    lags = np.arange(-(n_fft - 1), n_fft)
    gamma = autocovariance[np.abs(lags)]
    omega = 2 * np.pi * np.arange(n_fft // 2 + 1) / n_fft
    return (gamma * r_w * np.cos(omega[:, None] * lags[None])).sum(-1)


def test_wiener_gain_with_the_oracle_noise_is_s_over_s_plus_n_on_a_stationary_gaussian():
    """An AR(2) process (a resonance at 400 Hz, S known in closed form) plus white noise: with the noise's own
    power as the oracle and P_Y averaged over 1001 frames of 60 s, the gain of each bin is S / (S + N) within 0.035,
    where S and N are the expected STFT powers (60 s of one realisation leaves about 2% of sampling error in each
    power: 0.028 in G at worst, where S is a third of N). The wrong gain N / (S + N) is off by
    |1 - 2 S / (S + N)|, up to 0.97 here."""
    n_fft, _ = classical.frame_sizes(SR)
    ar = ARProcess(freq=400.0, radius=0.95, std=0.3, sr=SR)
    x = ar.sample(1, length=60 * SR, seed=0)[0, 0].double().numpy()
    sigma = 0.1
    noise = sigma * np.random.default_rng(0).standard_normal(len(x))
    Y = classical.stft(x + noise, SR)
    G = classical.wiener_gains(np.abs(Y) ** 2, classical.noise_psd(noise, SR), smooth_frames=1001, gain_floor=0.0)
    S = expected_bin_power(ar.autocovariance(n_fft - 1), n_fft)
    N = sigma**2 * (scipy.signal.get_window("hann", n_fft) ** 2).sum()
    target = S / (S + N)  # (F,)
    assert target.min() < 0.1 and target.max() > 0.9  # the check spans the whole range of gains
    np.testing.assert_allclose(G[0].mean(-1), target, atol=0.035)


def test_minimum_statistics_estimates_the_power_of_noise_alone():
    """On pink noise alone every frame is noise-only: the bias-corrected 10th percentile of the frame powers of
    4 s matches the mean power per bin (the oracle) within 10% in the median bin and 35% in 95% of the bins
    (without the bias factor 1 / -ln(0.9) it would be 0.105 times too low)."""
    noise = make_noise("pink", 4 * SR, SR, torch.Generator().manual_seed(1)).double().numpy()
    estimate = classical.minimum_statistics_psd(np.abs(classical.stft(noise, SR)) ** 2)[0]
    ratio = (estimate / classical.noise_psd(noise, SR)[0])[1:-1]  # DC and Nyquist bins are real: not Exp(1)
    assert abs(np.median(ratio) - 1) < 0.1
    assert np.mean(np.abs(ratio - 1) < 0.35) > 0.95, ratio.round(2)


def test_enhancers_keep_the_shape_and_refuse_a_mismatched_noise_psd(clip):
    noisy = np.stack([white_at_0_db(clip, s)[0] for s in range(2)])[:, None]  # (2, 1, L)
    for method in (classical.spectral_subtraction, classical.wiener_enhance):
        assert method(noisy, SR).shape == noisy.shape
        with pytest.raises(ValueError, match="bins"):
            method(noisy, SR, noise_psd=np.ones(100))


def test_griffin_lim_output_has_the_input_log_mel():
    """Griffin-Lim from the log-mel of a real clip: 32 iterations bring the output's log-mel within 0.2 nats
    (mean absolute difference; measured 0.13) of the input, from 0.71 for the random initial phase (0 iterations)."""
    x = normalize_rms(load_utterance(FSDD_DIR / "7_lucas_2.wav"))[None]  # (1, L)
    m = log_mel(x)
    cfg = MelConfig()

    def mel_error(n_iter: int) -> float:
        y = classical.griffin_lim(m, cfg, n_iter=n_iter, length=x.shape[-1])
        assert y.shape == (1, 1, x.shape[-1])
        return float((log_mel(torch.from_numpy(y).float()) - m).abs().mean())

    assert mel_error(32) < 0.2
    assert mel_error(0) > 0.5
