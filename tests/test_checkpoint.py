"""Checkpoint records, atomic saves under injected crashes, finite checks, and the shipped checkpoints."""

import json
from dataclasses import asdict, replace

import pytest
import torch
from safetensors.torch import load_file, save_file

from audiodiff_minimal import checkpoint
from audiodiff_minimal.checkpoint import (
    CheckpointError,
    Record,
    read_record,
    read_state,
    read_weights,
    save_checkpoint,
)
from audiodiff_minimal.models.unet1d import UNET_PRESETS
from audiodiff_minimal.registry import SHIPPED, load_model

UNET = asdict(UNET_PRESETS["quick"])
TRAIN = {"schedule": "cosine", "T": 1000, "prediction": "v"}


def record(step: int) -> Record:
    return Record("unet", step, 8000, 1024, UNET, TRAIN, "v", {"name": "cosine", "T": 1000})


def payload(step: int) -> dict:
    """Weights, state and log that all carry ``step``, so a mixed folder is easy to spot."""
    g = torch.Generator().manual_seed(step)
    weights = {"model": {"w": torch.randn(3, 4, generator=g)}, "model_raw": {"w": torch.randn(3, 4, generator=g)}}
    return {"weights": weights, "state": {"step": step, "m": torch.randn(5, generator=g)}, "log": {"loss": [step]}}


def save(out, step):
    p = payload(step)
    save_checkpoint(out, record(step), p["weights"], p["state"], p["log"])


def assert_whole(out, step):
    """Every file of the folder belongs to the save of ``step``."""
    r = read_record(out)
    assert r.step == step
    p = payload(step)
    for ema, key in ((True, "model"), (False, "model_raw")):
        assert torch.equal(read_weights(out, r, ema)["w"], p["weights"][key]["w"])
    state = read_state(out)
    assert state["step"] == step and torch.equal(state["m"], p["state"]["m"])
    assert json.loads((out / "loss_log.json").read_text()) == p["log"]


class Crash(Exception):
    pass


def count_points(tmp_path) -> int:
    points = []
    orig = checkpoint._crash_point
    checkpoint._crash_point = points.append
    try:
        save(tmp_path / "count", 1)
        save(tmp_path / "count", 2)
    finally:
        checkpoint._crash_point = orig
    return len(points) // 2


def test_a_crash_after_any_file_operation_leaves_one_whole_checkpoint(tmp_path, monkeypatch):
    n = count_points(tmp_path)
    assert n >= 8  # 5 files written, marked complete, 5 moved, journal removed
    for k in range(n):
        out = tmp_path / f"run{k}"
        save(out, 1)
        calls = []

        def crash_at_k(what, calls=calls, k=k):
            calls.append(what)
            if len(calls) == k + 1:
                raise Crash(what)

        monkeypatch.setattr(checkpoint, "_crash_point", crash_at_k)
        with pytest.raises(Crash):
            save(out, 2)
        monkeypatch.setattr(checkpoint, "_crash_point", lambda what: None)
        # Before the COMPLETE marker the old save survives whole; after it the new one is finished by the reader.
        assert_whole(out, 1 if calls[-1].startswith("wrote") else 2)
        assert not (out / checkpoint.JOURNAL).exists()
        save(out, 3)  # and the run can go on saving
        assert_whole(out, 3)


def test_non_finite_weights_are_refused_on_save_and_on_load(tmp_path):
    p = payload(1)
    p["weights"]["model"]["w"][1, 2] = float("nan")
    with pytest.raises(FloatingPointError, match=r"model.safetensors.*'w'"):
        save_checkpoint(tmp_path, record(1), p["weights"], p["state"], p["log"])
    assert not (tmp_path / "config.json").exists()  # nothing written
    save(tmp_path, 1)
    bad = {"w": torch.full((3, 4), float("inf"))}
    save_file(bad, tmp_path / "model.safetensors", metadata={"step": "1"})
    with pytest.raises(CheckpointError, match=r"model.safetensors.*'w'.*NaN or infinite"):
        read_weights(tmp_path)


def edit(path, **changes):
    info = json.loads((path / "config.json").read_text())
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            info[section][field] = value
        else:
            info[section] = value
    (path / "config.json").write_text(json.dumps(info))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"schedule__T": 5}, r"schedule .* disagrees with the training config"),
        ({"step": "40"}, r"step = '40' must be a non-negative integer"),
        ({"prediction": "score"}, r"prediction = 'score' must be one of"),
        ({"model": [1, 2]}, r"model must be a JSON object"),
        ({"format_version": 7}, r"format_version 7 is not one this code reads"),
        ({"length": 0}, r"length = 0 must be a positive integer"),
    ],
)
def test_edited_config_is_refused_naming_the_file(tmp_path, changes, message):
    save(tmp_path, 1)
    edit(tmp_path, **changes)
    with pytest.raises(CheckpointError, match=f"config.json: {message}"):
        read_record(tmp_path)


def test_a_config_that_does_not_fit_its_weights_is_refused_before_building(tmp_path):
    shipped = SHIPPED["notes_unet_small"]
    for name in ("config.json", "model.safetensors"):
        (tmp_path / name).write_bytes((shipped / name).read_bytes())
    edit(tmp_path, unet__base=1024)  # would be a multi-GB model: refused from the weights' header
    with pytest.raises(CheckpointError, match=r"config.json: the weights do not fit the model config"):
        load_model(tmp_path)
    edit(tmp_path, unet__base="wide")
    with pytest.raises(CheckpointError, match=r"config.json: the model config does not build a UNetConfig"):
        load_model(tmp_path)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_checkpoints_load_bit_identically(name):
    model, r = load_model(name)
    on_disk = load_file(SHIPPED[name] / "model.safetensors")
    state = model.state_dict()
    assert state.keys() == on_disk.keys()
    assert all(torch.equal(state[k], on_disk[k]) for k in state)
    expected_kind = next((k for k in ("wavenet", "classifier") if k in name), "unet")
    assert r.kind == expected_kind
    assert r.step > 0 and r.sr == 8000
    if r.kind == "unet":
        assert r.make_schedule().T == r.train["T"] and r.prediction == r.train["prediction"]


def test_format_1_and_format_2_describe_the_same_run(tmp_path):
    r = read_record(SHIPPED["notes_unet"])
    save_checkpoint(tmp_path, r, {"model": load_file(SHIPPED["notes_unet"] / "model.safetensors")})
    again = read_record(tmp_path)
    assert again == replace(r, format_version=checkpoint.FORMAT_VERSION)
    assert json.loads((tmp_path / "config.json").read_text())["format_version"] == 2


def test_missing_files_name_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such checkpoint folder"):
        read_record(tmp_path / "nowhere")
    save(tmp_path, 1)
    (tmp_path / "optimizer.pt").unlink()
    with pytest.raises(CheckpointError, match="optimizer.pt: no such file; only run folders"):
        read_state(tmp_path)
    (tmp_path / "model_raw.safetensors").unlink()
    with pytest.raises(CheckpointError, match="raw .* weights are missing"):
        read_weights(tmp_path, ema=False)
