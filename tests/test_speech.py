"""Chapter 10's data layer: FSDD splits, the log-mel spectrogram, its upsampling, noise, SNR mixing and batches."""

import numpy as np
import pytest
import torch

from audiodiff_minimal.speech import FSDD_DIR, HELD_OUT_SPEAKER, MelConfig, Utterance, fsdd_index, log_mel, split

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("one_thread")]


def test_committed_subset_and_splits():
    """data/fsdd holds 400 files: test (150), george 0-9 (100), train-speakers 5-9 (150); splits never overlap."""
    utts = fsdd_index(FSDD_DIR)
    assert len(utts) == 400
    parts = {w: split(utts, w) for w in ("train", "test", "unseen")}
    assert {w: len(p) for w, p in parts.items()} == {"train": 150, "test": 150, "unseen": 100}
    assert all(u.speaker == HELD_OUT_SPEAKER for u in parts["unseen"])
    assert all(u.speaker != HELD_OUT_SPEAKER and u.index >= 5 for u in parts["train"])
    assert all(u.speaker != HELD_OUT_SPEAKER and u.index <= 4 for u in parts["test"])
    assert len({u.path for p in parts.values() for u in p}) == 400
    assert utts[0] == Utterance(FSDD_DIR / "0_george_0.wav", 0, "george", 0)


def test_index_refuses_bad_names(tmp_path):
    (tmp_path / "7_lucas_3.wav").write_bytes(b"")
    (tmp_path / "seven.wav").write_bytes(b"")
    with pytest.raises(ValueError, match="seven.wav"):
        fsdd_index(tmp_path)
    with pytest.raises(ValueError, match="which"):
        split([], "validation")


@pytest.mark.parametrize("length", [4000, 4096, 1000])
def test_log_mel_matches_librosa(length):
    """# CHECK: log_mel = log(max(librosa melspectrogram(power=1), floor)), frames = L // hop + 1."""
    import librosa

    cfg = MelConfig()
    x = torch.randn(2, length, generator=torch.Generator().manual_seed(length)) * 0.05
    x[1, : length // 2] = 0  # a silent half reaches the floor
    m = log_mel(x, cfg)
    ref = librosa.feature.melspectrogram(
        y=x.numpy(), sr=cfg.sr, n_fft=cfg.n_fft, hop_length=cfg.hop, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
        power=1.0,
    )  # fmt: skip
    assert m.shape == (2, cfg.n_mels, length // cfg.hop + 1)
    assert np.abs(m.numpy() - np.log(np.maximum(ref, cfg.floor))).max() < 1e-4
    assert m.min() == pytest.approx(np.log(cfg.floor))
