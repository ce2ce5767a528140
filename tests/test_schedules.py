"""Schedules: index convention, DDPM and improved-DDPM formulas, continuous limits."""

import math

import pytest
import torch

from audiodiff_minimal.forward import q_sample
from audiodiff_minimal.schedules import (
    alpha_bar_cosine,
    cosine_schedule,
    gather,
    linear_schedule,
    make_schedule,
)


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("T", [10, 100, 1000])
def test_index_in_code_equals_index_in_math(name, T):
    s = make_schedule(name, T)
    assert s.T == T and len(s.beta) == T + 1
    assert s.alpha_bar[0] == 1 and s.sigma[0] == 0 and s.beta[0] == 0
    # alpha_bar_t = prod_{s=1..t} (1 - beta_s), DDPM Eq. (4)
    for t in [1, T // 2, T]:
        assert torch.isclose(s.alpha_bar[t], torch.prod(1 - s.beta[1 : t + 1]), rtol=1e-12)
    assert torch.allclose(s.sigma**2 + s.alpha_bar, torch.ones(T + 1, dtype=torch.float64))


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_monotone(name):
    s = make_schedule(name, 1000)
    assert (s.beta[1:] > 0).all() and (s.beta <= 0.999).all()
    assert (s.alpha_bar[1:] < s.alpha_bar[:-1]).all()
    assert (s.log_snr[2:] < s.log_snr[1:-1]).all()
    assert s.alpha_bar[-1] < 1e-4  # x_T is (nearly) pure noise


def test_linear_matches_ddpm_endpoints():
    s = linear_schedule(1000)
    assert math.isclose(s.beta[1].item(), 1e-4, rel_tol=1e-9)
    assert math.isclose(s.beta[1000].item(), 0.02, rel_tol=1e-9)
    assert math.isclose(s.beta[2].item() - s.beta[1].item(), (0.02 - 1e-4) / 999, rel_tol=1e-6)


def test_cosine_matches_improved_ddpm_closed_form():
    T = 1000
    s = cosine_schedule(T)
    t = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2
    # Eq. (17) holds exactly wherever beta was not clipped (every t but the last).
    assert torch.allclose(s.alpha_bar[:T], (f / f[0])[:T], rtol=1e-9, atol=0)
    assert s.beta[T] == pytest.approx(0.999)


def test_continuous_limits():
    u = torch.linspace(0, 0.9, 10, dtype=torch.float64)
    idx = (u * 1000).round().long()
    # cosine: the discrete schedule samples the continuous one exactly.
    assert torch.allclose(cosine_schedule(1000).alpha_bar[idx], alpha_bar_cosine(u), rtol=1e-9)


def test_unknown_schedule_error():
    with pytest.raises(ValueError, match="unknown schedule 'quadratic'"):
        make_schedule("quadratic")


def test_gather_shape_dtype():
    s = make_schedule("cosine", 100)
    x = torch.zeros(3, 1, 16)
    out = gather(s.alpha_bar, torch.tensor([1, 50, 100]), x)
    assert out.shape == (3, 1, 1) and out.dtype == torch.float32
    assert out[1, 0, 0] == pytest.approx(s.alpha_bar[50].item(), rel=1e-6)


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("T", [20, 50, 250])
def test_every_T_spans_the_whole_process(name, T):
    """A formula right only for T = 1000 (a hard-coded 1000) fails here: any T must end in noise."""
    s = make_schedule(name, T)
    assert s.alpha_bar[T] < 1e-3  # x_T is (nearly) pure noise for every T, not only for T = 1000
    if name == "linear":  # both ends scaled by 1000 / T (improved DDPM's code)
        assert s.beta[1].item() == pytest.approx(1e-4 * 1000 / T, rel=1e-9)
    else:  # the cosine schedule samples the same curve at u = t / T (Eq. 17), wherever beta is not clipped
        u = torch.arange(T, dtype=torch.float64) / T
        assert torch.allclose(s.alpha_bar[:T], alpha_bar_cosine(u), rtol=1e-9, atol=0)


def test_snr_is_signal_power_over_noise_power():
    """SNR_t = alpha_bar_t / sigma_t^2: power of sqrt(alpha_bar_t) x_0 over power of sigma_t eps (unit-variance x_0)."""
    s, g, n = make_schedule("cosine", 100), torch.Generator().manual_seed(0), 200_000
    assert torch.allclose(s.snr[1:] * s.sigma[1:] ** 2, s.alpha_bar[1:], rtol=1e-12)
    x0, eps, t = torch.randn(n, 1, 1, generator=g), torch.randn(n, 1, 1, generator=g), torch.full((n,), 50)
    signal, noise = q_sample(x0, t, torch.zeros_like(eps), s), q_sample(torch.zeros_like(x0), t, eps, s)
    measured = (signal**2).mean() / (noise**2).mean()  # alpha_bar_50 is about 0.5 here, far from its square root
    assert measured.item() == pytest.approx(s.snr[50].item(), rel=0.02)
