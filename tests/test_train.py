"""Training loop and checkpoints: loss falls, exact resume, atomic saves, clear errors (chapter 04)."""

import copy
import json
import math
from dataclasses import replace

import pytest
import torch

from audiodiff_minimal import checkpoint
from audiodiff_minimal import train as train_module
from audiodiff_minimal.checkpoint import CheckpointError, read_record, read_state
from audiodiff_minimal.cli import main
from audiodiff_minimal.data import toy_notes
from audiodiff_minimal.models.unet1d import UNet1D, UNetConfig
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.schedules import make_schedule
from audiodiff_minimal.train import (
    TRAIN_PRESETS,
    Stop,
    TrainConfig,
    TrainState,
    ema_decay_at,
    ema_update,
    lr_at,
    mean_loss,
    train,
    train_unet,
)

TINY = UNetConfig(base=8, mults=(1, 2), down=(4,), groups=4, t_dim=16, heads=2)
RUN = replace(TRAIN_PRESETS["quick"], steps=6, batch_size=2, length=256, save_every=2, warmup=2)


pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_quick_loop_reduces_loss():
    config = replace(RUN, steps=60, batch_size=4, lr=3e-3, warmup=5)
    result = train_unet(TINY, config, progress=False)
    assert len(result.losses) == 60 and result.step == 60
    x0, _, _ = toy_notes(16, length=config.length, seed=123)  # held-out notes
    schedule = make_schedule(config.schedule, config.T)
    before = mean_loss(UNet1D(TINY), x0, schedule, config.prediction)  # the untrained net predicts 0
    after = mean_loss(result.model, x0, schedule, config.prediction)
    assert after < 0.7 * before, (before, after)


def test_lr_schedule_and_ema_formula():
    config = TrainConfig(lr=1.0, warmup=10, steps=110, min_lr_frac=0.1)
    assert lr_at(5, config) == pytest.approx(0.5) and lr_at(10, config) == pytest.approx(1.0)
    assert lr_at(60, config) == pytest.approx(0.1 + 0.9 * 0.5)  # half-way through the cosine
    assert lr_at(110, config) == pytest.approx(0.1)
    assert ema_decay_at(0, 0.999) == pytest.approx(0.1) and ema_decay_at(10**6, 0.999) == 0.999
    ema, model = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    expected = [0.9 * pe + 0.1 * p for pe, p in zip(ema.parameters(), model.parameters(), strict=True)]
    ema_update(ema, model, 0.9)
    assert all(torch.allclose(a, b) for a, b in zip(ema.parameters(), expected, strict=True))


def test_resume_equals_uninterrupted(tmp_path):
    whole = train_unet(TINY, RUN, out=tmp_path / "a", progress=False)
    train_unet(TINY, RUN, out=tmp_path / "b", until=3, progress=False)  # "crash" after step 3 (saved at 2 and 3)
    resumed = train_unet(TINY, RUN, out=tmp_path / "b", resume=True, progress=False)
    assert same_weights(whole.model, resumed.model) and same_weights(whole.ema_model, resumed.ema_model)
    assert whole.losses == resumed.losses
    log = json.loads((tmp_path / "b" / "loss_log.json").read_text())
    assert log["loss"] == resumed.losses and log["step"] == list(range(1, 7))


def test_load_model_api(tmp_path):
    result = train_unet(TINY, RUN, out=tmp_path, progress=False)
    model, record = load_model(tmp_path)
    assert not model.training and record.make_schedule().T == RUN.T and record.step == 6
    assert (record.kind, record.prediction, record.sr, record.length) == ("unet", RUN.prediction, RUN.sr, RUN.length)
    assert UNetConfig(**record.model) == TINY and record.train["steps"] == 6
    assert same_weights(model, result.ema_model)
    raw, _ = load_model(tmp_path, ema=False)
    assert same_weights(raw, result.model)


def test_refuses_to_overwrite_a_run(tmp_path):
    train_unet(TINY, replace(RUN, steps=2), out=tmp_path, progress=False)
    with pytest.raises(FileExistsError, match="resume"):
        train_unet(TINY, replace(RUN, steps=2), out=tmp_path, progress=False)


def test_atomic_save_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    train_unet(TINY, replace(RUN, steps=2), out=tmp_path, progress=False)
    before = (tmp_path / "model.safetensors").read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(checkpoint, "save_file", crash)
    with pytest.raises(OSError, match="simulated"):
        train_unet(TINY, replace(RUN, steps=4), out=tmp_path, resume=True, progress=False)
    monkeypatch.undo()
    assert (tmp_path / "model.safetensors").read_bytes() == before
    assert read_record(tmp_path).step == 2 and load_model(tmp_path)[0] is not None
    resumed = train_unet(TINY, replace(RUN, steps=4), out=tmp_path, resume=True, progress=False)  # and it resumes
    assert resumed.step == 4


