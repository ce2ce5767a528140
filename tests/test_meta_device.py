"""Device hygiene without a GPU: the train, sample, evaluate and guidance paths on PyTorch's ``meta`` device.

A meta tensor has a shape, a dtype and a device but no values, and PyTorch refuses to mix it with a CPU
tensor, just as CUDA and MPS do. So a model and data on ``meta`` find every place where a tensor is made
on the CPU and never moved (the bug that crashed notebook 04's held-out loss on CUDA and MPS), on a
laptop, in a fraction of a second. The one thing meta cannot do is give a value (``.item()``); tests
that reach it expect exactly that error, which proves that everything before it ran on the device.
"""

import copy
from dataclasses import replace

import pytest
import torch

from audiodiff_minimal.distributed import Dist
from audiodiff_minimal.forward import PREDICTIONS
from audiodiff_minimal.guidance import guided_model
from audiodiff_minimal.losses import autoregressive_loss, diffusion_loss, diffusion_nll_bound
from audiodiff_minimal.models.unet1d import UNet1D, UNetConfig
from audiodiff_minimal.models.wavenet import WaveNet, WaveNetConfig
from audiodiff_minimal.schedules import make_schedule
from audiodiff_minimal.train import TRAIN_PRESETS, TrainState, mean_loss, optimizer_step, train_unet

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("one_thread")]  # fast: stays in `-m "not notebook"`

META = torch.device("meta")
NO_VALUES = "cannot be called on meta tensors"  # Tensor.item() on meta: everything before it ran on meta
COND = UNetConfig(base=8, mults=(1, 2), down=(4,), groups=4, t_dim=16, heads=2, num_classes=32)
SCHEDULE = make_schedule("cosine", 50)


def meta_net(config=COND) -> UNet1D:
    return UNet1D(config).to(META)


def meta_clips(B=4, L=256) -> torch.Tensor:
    return torch.zeros(B, 1, L, device=META)


def test_meta_refuses_cpu_tensors():
    """The premise: a CPU tensor mixed into a meta computation raises, as with CUDA."""
    with pytest.raises(RuntimeError, match="device"):
        torch.randn(3) + torch.zeros(3, device=META)


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_diffusion_loss_and_an_optimizer_step_on_meta(prediction):
    net, g = meta_net(), torch.Generator().manual_seed(0)
    labels = torch.zeros(4, dtype=torch.long, device=META)
    loss = diffusion_loss(net, meta_clips(), SCHEDULE, prediction, g, labels)  # t and eps drawn on the CPU, moved
    assert loss.device == META and loss.shape == ()
    state = TrainState(torch.optim.AdamW(net.parameters()), copy.deepcopy(net).requires_grad_(False), {"noise": g})
    optimizer_step(net, loss, state, lr=1e-3, grad_clip=1.0, ema_decay=0.9)  # backward, clip, AdamW, EMA
    assert state.step == 1 and all(p.device == META for p in state.ema.parameters())


def test_train_unet_on_meta_runs_until_the_first_loss_value():
    """Batch source, label dropout, shard, t and eps, the net and the loss all run on meta."""
    config = replace(TRAIN_PRESETS["quick_cond"], steps=2, batch_size=2, length=256, cond_dropout=0.5)
    with pytest.raises(RuntimeError, match=NO_VALUES):
        train_unet(COND, config, dist=Dist(0, 1, META), progress=False)


def test_wavenet_loss_on_meta():
    model = WaveNet(WaveNetConfig(channels=4, skip=8, n_dilations=3, stacks=1)).to(META)
    assert autoregressive_loss(model, meta_clips(2, 64)).device == META


def test_held_out_loss_moves_cpu_clips_to_the_model():
    """Notebook 04: mean_loss(shipped_on_device, x0_heldout_on_cpu, ...) drew eps on the CPU and crashed."""
    with pytest.raises(RuntimeError, match=NO_VALUES):
        mean_loss(meta_net(), torch.zeros(2, 1, 256), SCHEDULE, "v", labels=torch.zeros(2, dtype=torch.long))


def test_elbo_bound_on_meta():
    bound = diffusion_nll_bound(lambda x_t, t: x_t, SCHEDULE, meta_clips(2), "x0", n_t=3)
    assert all(v.device == META and v.shape == (2,) for v in bound.values())


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpm"])
def test_guided_sampling_on_meta(sampler):
    from audiodiff_minimal.samplers import sample

    net = guided_model(meta_net(), 5, scale=2.0)  # classifier-free guidance around the conditional net
    x = torch.randn(2, 1, 256, generator=torch.Generator().manual_seed(0)).to(META)  # x_T, drawn by the caller
    out = sample(net, SCHEDULE, x, sampler, steps=3, prediction="v", clip_x0=True,
                 generator=torch.Generator().manual_seed(1), progress=False)  # fmt: skip
    assert out.device == META and out.shape == (2, 1, 256)
