"""The note mixture: the closed-form optimal denoiser against Bayes by Monte Carlo and Tweedie's formula."""

import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from audiodiff_minimal.models.linear import gaussian_x0_matrix
from audiodiff_minimal.models.mixture import (
    Mixture,
    linear_x0_hat,
    mixture_x0_hat,
    note_mixture,
    responsibilities,
)
from audiodiff_minimal.schedules import make_schedule

G = lambda seed=0: torch.Generator().manual_seed(seed)  # noqa: E731


def clusters() -> Mixture:
    """Three unequal clusters in 2-D."""
    means = torch.tensor([[-0.6, -0.2], [0.5, -0.4], [0.1, 0.7]], dtype=torch.float64)
    return Mixture(means, torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64), 0.1)


def test_sample_and_covariance():
    mix = clusters()
    x0, k = mix.sample(200_000, G())
    assert x0.shape == (200_000, 1, 2) and k.shape == (200_000,)
    assert torch.allclose(torch.bincount(k).double() / len(k), mix.weights, atol=0.005)
    assert torch.allclose(torch.cov(x0.squeeze(1).T), mix.covariance(), atol=3e-3)
    assert torch.allclose(x0.squeeze(1).mean(0), mix.mean(), atol=3e-3)


def test_x0_hat_is_tweedie_of_the_exact_log_density():
    """E[x_0 | x_t] = (x_t + sigma_t^2 grad log p_t(x_t)) / sqrt(alpha_bar_t), p_t from torch.distributions."""
    mix, schedule = clusters(), make_schedule("cosine", 100)
    x_t = torch.randn(16, 1, 2, generator=G(1), dtype=torch.float64)
    for step in (5, 40, 70, 100):
        t = torch.full((16,), step)
        a, s = schedule.alpha_bar[step].sqrt(), schedule.sigma[step]
        comp = Independent(Normal(a * mix.means, (a**2 * mix.tau**2 + s**2).sqrt()), 1)
        p_t = MixtureSameFamily(Categorical(mix.weights), comp)
        x = x_t.squeeze(1).clone().requires_grad_(True)
        (score,) = torch.autograd.grad(p_t.log_prob(x).sum(), x)
        tweedie = (x_t.squeeze(1) + s**2 * score) / a
        assert torch.allclose(mixture_x0_hat(x_t, t, mix, schedule).squeeze(1), tweedie, atol=1e-10)


def test_x0_hat_matches_bayes_by_importance_sampling():
    mix, schedule = clusters(), make_schedule("cosine", 100)
    x0, _ = mix.sample(400_000, G(2))
    x0 = x0.squeeze(1)  # (N, 2)
    x_t = torch.tensor([[0.0, 0.0], [-0.1, 0.3], [0.4, 0.1]], dtype=torch.float64)
    for step in (30, 55):
        a, s = schedule.alpha_bar[step].sqrt(), schedule.sigma[step]
        logw = -((x_t[:, None, :] - a * x0[None]) ** 2).sum(-1) / (2 * s**2)  # (3, N) log q(x_t | x_0)
        w = torch.softmax(logw, dim=1)
        mc = w @ x0  # (3, 2)
        exact = mixture_x0_hat(x_t.unsqueeze(1), torch.full((3,), step), mix, schedule).squeeze(1)
        assert torch.allclose(mc, exact, atol=0.01)


def test_linear_denoiser_is_the_wiener_filter_of_the_mixture_covariance():
    mix = note_mixture(length=24, seed=3)
    schedule = make_schedule("cosine", 50)
    x_t = torch.randn(5, 1, 24, generator=G(4), dtype=torch.float64)
    m = mix.mean()
    for step in (1, 25, 50):
        H = gaussian_x0_matrix(mix.covariance(), step, schedule)
        expected = m + (x_t - schedule.alpha_bar[step].sqrt() * m) @ H.T
        assert torch.allclose(linear_x0_hat(x_t, torch.full((5,), step), mix, schedule), expected, atol=1e-10)


def test_one_component_makes_the_optimal_denoiser_linear():
    mix = Mixture(torch.tensor([[0.3, -0.2, 0.1]], dtype=torch.float64), torch.ones(1, dtype=torch.float64), 0.2)
    schedule = make_schedule("linear", 30)
    x_t, t = torch.randn(4, 1, 3, generator=G(5), dtype=torch.float64), torch.tensor([1, 10, 20, 30])
    assert torch.allclose(mixture_x0_hat(x_t, t, mix, schedule), linear_x0_hat(x_t, t, mix, schedule), atol=1e-12)
    assert torch.allclose(responsibilities(x_t, t, mix, schedule), torch.ones(4, 1, dtype=torch.float64))


def test_optimal_beats_linear_and_picks_one_note():
    mix, schedule = note_mixture(length=256, seed=0), make_schedule("cosine", 100)
    x0, k = mix.sample(64, G(6))
    t = torch.full((64,), 40)
    x_t = schedule.alpha_bar[40].sqrt() * x0 + schedule.sigma[40] * torch.randn(
        x0.shape, generator=G(7), dtype=x0.dtype
    )
    mse = lambda f: ((f(x_t, t, mix, schedule) - x0) ** 2).mean().item()  # noqa: E731
    assert mse(mixture_x0_hat) < 0.5 * mse(linear_x0_hat)
    assert (responsibilities(x_t, t, mix, schedule).argmax(1) == k).float().mean() > 0.9
