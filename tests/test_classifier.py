"""The note classifier (``models.classifier``), its training, the shipped checkpoint and the measures it feeds."""

import numpy as np
import pytest
import torch

from audiodiff_minimal.checkpoint import read_record
from audiodiff_minimal.data import toy_notes
from audiodiff_minimal.generate import classifier_outputs, quality_measures
from audiodiff_minimal.models.classifier import ClassifierConfig, NoteClassifier, augment
from audiodiff_minimal.registry import SHIPPED, load_model
from audiodiff_minimal.train import train_classifier

SHIPPED_FLOOR = 0.97  # class accuracy the shipped network must reach on fresh notes (measured: 2048 / 2048)


@pytest.fixture(scope="module")
def shipped():
    model, record = load_model("notes_classifier")
    return model, record


def test_shapes_and_features():
    net = NoteClassifier(ClassifierConfig(channels=8, features=16))
    x = torch.randn(3, 1, 4096) * 0.1
    assert net(x).shape == (3, 32) and net.features(x).shape == (3, 16)
    assert net.log_mel(x).shape == (3, 80, 17)


def test_log_mel_ignores_the_gain():
    """Each clip's maximum is subtracted, so a 12 dB quieter note gives the same input (up to the 1e-5 floor
    inside the log, felt only near the bottom); without it the input would move by 2.77 / 12 = 0.23."""
    net = NoteClassifier()
    x = toy_notes(4, seed=3)[0]
    assert (net.log_mel(x) - net.log_mel(0.25 * x)).abs().max() < 0.02


def test_augment_adds_noise_at_the_requested_snr():
    x = toy_notes(64, seed=4)[0].double()
    g = torch.Generator().manual_seed(0)
    noisy = augment(x, g, snr_db=(20.0, 20.0), p_clean=0.0, gain_db=(0.0, 0.0))
    snr = 10 * torch.log10(x.pow(2).mean((1, 2)) / (noisy - x).pow(2).mean((1, 2)))
    assert snr.mean().item() == pytest.approx(20.0, abs=0.1)
    clean = augment(x, g, p_clean=1.0, gain_db=(-6.0, -6.0))
    assert torch.allclose(clean, x * 10 ** (-6 / 20))


def test_training_resumes_exactly(tmp_path):
    config = ClassifierConfig(channels=8, features=8, layers=1)
    whole = train_classifier(config, tmp_path / "a", steps=4, batch=4, save_every=2, progress=False)
    train_classifier(config, tmp_path / "b", steps=2, batch=4, save_every=2, progress=False)
    resumed = train_classifier(config, tmp_path / "b", steps=4, batch=4, save_every=2, resume=True, progress=False)
    for (name, a), (_, b) in zip(whole.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert read_record(tmp_path / "b").kind == "classifier" and read_record(tmp_path / "b").step == 4
    with pytest.raises(FileExistsError):
        train_classifier(config, tmp_path / "a", steps=4, progress=False)


def test_shipped_checkpoint_is_small_and_loads(shipped):
    model, record = shipped
    assert record.kind == "classifier" and isinstance(model, NoteClassifier)
    assert (SHIPPED["notes_classifier"] / "model.safetensors").stat().st_size < 1_000_000
    assert (SHIPPED["notes_classifier"] / "MODEL_CARD.md").is_file()


def test_shipped_classifier_names_fresh_notes_and_an_untrained_one_does_not(shipped):
    """Fresh notes of a seed no training run draws from, clean and at 10 dB SNR."""
    model, _ = shipped
    x, pitch, timbre = toy_notes(256, seed=424242)
    labels = pitch * 4 + timbre
    with torch.no_grad():
        assert (model(x).argmax(1) == labels).float().mean() >= SHIPPED_FLOOR
        noisy = augment(x, torch.Generator().manual_seed(1), snr_db=(10.0, 10.0), p_clean=0.0)
        assert (model(noisy).argmax(1) == labels).float().mean() >= SHIPPED_FLOOR
        untrained = NoteClassifier(model.config).eval()
        assert (untrained(x).argmax(1) == labels).float().mean() < 0.2


def test_measures_put_real_notes_at_the_floor_and_noise_at_the_ceiling(shipped):
    """Real vs real: FD and KID near 0, precision and recall high, IS near its maximum; noise vs real: far off."""
    model, _ = shipped
    reference = toy_notes(256, seed=9001)[0]
    real = toy_notes(256, seed=9002)[0]
    noise = torch.randn(256, 1, 4096, generator=torch.Generator().manual_seed(0)) * reference.pow(2).mean().sqrt()
    good = quality_measures(real, reference, model, n_boot=20)
    bad = quality_measures(noise, reference, model, n_boot=20)
    assert good["fd"].value < 0.05 * bad["fd"].value and good["kid"].value < 0.05 * bad["kid"].value
    assert good["precision"].value > 0.8 and good["recall"].value > 0.8 and bad["precision"].value < 0.1
    # label smoothing 0.1 makes the smoothed one-hot the optimum: IS = 32 exp(-H(target)) = 16.6 for balanced classes
    target = np.full(32, 0.1 / 32) + 0.9 * np.eye(32)[0]
    is_max = 32 * np.exp((target * np.log(target)).sum())
    assert 0.85 * is_max < good["is"].value < 1.02 * is_max and bad["is"].value < 2
    assert good["in_tune"].value > 0.95 and good["timbre_entropy"].value == pytest.approx(2.0, abs=0.1)
    feats, probs = classifier_outputs(model, real[:8])
    assert feats.shape == (8, 64) and np.allclose(probs.sum(1), 1.0)
