"""``enhance``, ``vocode`` and ``train --task`` (chapter 10): converted inputs, 8 kHz outputs, one-line errors.

Checkpoints are quick-trained here (3 steps), so the tests never depend on the shipped speech models.
"""

import numpy as np
import pytest
import soundfile
import torch
from test_cli import one_line_error

from audiodiff_minimal.checkpoint import read_record
from audiodiff_minimal.cli import main
from audiodiff_minimal.models.unet1d import UNET_PRESETS
from audiodiff_minimal.speech import FSDD_DIR, TASKS
from audiodiff_minimal.train import TrainConfig, train_speech

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("one_thread")]
WAV = FSDD_DIR / "4_lucas_1.wav"


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """{"enhance": folder, "vocode": folder}: each task trained for 3 quick steps."""
    root = tmp_path_factory.mktemp("speech")
    run = TrainConfig(batch_size=2, steps=3, lr=3e-3, warmup=1, save_every=3, length=1024, T=50)
    for task, command in (("enhancer", "enhance"), ("vocoder", "vocode")):
        train_speech(task, UNET_PRESETS[f"speech_{task}_quick"], run, FSDD_DIR, root / command, progress=False,
                     device="cpu")  # fmt: skip
    return {"enhance": root / "enhance", "vocode": root / "vocode"}


@pytest.mark.parametrize("command", ["enhance", "vocode"])
def test_any_rate_and_channels_in_8khz_out(command, checkpoints, tmp_path):
    x, sr = soundfile.read(WAV, dtype="float32")
    stereo = np.stack([x, 0.5 * x], 1)  # (L, 2)
    up = np.repeat(stereo, 2, axis=0) * 0.5  # 16 kHz, quieter
    soundfile.write(tmp_path / "in.wav", up, 16000)
    out = tmp_path / "out" / "y.wav"
    code = main([command, str(tmp_path / "in.wav"), "--out", str(out), "--checkpoint", str(checkpoints[command]),
                 "--steps", "2", "--device", "cpu"])  # fmt: skip
    assert code == 0
    y, sr_out = soundfile.read(out, dtype="float32")
    assert sr_out == 8000 and abs(len(y) - len(x)) <= 1  # resampled 16 -> 8 kHz, padded for the U-Net, cut back
    assert np.isfinite(y).all()


def bad_files(tmp_path):
    (tmp_path / "silent.wav").parent.mkdir(exist_ok=True)
    soundfile.write(tmp_path / "silent.wav", np.zeros(8000, dtype="float32"), 8000)
    soundfile.write(tmp_path / "short.wav", 0.5 * np.ones(100, dtype="float32"), 8000)  # 12.5 ms
    nan = np.full(4000, 0.1, dtype="float32")
    nan[10] = np.nan
    soundfile.write(tmp_path / "nan.wav", nan, 8000, subtype="FLOAT")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00WAVEjunk")
    return {"silent.wav": "silent", "short.wav": "too short", "nan.wav": "NaN", "corrupt.wav": "cannot be read"}


@pytest.mark.parametrize("command", ["enhance", "vocode"])
def test_bad_inputs_are_refused_by_name(command, checkpoints, tmp_path, capsys):
    for name, problem in bad_files(tmp_path).items():
        err = one_line_error(capsys, command, tmp_path / name, "--out", tmp_path / "y.wav", "--checkpoint",
                             checkpoints[command], "--device", "cpu", match=problem)  # fmt: skip
        assert name in err
    assert not (tmp_path / "y.wav").exists()
    one_line_error(capsys, command, WAV, "--out", tmp_path, "--checkpoint", checkpoints[command], match="is a folder")
    other = checkpoints["vocode" if command == "enhance" else "enhance"]
    one_line_error(capsys, command, WAV, "--out", tmp_path / "y.wav", "--checkpoint", other, match="not the")
    one_line_error(capsys, command, WAV, "--out", tmp_path / "y.wav", "--checkpoint", checkpoints[command],
                   "--steps", "0", match="--steps 0")  # fmt: skip


def test_train_task_checks_its_data(tmp_path, capsys):
    for task in TASKS:
        one_line_error(capsys, "train", "--task", task, "--config", "quick", "--out", tmp_path / "r", match="--data")
    (tmp_path / "wavs").mkdir()
    soundfile.write(tmp_path / "wavs" / "hello.wav", 0.1 * torch.randn(800).numpy(), 8000)
    one_line_error(capsys, "train", "--task", "vocoder", "--config", "quick", "--data", tmp_path / "wavs",
                   "--out", tmp_path / "r", match="hello.wav")  # fmt: skip
    one_line_error(capsys, "train", "--task", "vocoder", "--config", "quick_cond", "--data", FSDD_DIR,
                   "--out", tmp_path / "r", match="quick, laptop or gpu")  # fmt: skip


def test_train_task_trains_resumes_and_names_the_task_on_a_mismatch(tmp_path, capsys):
    out = tmp_path / "enh"
    base = ["train", "--task", "enhancer", "--config", "quick", "--data", FSDD_DIR, "--device", "cpu", "--out", out]
    assert main([str(a) for a in [*base, "--steps", "1"]]) == 0
    assert main([str(a) for a in [*base, "--steps", "2", "--resume"]]) == 0
    record = read_record(out)
    assert record.step == 2 and record.data == "fsdd-enhancer" and record.model["cond_channels"] == 1
    one_line_error(capsys, "train", "--task", "vocoder", "--config", "quick", "--data", FSDD_DIR, "--out", out,
                   "--steps", "3", "--resume", match="was trained with the model")  # fmt: skip
    one_line_error(capsys, "train", "--config", "quick", "--out", out, "--steps", "3", "--resume",
                   match="was trained with the model")  # fmt: skip
