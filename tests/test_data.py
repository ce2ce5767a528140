"""Built-in toy audio and the WAV-folder dataset, with its errors for bad files."""

import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from audiodiff_minimal.audio import AudioFileError
from audiodiff_minimal.data import SCALE_MIDI, ARProcess, WavFolder, midi_to_hz, toy_note, toy_notes


def test_toy_notes_deterministic_and_in_range():
    x1, p1, c1 = toy_notes(16, length=1024, seed=3)
    x2, p2, c2 = toy_notes(16, length=1024, seed=3)
    x3, _, _ = toy_notes(16, length=1024, seed=4)
    assert x1.shape == (16, 1, 1024) and x1.dtype == torch.float32
    assert torch.equal(x1, x2) and torch.equal(p1, p2) and torch.equal(c1, c2)
    assert not torch.equal(x1, x3)
    assert x1.abs().max() <= 0.9 + 1e-6
    assert set(p1.tolist()) <= set(range(8)) and set(c1.tolist()) <= set(range(4))


@pytest.mark.parametrize("pitch", range(8))
def test_toy_note_has_its_pitch(pitch):
    """The strongest spectral peak of a 'sine' note sits at the scale note's frequency."""
    sr, length = 8000, 8000
    x = toy_note(pitch, 0, length, sr, torch.Generator().manual_seed(pitch))[0].numpy()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(length)))
    f_peak = np.argmax(spectrum) * sr / length
    assert abs(f_peak - midi_to_hz(SCALE_MIDI[pitch])) <= 1.0  # 1 Hz bins


def test_ar_process_closed_forms():
    ar = ARProcess(freq=500.0, radius=0.9, std=0.3)
    L = 64
    x = ar.sample(20_000, L, seed=0)[:, 0].double()  # (N, L)
    emp_cov = x.T @ x / len(x)
    cov = ar.covariance(L)
    assert cov[0, 0] == pytest.approx(0.09)
    assert (emp_cov - cov).abs().max() < 0.004  # ~5 standard errors of a covariance estimate
    # Wiener-Khinchin: (1 / 2 pi) int S(w) dw = gamma(0), i.e. the mean of S over [-sr/2, sr/2)
    freqs = np.linspace(-ar.sr / 2, ar.sr / 2, 200_000, endpoint=False)
    assert ar.power_spectrum(freqs).mean() == pytest.approx(ar.std**2, rel=1e-4)
    # the averaged periodogram approaches S(f)
    xl = ar.sample(400, 1024, seed=1)[:, 0].double().numpy()
    periodogram = (np.abs(np.fft.rfft(xl, axis=-1)) ** 2 / 1024).mean(0)
    f = np.fft.rfftfreq(1024, 1 / ar.sr)
    band = (f > 100) & (f < 3000)
    assert np.median(np.abs(periodogram[band] / ar.power_spectrum(f[band]) - 1)) < 0.1


def test_ar_coefficients():
    ar = ARProcess(freq=1000.0, radius=0.5, sr=8000)
    a1, a2 = ar.coeffs
    assert a1 == pytest.approx(2 * 0.5 * math.cos(math.pi / 4)) and a2 == pytest.approx(-0.25)


# --------------------------------------------------------------------------- WAV folders


def write(path, x, sr, subtype="PCM_16"):
    soundfile.write(path, x, sr, subtype=subtype)
    return path


def sine(sr, seconds=0.5, f=440.0):
    n = np.arange(int(sr * seconds)) / sr
    return 0.5 * np.sin(2 * np.pi * f * n)


def test_wav_folder_resamples_mixes_and_normalises(tmp_path):
    write(tmp_path / "a.wav", sine(16000), 16000)  # 0.5 s at 16 kHz -> 4000 samples at 8 kHz
    write(tmp_path / "b.wav", np.stack([sine(8000), 0.2 * sine(8000)], axis=1), 8000)  # stereo
    ds = WavFolder(tmp_path, sr=8000, length=4096, random_crop=False)
    assert len(ds) == 2
    a, b = ds[0]["audio"], ds[1]["audio"]
    assert a.shape == b.shape == (1, 4096)
    assert a.abs().max().item() == pytest.approx(0.9, abs=1e-3)
    assert a[0, 4000:].abs().max() == 0  # padded with zeros after 4000 samples
    # the resampled sine still has its pitch
    spec = np.abs(np.fft.rfft(a[0, :4000].numpy()))
    assert abs(np.argmax(spec) * 8000 / 4000 - 440) <= 2
    # every conversion is recorded, naming the file and what was changed
    converted = {path.name: what for path, what in ds.converted}
    assert converted == {
        "a.wav": "sample rate 16000 Hz, not 8000 Hz: converted",
        "b.wav": "2 channels, not mono: converted",
    }


def test_wav_folder_strict_refuses_other_rates_and_stereo(tmp_path):
    write(tmp_path / "ok.wav", sine(8000), 8000)
    assert WavFolder(tmp_path, strict=True).converted == []
    write(tmp_path / "hifi.wav", np.stack([sine(44100)] * 2, axis=1), 44100)
    with pytest.raises(AudioFileError, match=r"hifi.wav: sample rate 44100 Hz, not 8000 Hz and 2 channels, not mono"):
        WavFolder(tmp_path, strict=True)
    ds = WavFolder(tmp_path, strict=True, skip_bad=True)  # strict + skip: train only on files that need nothing
    assert len(ds) == 1 and ds.skipped[0][0].name == "hifi.wav"


