"""Audio helpers: WAV round trip, the checks on what the model will see, the player, the plots."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile  # noqa: E402
import torch  # noqa: E402

from audiodiff_minimal.audio import (  # noqa: E402
    MIN_SECONDS,
    SILENCE_PEAK,
    AudioFileError,
    as_numpy,
    listen,
    load_wav,
    plot_clip,
    plot_clips,
    plot_spectrogram,
    save_wav,
    spectrogram_db,
)
from audiodiff_minimal.data import SCALE_MIDI, TIMBRE_NAMES, midi_to_hz, toy_note, toy_notes  # noqa: E402
from audiodiff_minimal.forward import q_sample  # noqa: E402
from audiodiff_minimal.schedules import make_schedule  # noqa: E402

LSB = 2**-15  # one step of 16-bit audio


def test_wav_round_trip(tmp_path):
    x, _, _ = toy_notes(1, length=2000)
    path = save_wav(tmp_path / "sub" / "note.wav", x[0], 8000)
    y, sr = load_wav(path)
    assert sr == 8000 and y.shape == (2000,)
    # rounded to the nearest 16-bit step: at most half a step off (libsndfile's own conversion truncates: a full step)
    assert np.abs(y - x[0, 0].numpy()).max() <= 0.5 / 2**15 + 1e-9
    y16, sr16 = load_wav(path, sr=16000)
    assert sr16 == 16000 and abs(len(y16) - 4000) <= 1


def test_save_clips_and_refuses_nan(tmp_path):
    save_wav(tmp_path / "loud.wav", torch.tensor([2.0, -3.0, 0.5] * 200), 8000)
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
    fig = plot_clips(x, 8000, titles=["a", "b", "c"], ncols=2)
    assert len(fig.axes) == 4 + 1  # 2 x 2 panels and one colour bar for them all
    assert [ax.get_ylabel() for ax in fig.axes[:3]] == ["frequency (Hz)", "", "frequency (Hz)"]  # outer panels
    assert fig.axes[-1].get_ylabel() == "dB re full-scale sine"
    assert len(plot_clips(x, 8000, kind="waveform").axes) == 4  # waveforms need no colour bar


# --------------------------------------------------------------------------- what the model will see


def dither(n: int, seed: int) -> np.ndarray:
    """16-bit digital silence with +-1 LSB of dither, as int16."""
    return np.random.default_rng(seed).integers(-1, 2, n).astype(np.int16)


def test_near_silent_files_are_refused_by_name(tmp_path):
    soundfile.write(tmp_path / "dither.wav", dither(8000, 0), 8000)  # peak 1 LSB
    tone = (0.5 * np.sin(np.arange(8000) / 3) * 2**15).astype(np.int16)
    # L = -R up to independent dither: the mono mix is a half-LSB hiss (peak 1.5e-5)
    stereo = np.stack([tone + dither(8000, 1), -tone + dither(8000, 2)], axis=1)
    soundfile.write(tmp_path / "antiphase.wav", stereo, 8000)
    soundfile.write(tmp_path / "faint.wav", np.full(800, 1e-7, np.float32), 8000, subtype="FLOAT")
    for name in ("dither.wav", "antiphase.wav", "faint.wav"):
        with pytest.raises(AudioFileError, match="near-silent") as err:
            load_wav(tmp_path / name)
        assert str(tmp_path / name) in str(err.value) and "every sample is zero" not in str(err.value)
        assert "\n" not in str(err.value)  # one line
    with pytest.raises(AudioFileError, match=r"near-silent: peak 1e-07 is below the floor 0.00012"):
        load_wav(tmp_path / "faint.wav")
    with pytest.raises(AudioFileError, match="mixing 2 channels to mono"):
        load_wav(tmp_path / "antiphase.wav")
    soundfile.write(tmp_path / "zero.wav", np.zeros(800, np.int16), 8000)
    with pytest.raises(AudioFileError, match="silent: every sample is zero"):
        load_wav(tmp_path / "zero.wav")


def test_quiet_but_real_audio_is_kept(tmp_path):
    """The floor is a few 16-bit steps, not more: a tone peaking at 10 steps (-70 dBFS) is audio."""
    assert 2 * LSB <= SILENCE_PEAK <= 8 * LSB
    quiet = np.round(10 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)).astype(np.int16)
    soundfile.write(tmp_path / "quiet.wav", quiet, 8000)
    y, _ = load_wav(tmp_path / "quiet.wav")
    assert np.abs(y).max() == pytest.approx(10 * LSB)


def test_silence_is_judged_after_resampling(tmp_path):
    """A 6 kHz tone at 48 kHz is above 8 kHz audio's Nyquist frequency: nothing of it reaches the model."""
    tone = 0.5 * np.sin(2 * np.pi * 6000 * np.arange(48000) / 48000) * np.hanning(48000)  # faded in and out
    soundfile.write(tmp_path / "ultrasonic.wav", tone, 48000, subtype="FLOAT")
    assert load_wav(tmp_path / "ultrasonic.wav")[0].max() > 0.4  # fine at its own rate
    with pytest.raises(AudioFileError, match=r"ultrasonic.wav: near-silent after resampling 48000 -> 8000 Hz"):
        load_wav(tmp_path / "ultrasonic.wav", sr=8000)


