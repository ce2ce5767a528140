"""Power spectra and the per-frequency SNR of x_t."""

import numpy as np
import pytest
import torch

from audiodiff_minimal.data import ARProcess
from audiodiff_minimal.schedules import make_schedule
from audiodiff_minimal.spectral import cutoff_frequency, expected_periodogram, periodogram, spectral_snr, to_db


def test_white_noise_has_unit_spectrum():
    x = torch.randn(64, 1, 1024, generator=torch.Generator().manual_seed(0))
    freqs, S = periodogram(x, sr=8000, segment=256)
    assert freqs[0] == 0 and freqs[-1] == 4000
    assert abs(S[1:-1].mean() - 1) < 0.02 and np.abs(S[1:-1] - 1).max() < 0.25


def test_ar_periodogram_matches_analytic_spectrum():
    ar = ARProcess()
    freqs, S = periodogram(ar.sample(256, 1024, seed=0), sr=ar.sr, segment=256)
    rel = np.abs(S[1:-1] / ar.power_spectrum(freqs[1:-1]) - 1)
    assert np.median(rel) < 0.1


def test_spectral_snr_of_white_signal_is_the_schedule_snr():
    s = make_schedule("cosine", 50)
    snr = spectral_snr(np.ones(5), s)
    assert np.allclose(snr[1:], s.snr.numpy()[1:, None])
    assert to_db(100.0) == pytest.approx(20.0)


def test_high_frequencies_drown_first():
    ar, s = ARProcess(), make_schedule("linear", 100)
    freqs = np.linspace(0, ar.sr / 2, 129)
    cut = cutoff_frequency(freqs, spectral_snr(ar.power_spectrum(freqs), s))
    assert np.all(np.diff(cut[1:]) <= 0)  # the 0 dB cut-off only moves down as t grows
    assert cut[1] > 1000 and cut[-1] == 0.0


def test_expected_periodogram_matches_samples_and_tends_to_spectrum():
    ar = ARProcess()
    freqs, expected = expected_periodogram(ar.covariance(32), ar.sr)
    _, S = periodogram(ar.sample(4000, 32, seed=1), ar.sr)
    assert np.max(np.abs(S / expected - 1)) < 0.1
    freqs, long = expected_periodogram(ar.covariance(1024), ar.sr)
    assert np.median(np.abs(long[1:-1] / ar.power_spectrum(freqs[1:-1]) - 1)) < 0.02


def test_cutoff_is_the_highest_bin_above_threshold():
    """Read off the highest frequency above 0 dB exactly: not the bin below or above it."""
    freqs = np.array([0.0, 100.0, 200.0, 300.0, 400.0])
    snr = np.array(
        [
            [9.0, 5.0, 2.0, 0.5, 0.1],  # crosses between 200 and 300 Hz
            [9.0, 0.5, 3.0, 0.9, 0.1],  # not monotone: the highest bin above is 200 Hz
            [9.0, 9.0, 9.0, 9.0, 1.5],  # every bin above: the top bin
            [0.9, 0.5, 0.1, 0.1, 0.1],  # none above: 0
        ]
    )
    assert cutoff_frequency(freqs, snr).tolist() == [200.0, 200.0, 400.0, 0.0]
    assert cutoff_frequency(freqs, snr, threshold=4.0).tolist() == [100.0, 0.0, 300.0, 0.0]
