"""The `sample` command, generate() and the steps-versus-quality helpers, on a tiny checkpoint trained here.

The command line's refusals of bad input are in tests/test_cli.py.
"""

from dataclasses import replace

import numpy as np
import pytest
import soundfile

from audiodiff_minimal.cli import main
from audiodiff_minimal.data import toy_notes
from audiodiff_minimal.generate import generate, markdown_table, real_rows, steps_vs_quality
from audiodiff_minimal.models.unet1d import UNET_PRESETS
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.train import TRAIN_PRESETS, train_unet


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """The quick U-Net after 4 optimizer steps on short clips: untrained, but a real checkpoint folder."""
    out = tmp_path_factory.mktemp("ckpt") / "tiny"
    config = replace(TRAIN_PRESETS["quick"], steps=4, save_every=4, length=512, batch_size=2)
    train_unet(UNET_PRESETS["quick"], config, "toy", out=out, device="cpu", progress=False)
    return out


def test_sample_command_writes_wavs_and_png(tiny_checkpoint, tmp_path):
    args = ["sample", "--checkpoint", str(tiny_checkpoint), "--steps", "4", "--n", "3", "--device", "cpu"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    wavs = sorted((tmp_path / "a").glob("sample_*.wav"))
    assert len(wavs) == 3 and (tmp_path / "a" / "spectrograms.png").stat().st_size > 1000
    x, sr = soundfile.read(wavs[0])
    assert sr == 8000 and x.shape == (512,) and np.all(np.abs(x) <= 1.0)


def test_cli_is_seeded(tiny_checkpoint, tmp_path):
    """Same seed, same WAVs (through the real command line); another seed, other WAVs."""
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        args = ["sample", "--checkpoint", str(tiny_checkpoint), "--sampler", "ddim", "--steps", "3", "--n", "2"]
        main([*args, "--seed", str(seed), "--out", str(tmp_path / name), "--device", "cpu"])
    read = lambda name: soundfile.read(tmp_path / name / "sample_001.wav")[0]
    assert np.array_equal(read("a"), read("b"))
    assert not np.array_equal(read("a"), read("c"))


def test_steps_vs_quality_rows_and_table(tiny_checkpoint):
    model, record = load_model(tiny_checkpoint)
    reference = toy_notes(8, length=512, seed=5)[0]
    rows = steps_vs_quality(model, record, reference, samplers=("ddim", "dpm"), steps_list=(2, 3), n=4)
    assert [(r["sampler"], r["steps"]) for r in rows] == [("ddim", 2), ("ddim", 3), ("dpm", 2), ("dpm", 3)]
    assert all(0 <= r["pitch_in_tune"] <= 1 and r["frechet_mel"] > 0 for r in rows)
    real, bounds = real_rows(reference, n=8)
    table = markdown_table([*rows, real], bounds)
    assert table.count("\n") == 1 + 5 + 2 and "noise vs real" in table
    x = generate(model, record, "ddpm", 3, n=2, seed=0, progress=False)
    assert x.shape == (2, 1, 512)


def test_sample_asks_a_conditional_checkpoint_for_a_note(tmp_path):
    """--pitch/--timbre/--scale reach a class-conditional checkpoint; an unconditional one refuses them."""
    out = tmp_path / "cond"
    config = replace(TRAIN_PRESETS["quick_cond"], steps=2, save_every=2, length=512, batch_size=2)
    train_unet(UNET_PRESETS["quick_cond"], config, "toy", out=out, device="cpu", progress=False)
    common = ["sample", "--checkpoint", str(out), "--sampler", "ddim", "--steps", "2", "--n", "2", "--device", "cpu"]
    assert main([*common, "--pitch", "A4", "--timbre", "sine", "--scale", "3", "--out", str(tmp_path / "a")]) == 0
    assert main([*common, "--pitch", "A4", "--timbre", "sine", "--scale", "1", "--out", str(tmp_path / "b")]) == 0
    a, b = (soundfile.read(tmp_path / name / "sample_000.wav")[0] for name in ("a", "b"))
    assert a.shape == (512,) and not np.array_equal(a, b)  # the guidance scale changes the sample


def test_melody_layout_clicks_and_pitch():
    """concatenate_notes keeps a consistent overlap seamless; join_click_db hears a cut sine, not a continuous one;
    note_pitch_correct names each note of a tune of toy notes."""
    import torch

    from audiodiff_minimal.data import toy_note
    from audiodiff_minimal.generate import concatenate_notes, join_click_db, join_drop_db, note_pitch_correct

    L, K, N, sr = 1024, 256, 4, 8000
    H = L - K
    t = torch.arange(N * H + K, dtype=torch.float64) / sr
    floor = 1e-3 * torch.randn(t.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    tone = 0.5 * torch.sin(2 * torch.pi * 440 * t) + floor  # one continuous sine, cut into overlapping clips
    clips = torch.stack([tone[i * H : i * H + L] for i in range(N)]).reshape(N, 1, 1, L)
    assert torch.equal(concatenate_notes(clips, K)[0, 0], tone)
    cut = clips.clone()
    for i in range(1, N):  # each note restarts the sine at the join with a jump of about 0.5
        start = torch.asin(clips[i - 1, 0, 0, H - 1] / 0.5) + torch.pi / 3
        cut[i, ..., :H] = 0.5 * torch.sin(2 * torch.pi * 440 * t[:H] + start) + floor[:H]
    smooth = join_click_db(concatenate_notes(clips, K), N, K, L, sr)
    clicky = join_click_db(concatenate_notes(cut, K), N, K, L, sr)
    assert smooth.shape == (1, N - 1) and np.abs(smooth).max() < 6, smooth
    assert clicky.min() > 10, clicky
    assert join_drop_db(concatenate_notes(clips, K), N, K, L).max() < 1  # a continuous sine never falls
    silent = clips.clone()
    silent[1:, ..., :160] = floor[:160]  # each next note starts with 20 ms of silence: the sine is cut off
    drop = join_drop_db(concatenate_notes(silent, K), N, K, L)
    assert drop.min() > 40, drop  # 0.5 sine (power 0.125) to a 1e-3 floor: 51 dB
    notes = [0, 4, 7, 5]  # C4 G4 C5 A4
    g = torch.Generator().manual_seed(0)
    tune = torch.stack([toy_note(p, 0, 4096, sr, g) for p in notes]).unsqueeze(1)  # (N, 1, 1, 4096)
    correct, f0 = note_pitch_correct(concatenate_notes(tune, 512), notes, N, 512, 4096, sr)
    assert correct.all(), correct
    wrong, _ = note_pitch_correct(concatenate_notes(tune, 512), [0, 4, 7, 4], N, 512, 4096, sr)
    assert wrong.tolist() == [[True, True, True, False]]
    sharp = 440 * 2 ** (70 / 1200)  # A4 70 cents sharp: nearest scale note A4, but out of tune
    tune[3, 0, 0] = 0.5 * torch.sin(2 * torch.pi * sharp * torch.arange(4096) / sr)
    detuned, _ = note_pitch_correct(concatenate_notes(tune, 512), notes, N, 512, 4096, sr)
    assert detuned.tolist() == [[True, True, True, False]]


def test_melody_continues_each_note_from_the_previous_tail(tmp_path):
    """Each note of generate.melody starts with the last `overlap` samples of the note before it (Eq. 6 of ch. 06)."""
    from audiodiff_minimal.generate import melody

    out = tmp_path / "cond"
    config = replace(TRAIN_PRESETS["quick_cond"], steps=2, save_every=2, length=512, batch_size=2)
    train_unet(UNET_PRESETS["quick_cond"], config, "toy", out=out, device="cpu", progress=False)
    model, record = load_model(out, device="cpu")
    clips = melody(model, record, [0, 16, 20], scale=2.0, overlap=64, sampler="ddpm", steps=3, n=2)
    assert clips.shape == (3, 2, 1, 512)
    for i in (1, 2):
        assert np.array_equal(clips[i, ..., :64].numpy(), clips[i - 1, ..., -64:].numpy())
        assert not np.array_equal(clips[i, ..., 64:128].numpy(), clips[i - 1, ..., -64:].numpy())
