"""The forward process: closed form vs. the chain, posterior vs. Bayes' rule, conversions."""

import math

import pytest
import torch

from audiodiff_minimal.data import toy_note
from audiodiff_minimal.forward import (
    eps_to_x0,
    q_posterior,
    q_sample,
    q_step,
    to_x0_eps,
    training_target,
    v_target,
    x0_to_eps,
)
from audiodiff_minimal.schedules import make_schedule


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_closed_form_equals_chain(name):
    """Running q(x_t | x_{t-1}) t times has the mean and variance of q(x_t | x_0), DDPM Eq. (4)."""
    s = make_schedule(name, 50)
    g = torch.Generator().manual_seed(0)
    x0 = toy_note(5, 2, length=32).unsqueeze(0)  # (1, 1, 32)
    n, t_end = 20_000, 30
    x = x0.expand(n, 1, 32).clone()
    for t in range(1, t_end + 1):
        x = q_step(x, torch.full((n,), t), torch.randn(x.shape, generator=g), s)
    mean_cf = math.sqrt(s.alpha_bar[t_end]) * x0[0]
    std_cf = s.sigma[t_end].item()
    se = std_cf / math.sqrt(n)  # standard error of the mean
    assert (x.mean(0) - mean_cf).abs().max() < 5 * se
    assert (x.std(0) / std_cf - 1).abs().max() < 0.05
    # and q_sample draws from the same distribution
    y = q_sample(x0.expand(n, 1, 32), torch.full((n,), t_end), torch.randn(n, 1, 32, generator=g), s)
    assert (y.mean(0) - mean_cf).abs().max() < 5 * se
    assert (y.std(0) / std_cf - 1).abs().max() < 0.05


@pytest.mark.parametrize("t", [1, 2, 10, 60, 99])
def test_posterior_equals_bayes_rule(t):
    """q(x_{t-1} | x_t, x_0) from DDPM Eq. (7) against Bayes' rule evaluated on a grid."""
    s = make_schedule("cosine", 100)
    x0, x_t = 0.7, -0.3
    ab_prev, sigma_prev = s.alpha_bar[t - 1].item(), s.sigma[t - 1].item()
    alpha_t, beta_t = s.alpha[t].item(), s.beta[t].item()
    f64 = dict(dtype=torch.float64)
    mu, var = q_posterior(torch.tensor([[[x0]]], **f64), torch.tensor([[[x_t]]], **f64), torch.tensor([t]), s)
    if t == 1:  # x_0 is known, so the posterior is a point mass at x_0
        assert mu.item() == pytest.approx(x0, abs=1e-6) and var.item() == pytest.approx(0, abs=1e-12)
        return
    # Posterior mass lies where the likelihood q(x_t | x_{t-1}) (as a function of x_{t-1}) and the
    # prior q(x_{t-1} | x_0) overlap: cover both peaks +-12 widths, with a step far below either width.
    centres = [x_t / math.sqrt(alpha_t), math.sqrt(ab_prev) * x0]
    widths = [math.sqrt(beta_t / alpha_t), sigma_prev]
    lo, hi, step = min(centres) - 12 * max(widths), max(centres) + 12 * max(widths), min(widths) / 200
    grid = torch.arange(lo, hi, step, dtype=torch.float64)
    # log q(x_t | x_{t-1}) + log q(x_{t-1} | x_0), up to a constant
    log_p = -((x_t - math.sqrt(alpha_t) * grid) ** 2) / (2 * beta_t)
    log_p += -((grid - math.sqrt(ab_prev) * x0) ** 2) / (2 * sigma_prev**2)
    p = torch.exp(log_p - log_p.max())
    p /= p.sum()
    mean_num = (p * grid).sum().item()
    var_num = (p * (grid - mean_num) ** 2).sum().item()
    assert mu.item() == pytest.approx(mean_num, rel=1e-6, abs=1e-9)
    assert var.item() == pytest.approx(var_num, rel=1e-5)


def test_conversions_round_trip():
    s = make_schedule("cosine", 1000)
    g = torch.Generator().manual_seed(1)
    x0, eps = torch.randn(4, 1, 64, generator=g), torch.randn(4, 1, 64, generator=g)
    t = torch.tensor([1, 10, 500, 999])
    x_t = q_sample(x0, t, eps, s)
    assert torch.allclose(eps_to_x0(x_t, t, eps, s), x0, atol=1e-4)
    assert torch.allclose(x0_to_eps(x_t, t, x0, s), eps, atol=1e-4)
    for prediction in ["eps", "x0", "v"]:
        target = training_target(x0, eps, t, s, prediction)
        x0_hat, eps_hat = to_x0_eps(target, x_t, t, s, prediction)
        assert torch.allclose(x0_hat, x0, atol=2e-3), prediction
        assert torch.allclose(eps_hat, eps, atol=2e-3), prediction
    # v = sqrt(ab) eps - sigma x0 (Salimans & Ho 2022) has unit variance for unit-variance x0 and eps
    v = v_target(torch.randn(100_000, generator=g), torch.randn(100_000, generator=g), torch.full((100_000,), 300), s)
    assert v.var().item() == pytest.approx(1.0, rel=0.02)


def test_unknown_prediction():
    s = make_schedule("cosine", 10)
    x = torch.zeros(1, 1, 4)
    with pytest.raises(ValueError, match="unknown prediction 'score'"):
        to_x0_eps(x, x, torch.tensor([1]), s, "score")