def test_mismatched_config_names_both(tmp_path):
    train_unet(TINY, replace(RUN, steps=2), out=tmp_path, progress=False)
    other = replace(TINY, base=16)
    with pytest.raises(ValueError, match=r"base=8.*base=16"):
        train_unet(other, replace(RUN, steps=4), out=tmp_path, resume=True, progress=False)


def test_corrupt_files_name_the_file(tmp_path):
    train_unet(TINY, replace(RUN, steps=2), out=tmp_path, progress=False)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated
    with pytest.raises(CheckpointError, match="model.safetensors.*truncated or corrupt"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text('{"step": 2, "unet": ')  # cut-off JSON
    with pytest.raises(CheckpointError, match="config.json: not valid JSON"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="config.json: missing keys"):
        load_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="checkpoint folder"):
        load_model(tmp_path / "nowhere")


def test_nan_batch_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    train_unet(TINY, replace(RUN, steps=2), out=tmp_path, progress=False)
    good = (tmp_path / "model_raw.safetensors").read_bytes()
    real_source = train_module.batch_source

    def poisoned_source(*args, **kwargs):
        draw = real_source(*args, **kwargs)
        return lambda B: draw(B) * float("nan")

    monkeypatch.setattr(train_module, "batch_source", poisoned_source)
    with pytest.raises(FloatingPointError, match=r"loss is nan at step 3 .*last good checkpoint"):
        train_unet(TINY, replace(RUN, steps=6), out=tmp_path, resume=True, progress=False)
    assert (tmp_path / "model_raw.safetensors").read_bytes() == good
    assert read_record(tmp_path).step == 2
    assert all(math.isfinite(v) for v in json.loads((tmp_path / "loss_log.json").read_text())["loss"])


def test_exploding_lr_stops_with_clear_message(tmp_path):
    with pytest.raises(FloatingPointError, match=r"(loss is (nan|inf)|weights not finite).*lower the learning"):
        train_unet(TINY, replace(RUN, steps=6, lr=1e30, warmup=0, save_every=1), out=tmp_path, progress=False)
    assert 1 <= read_record(tmp_path).step < 6  # the last checkpoint with finite weights survives
    load_model(tmp_path)


def test_cli_train_runs(tmp_path, capsys):
    main(["train", "--config", "quick", "--steps", "2", "--data", "toy", "--out", str(tmp_path / "cli")])
    assert "step 2" in capsys.readouterr().out
    record = read_record(tmp_path / "cli")
    assert record.step == 2 and record.train["steps"] == 2
    main(["train", "--config", "quick", "--steps", "3", "--out", str(tmp_path / "cli"), "--resume"])
    assert read_record(tmp_path / "cli").step == 3


def test_trains_on_a_folder_of_wavs(tmp_path):
    from audiodiff_minimal.audio import save_wav
    from audiodiff_minimal.data import toy_notes

    clips, _, _ = toy_notes(3, length=600, seed=5)
    for i, clip in enumerate(clips):
        save_wav(tmp_path / "wavs" / f"note{i}.wav", clip, 8000)
    result = train_unet(TINY, replace(RUN, steps=3), data=tmp_path / "wavs", out=tmp_path / "run", progress=False)
    assert result.step == 3 and all(math.isfinite(v) for v in result.losses)
    assert read_record(tmp_path / "run").data == str(tmp_path / "wavs")


# Class-conditional training with label dropout (chapter 06)
COND = replace(TINY, num_classes=32)
COND_RUN = replace(RUN, cond_dropout=0.3)


def test_conditional_resume_equals_uninterrupted(tmp_path):
    whole = train_unet(COND, COND_RUN, out=tmp_path / "a", progress=False)
    train_unet(COND, COND_RUN, out=tmp_path / "b", until=3, progress=False)
    resumed = train_unet(COND, COND_RUN, out=tmp_path / "b", resume=True, progress=False)
    assert same_weights(whole.model, resumed.model) and same_weights(whole.ema_model, resumed.ema_model)
    assert whole.losses == resumed.losses
    assert "label" in read_state(tmp_path / "b")["rng"]  # the dropout coins resume too
    model, record = load_model(tmp_path / "b")
    assert record.model["num_classes"] == 32 and record.train["cond_dropout"] == 0.3
    assert same_weights(model, whole.ema_model)


