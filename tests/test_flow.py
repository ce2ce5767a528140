"""Flow matching (flow.py): interpolant, loss, samplers and the v relation, on exactly solvable Gaussian data."""

import math
from dataclasses import replace

import pytest
import torch

from audiodiff_minimal.data import ARProcess
from audiodiff_minimal.edm import gaussian_denoiser
from audiodiff_minimal.flow import (
    flow_euler_sample,
    flow_heun_sample,
    flow_matching_loss,
    flow_timesteps,
    fm_time,
    gaussian_flow_map,
    gaussian_fm_loss,
    gaussian_velocity,
    interpolant,
    path_straightness,
    v_to_velocity,
    velocity_to_v,
    vp_of_fm_time,
)
from audiodiff_minimal.forward import v_target
from audiodiff_minimal.schedules import make_schedule

L = 16
COV = ARProcess().covariance(L)


def _draw(B=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, 1, L, generator=g, dtype=torch.float64), torch.randn(B, 1, L, generator=g).double()


def test_interpolant_known_values():
    """x_t = (1 - t) x_0 + t eps: the clip at t = 0, the noise at t = 1, 3/4 clip + 1/4 noise at t = 1/4."""
    x0, eps = _draw()
    assert torch.equal(interpolant(x0, eps, torch.zeros(2)), x0)
    assert torch.equal(interpolant(x0, eps, torch.ones(2)), eps)
    assert torch.allclose(interpolant(x0, eps, torch.tensor([0.25, 0.25])), 0.75 * x0 + 0.25 * eps)


def test_gaussian_velocity_agrees_with_the_denoiser():
    """u = (x_t - E[x_0 | x_t]) / t, and x_t / (1 - t) = x_0 + (t / (1 - t)) eps is EDM's x at sigma = t / (1 - t):
    the exact velocity and edm.gaussian_denoiser, derived separately, agree."""
    x_t, _ = _draw(3, 1)
    D = gaussian_denoiser(COV)
    for t in (0.1, 0.5, 0.93):
        x0_hat = D(x_t / (1 - t), t / (1 - t))
        assert torch.allclose(gaussian_velocity(COV)(x_t, t), (x_t - x0_hat) / t, atol=1e-10)


@pytest.mark.parametrize("t", [0.1, 0.5, 0.9])
def test_fm_loss_of_the_exact_velocity_is_its_analytic_value(t):
    """E||u*(x_t, t) - (eps - x_0)||^2 per number = mean over eigenvalues of lambda / ((1 - t)^2 lambda + t^2)
    (4000 clips of 16 samples: 3% tolerance, about 5 standard errors). The net is asked at time 1000 t."""
    u_star = gaussian_velocity(COV)

    def model(x_t, t_net):
        assert torch.allclose(t_net, torch.full_like(t_net, 1000 * t))
        return u_star(x_t, t)

    x0 = ARProcess().sample(4000, L, seed=2).double()
    loss = flow_matching_loss(model, x0, generator=torch.Generator().manual_seed(3), t=torch.full((4000,), t))
    assert loss.item() == pytest.approx(gaussian_fm_loss(COV, t), rel=0.03)


def test_fm_loss_draws_t_uniformly():
    """Without t, the loss draws t ~ U[0, 1] (mean 1/2, all inside [0, 1]) and asks the net at 1000 t."""
    seen = []
    model = lambda x_t, t_net: seen.append(t_net) or torch.zeros_like(x_t)  # noqa: E731
    flow_matching_loss(model, torch.zeros(2000, 1, 8), generator=torch.Generator().manual_seed(4))
    t = seen[0] / 1000
    assert 0 <= t.min() and t.max() <= 1 and abs(t.mean().item() - 0.5) < 0.03