def test_wav_folder_crops(tmp_path):
    write(tmp_path / "long.wav", sine(8000, seconds=2.0), 8000)
    torch.manual_seed(0)
    ds = WavFolder(tmp_path, length=1024)
    assert ds[0]["audio"].shape == (1, 1024)


@pytest.mark.parametrize(
    "name, make, problem",
    [
        ("corrupt.wav", lambda p: p.write_bytes(b"RIFF\x00\x00not really a wave file" * 10), "cannot be read"),
        ("empty.wav", lambda p: write(p, np.zeros(0), 8000), "no samples"),
        ("zero_bytes.wav", lambda p: p.write_bytes(b""), "empty file"),
        ("silent.wav", lambda p: write(p, np.zeros(800), 8000), "silent"),
        ("nan.wav", lambda p: write(p, np.array([0.1, np.nan, 0.2] * 100), 8000, "FLOAT"), "NaN or infinite"),
        ("inf.wav", lambda p: write(p, np.array([0.1, np.inf, 0.2] * 100), 8000, "FLOAT"), "NaN or infinite"),
        (
            "dither.wav",
            lambda p: write(p, np.random.default_rng(0).integers(-1, 2, 800).astype(np.int16), 8000),
            "near-silent: peak 3.1e-05",
        ),  # fmt: skip
        ("faint.wav", lambda p: write(p, np.full(800, 1e-7), 8000, "FLOAT"), "near-silent: peak 1e-07"),
        ("blip_48k.wav", lambda p: write(p, np.array([0.5, -0.5]), 48000, "FLOAT"), "too short"),
        ("cut.wav", lambda p: p.write_bytes(write(p, sine(8000), 8000).read_bytes()[:2044]), "truncated"),
    ],
)
def test_bad_files_are_named(tmp_path, name, make, problem):
    write(tmp_path / "good.wav", sine(8000), 8000)
    make(tmp_path / name)
    with pytest.raises(AudioFileError, match=problem) as err:
        WavFolder(tmp_path)
    assert name in str(err.value)
    ds = WavFolder(tmp_path, skip_bad=True)  # one bad file never poisons a run
    assert len(ds) == 1 and ds.skipped[0][0].name == name
    assert ds[0]["audio"].isfinite().all() and ds[0]["audio"].abs().max() <= 0.9 + 1e-6


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(AudioFileError, match="no audio files"):
        WavFolder(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        WavFolder(tmp_path / "nope")


def test_files_and_folders_not_read_are_listed(tmp_path, monkeypatch):
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    (root / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    write(root / "a.wav", sine(8000), 8000)
    write(root / "sub" / "b.wav", sine(8000), 8000)
    write(elsewhere / "c.wav", sine(8000), 8000)
    (root / "linked").symlink_to(elsewhere)  # a symlinked folder is read like any folder
    (root / "sub" / "loop").symlink_to(root)  # ... once: a link back is listed, not followed forever
    (root / "song.mp3").write_bytes(b"ID3 not decoded here")
    (root / "notes.txt").write_text("take 3 was the best")
    (root / "locked").mkdir()
    write(root / "locked" / "d.wav", sine(8000), 8000)
    scandir = os.scandir

    def refusing_scandir(path="."):  # what a folder without read permission does (chmod cannot, for root)
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing_scandir)
    with pytest.raises(AudioFileError, match=r"locked: folder cannot be read \(Permission denied\)"):
        WavFolder(root)
    ds = WavFolder(root, skip_bad=True)
    assert sorted(p.relative_to(root).as_posix() for p in ds.paths) == ["a.wav", "linked/c.wav", "sub/b.wav"]
    assert [(p.name, "cannot be read" in why) for p, why in ds.skipped] == [("locked", True)]
    ignored = {p.name: why for p, why in ds.ignored}
    assert sorted(ignored) == ["loop", "notes.txt", "song.mp3"]
    assert "MP3" in ignored["song.mp3"] and "convert" in ignored["song.mp3"]
    assert "already read" in ignored["loop"]
    assert "ignored 3" in ds.summary() and "skipped 1" in ds.summary()


def test_no_audio_files_says_what_was_there(tmp_path):
    (tmp_path / "a.mp3").write_bytes(b"ID3")
    with pytest.raises(AudioFileError, match=r"no audio files \(.wav, .flac, .ogg\) in this folder; ignored 1: a.mp3"):
        WavFolder(tmp_path)


def test_summary_is_one_line_with_counts_and_duration(tmp_path):
    write(tmp_path / "a.wav", sine(16000, seconds=0.5), 16000)  # converted, shorter than a 0.512 s clip
    write(tmp_path / "b.wav", sine(8000, seconds=1.0), 8000)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "c.mp3").write_bytes(b"ID3")
    line = WavFolder(tmp_path, length=4096, skip_bad=True).summary()
    assert "\n" not in line
    assert line.startswith(f"{tmp_path}: 2 files, 1.5 s at 8000 Hz (1 shorter than a 0.512 s clip: zero-padded)")
    assert "converted 1, skipped 1 bad, ignored 1" in line
    for name in ("a.wav", "empty.wav", "c.mp3"):
        (tmp_path / name).unlink()
    assert (
        WavFolder(tmp_path).summary() == f"{tmp_path}: 1 file, 1.0 s at 8000 Hz; converted 0, skipped 0 bad, ignored 0"
    )