def test_label_dropout_rate_and_labels_match_the_notes(monkeypatch):
    seen = []

    class Spy(UNet1D):
        def forward(self, x_t, t, labels=None):
            seen.append(labels.clone())
            return super().forward(x_t, t, labels)

    monkeypatch.setattr(train_module, "UNet1D", Spy)
    train_unet(COND, replace(RUN, steps=40, batch_size=16, length=64, cond_dropout=0.25), progress=False)
    labels = torch.cat(seen)  # 640 labels
    rate = (labels == COND.null_label).float().mean().item()
    assert abs(rate - 0.25) < 4 * (0.25 * 0.75 / labels.numel()) ** 0.5  # 4 binomial standard deviations
    seen.clear()
    train_unet(COND, replace(RUN, steps=2, batch_size=8, length=64), progress=False)  # cond_dropout 0: the true labels
    g = torch.Generator().manual_seed(RUN.seed)  # batch_source draws pitch, then timbre, from the data generator
    pitch, timbre = torch.randint(8, (8,), generator=g), torch.randint(4, (8,), generator=g)
    assert torch.equal(seen[0], pitch * 4 + timbre)


def test_quick_conditional_run_reduces_the_conditional_loss():
    config = replace(RUN, steps=60, batch_size=4, lr=3e-3, warmup=5, cond_dropout=0.1)
    result = train_unet(COND, config, progress=False)
    x0, pitch, timbre = toy_notes(16, length=config.length, seed=123)  # held-out notes
    labels = pitch * 4 + timbre
    schedule = make_schedule(config.schedule, config.T)
    before = mean_loss(UNet1D(COND), x0, schedule, config.prediction, labels=labels)
    after = mean_loss(result.model, x0, schedule, config.prediction, labels=labels)
    assert after < 0.7 * before, (before, after)


def test_conditional_config_errors_and_presets(tmp_path):
    with pytest.raises(ValueError, match="cond_dropout=0.1 needs a class-conditional"):
        train_unet(TINY, replace(RUN, cond_dropout=0.1), progress=False)
    with pytest.raises(ValueError, match="probability"):
        TrainConfig(cond_dropout=1.5)
    with pytest.raises(ValueError, match="num_classes=32"):
        train_unet(replace(TINY, num_classes=4), RUN, progress=False)
    with pytest.raises(ValueError, match="has none; use data='toy'"):
        train_unet(COND, RUN, data=tmp_path, progress=False)
    for name in ("quick", "laptop", "gpu"):  # the old presets are unchanged; each has a conditional twin
        assert TRAIN_PRESETS[name].cond_dropout == 0.0
        assert TRAIN_PRESETS[f"{name}_cond"] == replace(TRAIN_PRESETS[name], cond_dropout=0.1)


def spy_lrs(monkeypatch):
    """Record the learning rate of every optimizer step the loop takes."""
    seen, real = [], train_module.optimizer_step

    def spy(model, loss, state, lr, *args):
        seen.append(lr)
        return real(model, loss, state, lr, *args)

    monkeypatch.setattr(train_module, "optimizer_step", spy)
    return seen


def test_loop_uses_lr_at_for_every_step(monkeypatch):
    seen = spy_lrs(monkeypatch)
    config = replace(RUN, steps=7, warmup=3, lr=0.5)
    train_unet(TINY, config, progress=False)
    assert seen == pytest.approx([lr_at(k, config) for k in range(1, 8)])  # 1-based: step 1 gets lr / warmup
    assert seen[2] == pytest.approx(0.5) and seen[-1] == pytest.approx(0.5 * config.min_lr_frac)


