"""Your own audio (chapter 08): the FSDD helper without network, and training on a WAV folder with bad files."""

import zipfile

import numpy as np
import pytest
import soundfile as sf

from audiodiff_minimal.audio import AudioFileError, save_wav
from audiodiff_minimal.checkpoint import read_record
from audiodiff_minimal.cli import main
from audiodiff_minimal.data import WavFolder
from audiodiff_minimal.fsdd import FSDDUnavailable, digit_of, download_fsdd

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py
SR = 8000


def spoken(seconds: float, f0: float, seed: int) -> np.ndarray:
    """A vowel-like stand-in for a recording: a gliding harmonic tone with an envelope and a little noise."""
    n = np.arange(int(seconds * SR)) / SR
    f = f0 * (1 + 0.2 * n / seconds)
    phase = 2 * np.pi * np.cumsum(f) / SR
    tone = sum(np.sin(k * phase) / k for k in range(1, 6)) * np.sin(np.pi * n / seconds)
    return 0.5 * tone + 0.01 * np.random.default_rng(seed).standard_normal(n.size)


def fake_fsdd_zip(path, n=6):
    """A zip laid out like FSDD's GitHub archive, with a README beside the recordings."""
    folder = path.parent / "src"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("free-spoken-digit-dataset-master/README.md", "not audio")
        for i in range(n):
            wav = save_wav(folder / f"{i % 10}_jackson_{i}.wav", spoken(0.3 + 0.05 * i, 120 + 10 * i, i), SR)
            z.write(wav, f"free-spoken-digit-dataset-master/recordings/{wav.name}")
    return path


def test_download_from_a_local_archive_is_complete_and_idempotent(tmp_path):
    archive = fake_fsdd_zip(tmp_path / "fsdd.zip")
    folder = download_fsdd(tmp_path / "fsdd", url=archive.as_uri())
    assert folder == tmp_path / "fsdd" / "recordings"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{i % 10}_jackson_{i}.wav" for i in range(6))
    assert [digit_of(p) for p in sorted(folder.iterdir())] == sorted(i % 10 for i in range(6))
    archive.unlink()  # a second call must not download again
    assert download_fsdd(tmp_path / "fsdd", url=archive.as_uri()) == folder
    assert len(WavFolder(folder)) == 6  # 8 kHz mono WAVs, shorter than a clip: zero-padded


def test_no_network_gives_offline_advice_and_leaves_nothing(tmp_path):
    with pytest.raises(FSDDUnavailable, match=r"cannot download FSDD(.|\n)*file:///path/to/the.zip"):
        download_fsdd(tmp_path / "fsdd", url="http://127.0.0.1:9/fsdd.zip", timeout=5)  # port 9: refused at once
    assert not (tmp_path / "fsdd" / "recordings").exists()


def test_corrupt_or_foreign_archives_are_refused(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(FSDDUnavailable, match="not a zip archive"):
        download_fsdd(tmp_path / "a", url=bad.as_uri())
    damaged = fake_fsdd_zip(tmp_path / "damaged.zip")  # a valid directory, but a member's bytes are flipped
    raw = bytearray(damaged.read_bytes())
    raw[200:400] = bytes(255 - b for b in raw[200:400])  # inside the first WAV's data
    damaged.write_bytes(bytes(raw))
    with pytest.raises(FSDDUnavailable, match="damaged"):
        download_fsdd(tmp_path / "c", url=damaged.as_uri())
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("something/else.txt", "hello")
    with pytest.raises(FSDDUnavailable, match="no recordings/"):
        download_fsdd(tmp_path / "b", url=other.as_uri())
    assert not any((tmp_path / name / "recordings").exists() for name in "abc")  # nothing half-finished
    with pytest.raises(ValueError, match="not an FSDD file name"):
        digit_of("hello.wav")


def test_train_on_a_folder_with_bad_files(tmp_path, capsys):
    data = tmp_path / "my_audio"
    for i in range(4):
        save_wav(data / f"take_{i}.wav", spoken(0.7, 150 + 20 * i, i), SR)
    sf.write(data / "stereo_44k.wav", np.stack([spoken(0.5, 200, 9)] * 2, 1), 44100)  # resampled and mixed
    (data / "empty.wav").write_bytes(b"")
    (data / "notes.wav").write_text("this is a text file with a .wav name")
    sf.write(data / "nan.wav", np.array([0.1, np.nan, 0.2] * 300), SR, subtype="FLOAT")
    with pytest.raises(AudioFileError) as err:  # strict loading names the first bad file
        WavFolder(data)
    assert err.value.path.name in {"empty.wav", "nan.wav", "notes.wav"} and str(err.value.path) in str(err.value)
    out = tmp_path / "run"
    main(["train", "--config", "quick", "--data", str(data), "--steps", "2", "--out", str(out), "--device", "cpu"])
    printed = capsys.readouterr().out
    assert "my_audio: 5 files" in printed and "skipped 3 bad" in printed  # WavFolder.summary(), before step 1
    assert "converted 1 file(s) to 8000 Hz mono, e.g. stereo_44k.wav: sample rate 44100 Hz" in printed
    for name in ("empty.wav", "notes.wav", "nan.wav"):
        assert name in printed
    lenient = WavFolder(data, skip_bad=True)  # what the trainer loaded: the stereo 44.1 kHz file is kept
    assert sorted(p.name for p, _ in lenient.skipped) == ["empty.wav", "nan.wav", "notes.wav"]
    assert "stereo_44k.wav" in {p.name for p in lenient.paths} and len(lenient) == 5
    record = read_record(out)
    assert record.step == 2 and record.data == str(data)
