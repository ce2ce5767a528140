"""Objective measures: the Frechet distance against closed forms, pitch/timbre/flatness on known signals."""

import numpy as np
import pytest
import torch

from audiodiff_minimal.data import SCALE_MIDI, midi_to_hz, note_label, toy_note, toy_notes
from audiodiff_minimal.evaluate import (
    cents_to_scale,
    classify_timbre,
    entropy_bits,
    estimate_pitch,
    evaluate_clips,
    frechet_distance,
    label_measures,
    log_mel_features,
    reference_bounds,
    spectral_flatness,
)

SR = 8000


@pytest.fixture(scope="module")
def notes():
    x, pitch, timbre = toy_notes(120, seed=1)
    ref, _, _ = toy_notes(120, seed=2)
    return x, pitch.numpy(), timbre.numpy(), ref


def test_frechet_1d_closed_form():
    """For 1-D Gaussians d^2 = (m1 - m2)^2 + (s1 - s2)^2."""
    assert frechet_distance(1.0, 4.0, -2.0, 9.0) == pytest.approx(9.0 + 1.0, abs=1e-9)


def test_frechet_diagonal_closed_form():
    """For diagonal covariances d^2 = |mu1 - mu2|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2."""
    rng = np.random.default_rng(0)
    mu1, mu2, a, b = rng.normal(size=5), rng.normal(size=5), rng.uniform(0.1, 3, 5), rng.uniform(0.1, 3, 5)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-9)


def test_frechet_general_covariances():
    """Non-commuting covariances: tr((C1 C2)^(1/2)) = tr((C1^(1/2) C2 C1^(1/2))^(1/2)), computed by eigh."""
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    C1, C2 = A @ A.T + 0.1 * np.eye(6), B @ B.T + 0.1 * np.eye(6)

    def psd_sqrt(C):
        w, V = np.linalg.eigh(C)
        return V @ np.diag(np.sqrt(np.clip(w, 0, None))) @ V.T

    R = psd_sqrt(C1)
    expected = np.trace(C1) + np.trace(C2) - 2 * np.trace(psd_sqrt(R @ C2 @ R))
    mu = np.zeros(6)
    assert frechet_distance(mu, C1, mu, C2) == pytest.approx(expected, rel=1e-7)
    assert frechet_distance(mu, C1, mu, C1) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(mu, C1, mu, C2) == pytest.approx(frechet_distance(mu, C2, mu, C1), rel=1e-7)


def test_pitch_of_sines_and_toy_notes(notes):
    f = np.array([130.0, 300.0, 440.0, 777.0])
    n = np.arange(4096) / SR
    sines = np.sin(2 * np.pi * f[:, None] * n) * np.exp(-n / 0.3)
    assert np.abs(1200 * np.log2(estimate_pitch(sines, SR) / f)).max() < 2  # cents
    x, pitch, _, _ = notes
    true = midi_to_hz(np.asarray(SCALE_MIDI)[pitch])
    assert np.abs(1200 * np.log2(estimate_pitch(x, SR) / true)).max() < 5  # every timbre, no octave errors


def test_cents_to_scale():
    cents, idx = cents_to_scale([440.0, 440.0 * 2 ** (0.3 / 12), midi_to_hz(60) * 2 ** (-0.4 / 12)])
    assert np.allclose(cents, [0.0, 30.0, -40.0], atol=1e-6) and idx.tolist() == [5, 5, 0]


def test_timbre_classifier(notes):
    x, pitch, timbre, _ = notes
    predicted = classify_timbre(x, estimate_pitch(x, SR), SR)
    assert (predicted == timbre).mean() >= 0.95


def test_entropy_bits():
    assert entropy_bits(np.arange(8), 8) == pytest.approx(3.0)
    assert entropy_bits([2, 2, 2], 8) == 0.0
    assert entropy_bits([0, 1], 4) == pytest.approx(1.0)