def quadratic_run(stop, monkeypatch=None, clock=None, **kwargs):
    """A 2-parameter model with loss ||w - 1||^2 trained by the one loop."""
    model = torch.nn.Linear(2, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    loss = lambda net, batch: ((net.weight - batch) ** 2).sum()
    if clock is not None:  # every process_time() call advances 0.5 CPU s: one step costs exactly 0.5 s
        ticks = iter(0.5 * i for i in range(10**6))
        monkeypatch.setattr(train_module.time, "process_time", lambda: next(ticks))
    state = train(model, loss, lambda: torch.ones(1, 2), stop, progress=False, **kwargs)
    return model, state


def test_cpu_time_stop_rule_and_its_lr(monkeypatch):
    seen = spy_lrs(monkeypatch)
    _, state = quadratic_run(Stop(cpu_s=3.0), monkeypatch, clock=True, lr=0.1, warmup=2, min_lr_frac=0.2)
    assert state.step == 6 and state.cpu_time_s == pytest.approx(3.0)  # 6 steps of 0.5 CPU s
    expected = [0.05, 0.1] + [0.1 * train_module.cosine_decay(0.5 * k / 3.0, 0.2) for k in range(2, 6)]
    assert seen == pytest.approx(expected)  # the cosine follows the CPU time used before each step
    with pytest.raises(ValueError, match="not both"):
        Stop(steps=3, cpu_s=1.0)


def test_train_state_saves_and_loads_as_a_whole(tmp_path):
    model, state = quadratic_run(Stop(steps=3), ema_decay=0.5)
    assert state.ema is None  # the default state has no EMA
    model = torch.nn.Linear(2, 1)
    g = torch.Generator().manual_seed(5)
    state = TrainState(torch.optim.AdamW(model.parameters()), copy.deepcopy(model), {"data": g}, 4, [1.0], 2.0, 3.0)
    model.weight.grad = torch.ones_like(model.weight)
    state.optimizer.step()
    torch.save(state.state_dict(), tmp_path / "state.pt")
    expected_draw = torch.randn(3, generator=g)
    g2, model2 = torch.Generator(), torch.nn.Linear(2, 1)
    fresh = TrainState(torch.optim.AdamW(model2.parameters()), copy.deepcopy(model2), {"data": g2})
    fresh.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    assert (fresh.step, fresh.losses, fresh.wall_time_s, fresh.cpu_time_s) == (4, [1.0], 2.0, 3.0)
    assert torch.equal(torch.randn(3, generator=g2), expected_draw)
    assert same_weights(fresh.ema, state.ema)
    assert torch.equal(
        fresh.optimizer.state_dict()["state"][0]["exp_avg"], state.optimizer.state_dict()["state"][0]["exp_avg"]
    )
    bad = state.state_dict()
    bad["ema"]["bias"] = torch.tensor([float("nan")])
    with pytest.raises(FloatingPointError, match="ema.bias"):
        fresh.load_state_dict(bad, "optimizer.pt")


def test_nan_ema_weights_are_refused_on_resume_and_never_saved(tmp_path, monkeypatch):
    from safetensors.torch import load_file, save_file

    train_unet(TINY, replace(RUN, steps=2), out=tmp_path / "a", progress=False)
    ema = load_file(tmp_path / "a" / "model.safetensors")
    name = next(iter(ema))
    ema[name] = torch.full_like(ema[name], float("nan"))
    save_file(ema, tmp_path / "a" / "model.safetensors", metadata={"step": "2"})
    with pytest.raises(CheckpointError, match=f"{name}.*NaN"):
        train_unet(TINY, replace(RUN, steps=4), out=tmp_path / "a", resume=True, progress=False)

    def poisoned(ema_model, model, decay):  # the EMA goes NaN after step 3
        ema_update(ema_model, model, float("nan") if ema_model is not None and step[0] >= 2 else decay)
        step[0] += 1

    step = [0]
    monkeypatch.setattr(train_module, "ema_update", poisoned)
    with pytest.raises(FloatingPointError, match=r"weights not finite.*'ema\..*last good checkpoint, step 2"):
        train_unet(TINY, replace(RUN, steps=4), out=tmp_path / "b", progress=False)
    assert read_record(tmp_path / "b").step == 2


def test_nan_stop_message_says_what_is_on_disk(tmp_path, monkeypatch):
    real_source = train_module.batch_source
    monkeypatch.setattr(train_module, "batch_source", lambda *a, **k: lambda B: real_source(*a, **k)(B) * float("nan"))
    with pytest.raises(FloatingPointError, match="loss is nan at step 1 .*nothing was saved"):
        train_unet(TINY, RUN, progress=False)
    with pytest.raises(FloatingPointError, match=f"no checkpoint was written to {tmp_path}"):
        train_unet(TINY, RUN, out=tmp_path, progress=False)
    assert not (tmp_path / "config.json").exists()


def test_resume_refuses_other_data(tmp_path):
    train_unet(TINY, replace(RUN, steps=2), out=tmp_path, progress=False)
    with pytest.raises(ValueError, match="trained on data=toy, not elsewhere"):
        train_unet(TINY, replace(RUN, steps=4), data="elsewhere", out=tmp_path, resume=True, progress=False)


def test_state_file_holds_the_whole_state(tmp_path):
    train_unet(TINY, replace(RUN, steps=2), out=tmp_path, progress=False)
    state = checkpoint.read_state(tmp_path)
    assert {"optimizer", "ema", "rng", "step", "losses", "wall_time_s", "cpu_time_s"} <= set(state)
    assert set(state["rng"]) >= {"data", "noise", "label", "torch"} and state["step"] == 2
    assert all(torch.equal(state["ema"][k], v) for k, v in checkpoint.read_weights(tmp_path).items())