def test_too_short_after_conversion(tmp_path):
    soundfile.write(tmp_path / "blip.wav", np.array([0.5, -0.5]), 48000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match=r"blip.wav: too short: 1 sample\(s\) at 8000 Hz") as err:
        load_wav(tmp_path / "blip.wav", sr=8000)
    assert f"{MIN_SECONDS} s" in str(err.value)
    n_min = int(np.ceil(MIN_SECONDS * 8000))
    soundfile.write(tmp_path / "ok.wav", np.sin(np.arange(n_min)), 8000, subtype="FLOAT")
    assert len(load_wav(tmp_path / "ok.wav")[0]) == n_min  # exactly the minimum is enough
    soundfile.write(tmp_path / "short.wav", np.sin(np.arange(n_min - 1)), 8000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="too short"):
        load_wav(tmp_path / "short.wav")


def test_truncated_wav_is_reported(tmp_path):
    path = save_wav(tmp_path / "cut.wav", 0.5 * np.sin(np.arange(8000) / 5), 8000)
    path.write_bytes(path.read_bytes()[:8044])  # header (44 bytes) says 8000 frames; 4000 are left
    with pytest.raises(
        AudioFileError, match=r"cut.wav: truncated: its header promises 8000 samples, the file holds 4000 "
    ):
        load_wav(path)


def test_broken_link_is_named(tmp_path):
    (tmp_path / "gone.wav").symlink_to(tmp_path / "elsewhere.wav")
    with pytest.raises(AudioFileError, match="gone.wav: a symbolic link to a missing file"):
        load_wav(tmp_path / "gone.wav")


# --------------------------------------------------------------------------- spectrograms


def test_spectrogram_db_is_relative_to_a_full_scale_sine():
    f = 32 * 8000 / 512  # the centre of bin 32
    x = np.sin(2 * np.pi * f * np.arange(8192) / 8000)
    assert spectrogram_db(x)[32, 8:-8].mean() == pytest.approx(0.0, abs=0.05)  # 0 dBFS
    assert spectrogram_db(0.5 * x)[32, 8:-8].mean() == pytest.approx(-6.02, abs=0.05)


def plotted(x, sr=8000):
    """The values a spectrogram plot draws, its colour limits, and its Axes."""
    ax = plot_spectrogram(x, sr)
    artist = [*ax.images, *ax.collections][0]
    vmin, vmax = artist.get_clim()
    return np.asarray(artist.get_array()), vmin, vmax, ax


@pytest.mark.parametrize("t", [300, 900, 1000])
def test_spectrogram_of_a_noisy_clip_is_not_saturated(t):
    x0 = toy_notes(1, length=8192)[0]
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(t))
    x_t = q_sample(x0, torch.tensor([t]), eps, make_schedule("cosine", 1000))
    S, vmin, vmax, _ = plotted(x_t[0])
    at_limits = np.mean((S <= vmin) | (S >= vmax))
    assert at_limits < 0.05, f"{at_limits:.0%} of the pixels at the colour limits"


def test_spectrogram_of_a_clean_note_shows_its_harmonics():
    pitch, f0 = 5, float(midi_to_hz(SCALE_MIDI[5]))  # A4, 440 Hz
    x = toy_note(pitch, TIMBRE_NAMES.index("string"), 8192, 8000)[0]
    S, vmin, vmax, ax = plotted(x)
    frame = np.argmax(S.sum(axis=0))  # the loudest moment
    bin_hz = 8000 / 512
    harmonics = S[[round(k * f0 / bin_hz) for k in range(1, 9)], frame]
    between = S[[round((k + 0.5) * f0 / bin_hz) for k in range(1, 8)], frame]
    assert np.all(harmonics > vmin + 30) and np.all(harmonics < vmax)  # visible lines, none clipped
    assert harmonics[0] > vmax - 15  # the fundamental is bright: the range is not wider than the audio needs
    assert np.all(between < harmonics[:-1] - 20)  # dark between them
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "frequency (Hz)"
    assert "dB" in ax.figure.axes[-1].get_ylabel()  # the colour bar says what a colour means
