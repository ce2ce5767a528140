"""Audio helpers: WAV round trip, the player, the plots."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from audiodiff_minimal.audio import (  # noqa: E402
    AudioFileError,
    as_numpy,
    listen,
    load_wav,
    plot_clip,
    plot_clips,
    save_wav,
    spectrogram_db,
)
from audiodiff_minimal.data import toy_notes  # noqa: E402


def test_wav_round_trip(tmp_path):
    x, _, _ = toy_notes(1, length=2000)
    path = save_wav(tmp_path / "sub" / "note.wav", x[0], 8000)
    y, sr = load_wav(path)
    assert sr == 8000 and y.shape == (2000,)
    assert np.abs(y - x[0, 0].numpy()).max() < 2 / 2**15  # 16-bit quantisation
    y16, sr16 = load_wav(path, sr=16000)
    assert sr16 == 16000 and abs(len(y16) - 4000) <= 1


def test_save_clips_and_refuses_nan(tmp_path):
    save_wav(tmp_path / "loud.wav", torch.tensor([2.0, -3.0, 0.5]), 8000)
    y, _ = load_wav(tmp_path / "loud.wav")
    assert y.max() <= 1.0 and y.min() >= -1.0
    with pytest.raises(ValueError, match="NaN"):
        save_wav(tmp_path / "bad.wav", np.array([0.0, np.nan]), 8000)


def test_missing_file_error(tmp_path):
    with pytest.raises(AudioFileError, match="nope.wav: no such file"):
        load_wav(tmp_path / "nope.wav")


def test_as_numpy_shapes():
    assert as_numpy(torch.zeros(1, 1, 5)).shape == (5,)
    with pytest.raises(ValueError, match="one mono clip"):
        as_numpy(torch.zeros(2, 1, 5))


def test_listen_does_not_normalise():
    quiet = 0.01 * np.sin(np.linspace(0, 100, 800))
    a, b = listen(quiet, 8000), listen(10 * quiet, 8000)
    assert a.data != b.data  # a normalising player would make both identical


def test_spectrogram_and_plots():
    x, _, _ = toy_notes(3, length=2048)
    S = spectrogram_db(x[0])
    assert S.shape[0] == 257 and np.isfinite(S).all()
    assert plot_clip(x[0], 8000) is not None
    assert len(plot_clips(x, 8000, titles=["a", "b", "c"], ncols=2).axes) == 4