def _errors(sampler, steps_list):
    x1 = torch.randn(8, 1, L, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    exact = gaussian_flow_map(COV, x1, 1.0, 0.0)
    u = gaussian_velocity(COV)
    return [(sampler(u, x1, flow_timesteps(N)) - exact).norm().item() / exact.norm().item() for N in steps_list]


def test_flow_euler_error_falls_as_one_over_n():
    """Euler on the exact velocity, t = 1 -> 0: doubling the steps halves the error (ratios 1.6-2.4)."""
    e = _errors(flow_euler_sample, [32, 64, 128])
    assert all(1.6 < r < 2.4 for r in (e[0] / e[1], e[1] / e[2])), e


def test_flow_heun_error_falls_as_one_over_n_squared():
    """Heun on the exact velocity: doubling the steps divides the error by about 4 (ratios 3.3-4.7).

    The grid ends with a short step (1/N -> 1e-4 -> 0): the step onto t = 0 is Euler's (EDM Algorithm 2), and
    a short one keeps its first-order error out of the slope, as EDM's sigma_min does."""
    e = _errors(lambda u, x, ts: flow_heun_sample(u, x, ts[:-1] + [1e-4, 0.0]), [32, 64, 128])
    assert all(3.3 < r < 4.7 for r in (e[0] / e[1], e[1] / e[2])), e


def test_flow_heun_never_asks_the_net_at_t_zero():
    """The step onto t = 0 is Euler's (EDM Algorithm 2, line 8): 2N - 1 evaluations, none at t = 0, and the last
    step equals an Euler step from the same state."""
    asked = []
    u = gaussian_velocity(COV)
    x1 = torch.randn(2, 1, L, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    ts = flow_timesteps(4)
    x = flow_heun_sample(lambda x, t: asked.append(t) or u(x, t), x1, ts)
    assert len(asked) == 7 and min(asked) > 0, asked
    x_prev = flow_heun_sample(u, x1, ts[:-1])  # the state at t_{N-1}
    assert torch.allclose(x, flow_euler_sample(u, x_prev, ts[-2:]))


def test_vp_point_is_a_scaled_fm_point():
    """x_vp = alpha x_0 + sigma eps equals (alpha + sigma) x_t at t = sigma / (alpha + sigma) (alpha_bar = 0.3)."""
    x0, eps = _draw(2, 6)
    ab = 0.3
    t, scale = fm_time(ab)
    x_vp = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps
    assert torch.allclose(x_vp, scale * interpolant(x0, eps, torch.full((2,), t)), atol=1e-12)
    alpha, sigma = vp_of_fm_time(t)
    assert (alpha, sigma) == pytest.approx((math.sqrt(ab), math.sqrt(1 - ab)), rel=1e-12)


@pytest.mark.parametrize("step", [3, 250, 700, 990])
def test_v_and_velocity_round_trip(step):
    """v = sqrt(alpha_bar) eps - sigma x_0 (forward.v_target) becomes eps - x_0 by Eq. (9.10), and back."""
    schedule = make_schedule("cosine", 1000)
    x0, eps = _draw(2, 7)
    tt = torch.full((2,), step)
    ab = schedule.alpha_bar[step].item()
    alpha, sigma = math.sqrt(ab), math.sqrt(1 - ab)
    x_vp = alpha * x0 + sigma * eps
    v = v_target(x0, eps, tt, schedule)
    u = v_to_velocity(v, x_vp, alpha, sigma)
    assert torch.allclose(u, eps - x0, atol=1e-9)
    t, scale = fm_time(ab)
    assert torch.allclose(velocity_to_v(u, x_vp / scale, t), v, atol=1e-9)


def test_path_straightness_known_values():
    """A straight path has straightness 1; the path (0, 0) -> (1, 0) -> (1, 1) has sqrt(2) / 2."""
    line = torch.linspace(0, 1, 5)[:, None, None, None] * torch.ones(1, 1, 1, 2)  # (5, 1, 1, 2)
    assert path_straightness(line) == pytest.approx(1.0)
    corner = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]).view(3, 1, 1, 2)
    assert path_straightness(corner) == pytest.approx(math.sqrt(2) / 2)


def test_train_generate_and_load_a_flow_matching_unet(tmp_path):
    """train_unet(prediction="fm") trains with the flow-matching loss, records "fm", and load_model + generate sample
    it with the flow samplers (and refuse a diffusion sampler)."""
    from audiodiff_minimal.generate import generate
    from audiodiff_minimal.models.unet1d import UNET_PRESETS
    from audiodiff_minimal.registry import load_model
    from audiodiff_minimal.train import TRAIN_PRESETS, train_unet

    config = replace(TRAIN_PRESETS["quick"], prediction="fm", steps=3, length=1024, save_every=3)
    result = train_unet(UNET_PRESETS["quick"], config, out=tmp_path / "fm", device="cpu", progress=False)
    assert len(result.losses) == 3 and all(math.isfinite(v) for v in result.losses)
    model, record = load_model(tmp_path / "fm")
    assert record.prediction == "fm" and record.train["prediction"] == "fm"
    x = generate(model, record, "heun", steps=2, n=2, progress=False)
    assert x.shape == (2, 1, 1024) and torch.isfinite(x).all()
    with pytest.raises(ValueError, match="flow-matching checkpoint samples with"):
        generate(model, record, "dpm", steps=2, n=1, progress=False)


def test_cli_trains_and_samples_flow_matching(tmp_path, capsys):
    """`train --prediction fm` records "fm"; `sample` defaults to heun for it and refuses a diffusion sampler."""
    from audiodiff_minimal.checkpoint import read_record
    from audiodiff_minimal.cli import main

    out = tmp_path / "fm"
    assert main(["train", "--config", "quick", "--prediction", "fm", "--steps", "2", "--out", str(out)]) == 0
    assert read_record(out).prediction == "fm"
    assert main(["train", "--config", "quick", "--prediction", "v", "--steps", "3", "--out", str(out), "--resume"]) == 2
    assert "learns prediction 'fm'" in capsys.readouterr().err
    assert main(["sample", "--checkpoint", str(out), "--n", "1", "--steps", "2", "--out", str(tmp_path / "s")]) == 0
    assert (tmp_path / "s" / "sample_000.wav").is_file()
    samples = str(tmp_path / "s")
    assert main(["sample", "--checkpoint", str(out), "--sampler", "ddim", "--n", "1", "--out", samples]) == 2
    assert "flow-matching checkpoint" in capsys.readouterr().err
