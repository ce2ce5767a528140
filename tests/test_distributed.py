"""Data-parallel training (chapter 08): 2 gloo processes under torchrun equal 1 process with the same global batch."""

import json
from dataclasses import replace

import pytest
import torch

from audiodiff_minimal.checkpoint import read_weights
from audiodiff_minimal.distributed import Dist, init_distributed, run_torchrun, shard, torchrun_command
from audiodiff_minimal.models.unet1d import UNET_PRESETS
from audiodiff_minimal.train import TRAIN_PRESETS, train_unet

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py
ATOL = 1e-5  # float32 rounding: DDP sums the two half-batch gradients in another order (measured: 1e-7 after 4 steps)


def cli_args(out, steps, resume=False):
    return ["--config", "quick", "--data", "toy", "--device", "cpu", "--steps", str(steps), "--out", str(out)] + (
        ["--resume"] if resume else []
    )


def single_process(out, steps, resume=False):
    config = replace(TRAIN_PRESETS["quick"], steps=steps)
    return train_unet(UNET_PRESETS["quick"], config, out=out, resume=resume, device="cpu", progress=False)


def assert_same_run(a, b):
    for ema in (True, False):
        wa, wb = read_weights(a, ema=ema), read_weights(b, ema=ema)
        assert wa.keys() == wb.keys()
        worst = max((wa[k] - wb[k]).abs().max().item() for k in wa)
        assert worst < ATOL, f"{'EMA' if ema else 'raw'} weights differ by {worst}"
    la, lb = (json.loads((p / "loss_log.json").read_text())["loss"] for p in (a, b))
    assert len(la) == len(lb) and max(abs(x - y) for x, y in zip(la, lb, strict=True)) < ATOL, (la, lb)
    assert json.loads((a / "config.json").read_text())["step"] == json.loads((b / "config.json").read_text())["step"]


def test_two_gloo_processes_equal_one_process_and_resume(tmp_path):
    ddp, one = tmp_path / "ddp", tmp_path / "one"
    done = run_torchrun(2, cli_args(ddp, 2))
    for rank in (0, 1):  # every rank trains on its own half of each global batch of 8 clips
        assert f"rank {rank} of 2 on cpu: 4 of the 8 clips" in done.stdout
    single_process(one, 2)
    assert_same_run(ddp, one)
    run_torchrun(2, cli_args(ddp, 4, resume=True))  # resume under DDP, as the CLI does
    single_process(one, 4, resume=True)
    assert_same_run(ddp, one)
    assert not list(ddp.glob("*.tmp*")), "only finished checkpoint files remain (one writer, atomic saves)"


def test_shard_slices_the_global_batch():
    x = torch.arange(12).reshape(6, 2)
    parts = [shard(x, Dist(r, 3, torch.device("cpu"))) for r in range(3)]
    assert torch.equal(torch.cat(parts), x) and all(p.shape == (2, 2) for p in parts)
    with pytest.raises(ValueError, match="global batch size 6 must be divisible by the number of processes 4"):
        shard(x, Dist(0, 4, torch.device("cpu")))


def test_one_process_without_torchrun(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    d = init_distributed("cpu")
    assert (d.rank, d.world_size, d.is_main, d.device) == (0, 1, True, torch.device("cpu"))


def test_torchrun_command_and_a_clear_failure(tmp_path):
    command = torchrun_command(2, ["--config", "quick"])
    assert command[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    assert command[-4:] == ["audiodiff_minimal", "train", "--config", "quick"]
    with pytest.raises(RuntimeError, match=r"torchrun with 2 processes failed(.|\n)*invalid choice"):
        run_torchrun(2, ["--config", "no_such_preset", "--out", str(tmp_path)])