def test_flatness_tone_vs_noise():
    tone = toy_note(3, 0, generator=torch.Generator().manual_seed(0))
    noise = torch.randn(1, 4096, generator=torch.Generator().manual_seed(0)) * 0.3
    assert spectral_flatness(tone)[0] < 0.01 < 0.4 < spectral_flatness(noise)[0]


def test_log_mel_features_shape(notes):
    assert log_mel_features(notes[0][:3], SR).shape == (3, 64)


def test_evaluate_real_notes_noise_and_mode_collapse(notes):
    x, _, _, ref = notes
    real = evaluate_clips(x, ref, SR)
    assert real["pitch_in_tune"] >= 0.99 and real["flatness"] < 0.01
    assert real["pitch_entropy"] > 2.7 and real["timbre_entropy"] > 1.8  # 8 notes, 4 timbres: max 3 and 2 bits
    noise = torch.randn(120, 1, 4096, generator=torch.Generator().manual_seed(0)) * 0.3
    fake = evaluate_clips(noise, ref, SR)
    assert fake["flatness"] > 0.4 and fake["frechet_mel"] > 20 * real["frechet_mel"]
    collapsed = toy_notes(1, seed=3)[0].expand(60, 1, 4096)  # one note 60 times
    assert evaluate_clips(collapsed, ref, SR)["pitch_entropy"] == 0.0


def test_reference_bounds(notes):
    bounds = reference_bounds(notes[3], SR)
    assert 0 < bounds["real_vs_real"] < bounds["noise_vs_real"] / 20


def test_label_measures_right_and_wrong_labels(notes):
    x, pitch, timbre, _ = notes
    labels = note_label(torch.as_tensor(pitch), torch.as_tensor(timbre))
    right = label_measures(x, labels, SR)
    assert right["pitch_acc"] == 1.0 and right["timbre_acc"] >= 0.95 and right["flatness"] < 0.01
    wrong = label_measures(x, note_label(torch.as_tensor((pitch + 1) % 8), torch.as_tensor((timbre + 1) % 4)), SR)
    assert wrong["pitch_acc"] == 0.0 and wrong["timbre_acc"] <= 0.1
    same = toy_notes(1, seed=3)[0].expand(4, 1, 4096)  # one clip four times: no spread within its class
    assert label_measures(same, torch.zeros(4, dtype=torch.long), SR)["spread"] < 1e-9
    assert right["spread"] > 0.1  # 120 clips of 32 classes differ in phase and envelope
    assert np.isnan(label_measures(x[:2], torch.tensor([0, 1]), SR)["spread"])  # no class with two clips


def test_flatness_ignores_near_silent_frames():
    """Energy weighting: a faint noise floor before a tone's onset must not make the tone look noisy."""
    n = np.arange(8192) / SR
    tone = np.where(n >= 0.5, 0.5 * np.sin(2 * np.pi * 440 * n), 0.0)  # half a second of silence, then A4
    floor = 1e-4 * np.random.default_rng(0).standard_normal(n.size)  # -80 dB noise under everything
    assert spectral_flatness(floor)[0] > 0.4  # the floor alone is white
    assert spectral_flatness(tone + floor)[0] < 0.01  # its frames carry almost no energy


def test_pitch_accuracy_needs_the_note_in_tune():
    """The requested note counts only within 50 cents: 70 cents sharp of A4 is still nearest A4, but out of tune."""
    n = np.arange(4096) / SR
    f = midi_to_hz(69) * 2 ** (np.array([0.0, 30.0, 70.0, -70.0]) / 1200)  # A4 and three detuned copies
    clips = np.sin(2 * np.pi * f[:, None] * n) * np.exp(-n / 0.3)
    labels = note_label(torch.full((4,), 5), torch.zeros(4, dtype=torch.long))  # A4 sine, every clip
    assert cents_to_scale(estimate_pitch(clips, SR))[1].tolist() == [5, 5, 5, 5]  # all nearest A4
    assert label_measures(clips, labels, SR)["pitch_acc"] == pytest.approx(0.5)  # 0 and 30 cents in tune
