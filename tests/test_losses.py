"""Losses and the ELBO: Gaussian KL, the discretised decoder, the bound on Gaussian data."""

import math

import pytest
import torch

from audiodiff_minimal.data import ARProcess
from audiodiff_minimal.forward import eps_to_x0, q_sample
from audiodiff_minimal.losses import (
    REVERSE_VARIANCES,
    bits_per_sample,
    bound_summary,
    diffusion_nll_bound,
    diffusion_term,
    discretized_gaussian_nll,
    elbo_weight,
    eps_loss_weight,
    gaussian_entropy,
    gaussian_kl,
    gaussian_nll,
    linear_eps_mse,
    linear_gaussian_elbo,
    prior_term,
    quantize,
    reverse_variance,
    simple_loss,
)
from audiodiff_minimal.models.linear import gaussian_eps_hat, gaussian_eps_matrices
from audiodiff_minimal.schedules import Schedule, make_schedule

AR = ARProcess()


def test_gaussian_kl_matches_torch_and_monte_carlo():
    g = torch.Generator().manual_seed(0)
    m1, v1, m2, v2 = torch.tensor(0.3), torch.tensor(0.5), torch.tensor(-0.2), torch.tensor(1.7)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(m1, v1.sqrt()), torch.distributions.Normal(m2, v2.sqrt())
    )
    assert gaussian_kl(m1, v1, m2, v2).item() == pytest.approx(ref.item(), rel=1e-6)
    x = m1 + v1.sqrt() * torch.randn(200_000, generator=g, dtype=torch.float64)
    mc = (gaussian_nll(x, m2, v2) - gaussian_nll(x, m1, v1)).mean()
    assert mc.item() == pytest.approx(ref.item(), abs=0.01)


def test_entropy_is_expected_nll():
    cov = AR.covariance(8)
    x = AR.sample(20_000, 8, seed=3).double().squeeze(1)
    mvn = torch.distributions.MultivariateNormal(torch.zeros(8, dtype=torch.float64), cov)
    assert -mvn.log_prob(x).mean().item() == pytest.approx(gaussian_entropy(cov), abs=0.05)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_weights_agree_with_ddpm_eq12_and_snr_form(name):
    s = make_schedule(name, 100)
    t = torch.arange(2, 101)
    var = reverse_variance(s, "beta_tilde")
    assert torch.allclose(elbo_weight(t, s, var, "eps"), eps_loss_weight(t, s, var), rtol=1e-9)
    # with var = beta_tilde, the x0 weight is (SNR_{t-1} - SNR_t) / 2 (VDM Eq. 13)
    assert torch.allclose(elbo_weight(t, s, var, "x0"), 0.5 * (s.snr[t - 1] - s.snr[t]), rtol=1e-9)
    # v errors are x0 errors / sigma_t, so the weights differ by sigma_t^2
    assert torch.allclose(elbo_weight(t, s, var, "v"), elbo_weight(t, s, var, "x0") * s.sigma[t] ** 2, rtol=1e-9)


def test_linear_eps_mse_matches_monte_carlo():
    L, s = 16, make_schedule("cosine", 20)
    cov, g = AR.covariance(L), torch.Generator().manual_seed(1)
    W = gaussian_eps_matrices(cov, s) + 0.05 * torch.randn(21, L, L, generator=g, dtype=torch.float64)
    x0 = AR.sample(20_000, L, seed=1).double()
    for step in (1, 7, 20):
        t = torch.full((len(x0),), step)
        eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
        x_t = q_sample(x0, t, eps, s)
        mc = ((eps - x_t @ W[step].T) ** 2).sum((1, 2)).mean()
        assert mc.item() == pytest.approx(linear_eps_mse(W, cov, s)[step].item(), rel=0.03)


def test_analytic_diffusion_term_matches_monte_carlo_kl():
    """Catches a wrong q_posterior: the Monte Carlo path uses it, the analytic path does not."""
    L, s = 16, make_schedule("linear", 50)
    cov, g = AR.covariance(L), torch.Generator().manual_seed(2)
    elbo = linear_gaussian_elbo(gaussian_eps_matrices(cov, s), cov, s, "beta")
    x0 = AR.sample(20_000, L, seed=2).double()
    for step in (2, 10, 40):
        t = torch.full((len(x0),), step)
        x_t = q_sample(x0, t, torch.randn(x0.shape, generator=g, dtype=torch.float64), s)
        x0_hat = eps_to_x0(x_t, t, gaussian_eps_hat(x_t, t, cov, s), s)
        mc = diffusion_term(x0, x_t, t, x0_hat, elbo["var"], s).mean()
        assert mc.item() == pytest.approx(elbo["diffusion"][step].item(), rel=0.03)


@pytest.mark.parametrize("kind", REVERSE_VARIANCES)
def test_elbo_bounds_the_exact_nll(kind):
    cov = AR.covariance(16)
    nll = gaussian_entropy(cov)
    for T in (10, 100):
        s = make_schedule("cosine", T)
        assert linear_gaussian_elbo(gaussian_eps_matrices(cov, s), cov, s, kind)["total"] >= nll


def test_elbo_gap_shrinks_with_T_for_optimal_variance():
    L, cov = 16, AR.covariance(16)
    nll = gaussian_entropy(cov)
    gaps = []
    for T in (10, 30, 100, 300):
        s = make_schedule("linear", T)
        gaps.append(linear_gaussian_elbo(gaussian_eps_matrices(cov, s), cov, s, "optimal")["total"] - nll)
    assert all(a > b > 0 for a, b in zip(gaps, gaps[1:], strict=False))
    assert bits_per_sample(gaps[-1], L) < 0.25


def test_discretized_probabilities_sum_to_one():
    bits = 5
    grid = torch.arange(-(2 ** (bits - 1)), 2 ** (bits - 1), dtype=torch.float64) / 2 ** (bits - 1)
    for mean, var in [(0.1, 0.04), (0.9, 1e-3), (-1.2, 0.5)]:
        p = torch.exp(-discretized_gaussian_nll(grid, mean, var, bits=bits))
        assert p.sum().item() == pytest.approx(1.0, abs=1e-9)


def test_discrete_equals_continuous_plus_log_bin_width():
    """For a density that is smooth on the scale of a bin, -log2 P = -log2 p + 15 at 16 bits."""
    g = torch.Generator().manual_seed(0)
    x = quantize(0.2 * torch.randn(10_000, generator=g, dtype=torch.float64))  # no sample reaches the edge bins
    disc = discretized_gaussian_nll(x, 0.0, 0.04).mean() / math.log(2)
    cont = gaussian_nll(x, 0.0, 0.04).mean() / math.log(2)
    assert (disc - cont).item() == pytest.approx(15.0, abs=1e-3)


def test_quantize_grid_and_range():
    x = torch.tensor([-1.5, -1.0, 0.0, 0.99999, 2.0])
    q = quantize(x, bits=16)
    assert q.min() == -1.0 and q.max() == 1 - 2**-15
    assert torch.all(q * 2**15 == torch.round(q * 2**15))


def test_simple_loss_of_exact_denoiser_is_its_analytic_mse():
    L, s = 16, make_schedule("cosine", 30)
    cov = AR.covariance(L)
    x0 = AR.sample(20_000, L, seed=4).double()
    model = lambda x_t, t: gaussian_eps_hat(x_t, t, cov, s)
    t = torch.full((len(x0),), 12)
    loss = simple_loss(model, x0, s, "eps", t=t, generator=torch.Generator().manual_seed(0))
    expected = linear_eps_mse(gaussian_eps_matrices(cov, s), cov, s)[12] / L
    assert loss.item() == pytest.approx(expected.item(), rel=0.03)


def test_reverse_variance_errors_and_order():
    s = make_schedule("linear", 100)
    with pytest.raises(ValueError, match="x0_mse"):
        reverse_variance(s, "optimal")
    with pytest.raises(ValueError, match="unknown reverse variance"):
        reverse_variance(s, "huge")
    bt, b = reverse_variance(s, "beta_tilde"), reverse_variance(s, "beta")
    assert torch.all(bt[2:] <= b[2:]) and bt[1] == b[1]


def test_bits_per_sample_of_uniform_16_bit_audio():
    """A uniform distribution over the 2^16 PCM levels costs exactly 16 bits per sample, whatever the clip length."""
    for length in (1, 16, 4096):
        nll_nats = length * 16 * math.log(2)  # -log P of a clip, P = 2^-16 per sample
        assert bits_per_sample(nll_nats, length) == pytest.approx(16.0, rel=1e-12)


def test_prior_term_matches_monte_carlo_when_alpha_bar_T_is_large():
    """E L_T over x_0 ~ N(0, cov): the data term carries alpha_bar_T, visible only when alpha_bar_T is not ~0."""
    L = 16
    s = Schedule("short", 10, torch.cat([torch.zeros(1), torch.full((10,), 0.05, dtype=torch.float64)]))  # ab_T = 0.6
    cov, x0 = AR.covariance(L), AR.sample(20_000, L, seed=5).double()
    ab, s2 = s.alpha_bar[10].item(), s.sigma[10].item() ** 2
    kl = gaussian_kl(math.sqrt(ab) * x0, torch.tensor(s2), torch.tensor(0.0), torch.tensor(1.0)).sum((1, 2))
    assert prior_term(cov, s) == pytest.approx(kl.mean().item(), abs=4 * kl.std().item() / math.sqrt(len(kl)))


# --------------------------------------------------------------------------- the bound's estimator (chapter 07)


def _linear_bound_setup(T=200, L=16, n=300):
    """The exact Gaussian denoiser of the AR process, clips, and each clip's exact diffusion sum in bits.

    For eps_hat = W_t x_t, x0_hat = M_t x_t with M_t = (I - sigma_t W_t) / sqrt(alpha_bar_t), so for a fixed clip
    E||x_0 - x0_hat||^2 = ||(I - sqrt(alpha_bar_t) M_t) x_0||^2 + sigma_t^2 ||M_t||_F^2 and, with var = beta_tilde,
    sum_{t>=2} L_{t-1} = sum_t w_t E||x_0 - x0_hat||^2 (Eq. 2.7): the per-clip value the estimator must hit.
    """
    s, cov = make_schedule("cosine", T), AR.covariance(L)
    W = gaussian_eps_matrices(cov, s)
    model = lambda x_t, t: x_t @ W.to(x_t.dtype)[t].transpose(1, 2)  # noqa: E731  (B, 1, L) @ (B, L, L)
    x0 = quantize(AR.sample(n, L, seed=0).double())
    eye, var = torch.eye(L, dtype=torch.float64), reverse_variance(s, "beta_tilde")
    exact = torch.zeros(n, dtype=torch.float64)
    for t in range(2, T + 1):
        a, sigma = s.alpha_bar[t].sqrt().item(), s.sigma[t].item()
        M = (eye - sigma * W[t]) / a
        err = ((x0[:, 0] @ (eye - a * M).T) ** 2).sum(1) + sigma**2 * (M**2).sum()
        exact += elbo_weight(torch.tensor([t]), s, var, "x0") * err
    expected = linear_gaussian_elbo(W, cov, s, "beta_tilde")["diffusion"].sum().item()  # E over x_0 as well
    return s, model, x0, exact / (L * math.log(2)), expected / (L * math.log(2))


@pytest.mark.parametrize("k_exact, n_t", [(1, 8), (5, 16), (20, 32), (200, 0)])
def test_bound_estimator_is_unbiased_and_its_se_is_calibrated(k_exact, n_t):
    """K = 1: all importance sampling; K = T = 200: every t summed. Mean over clips within 4 SE of the closed form,
    and the mean squared error per clip equals the mean reported SE^2 (a wrong 1/q or a wrong /n fails one)."""
    s, model, x0, exact, expected = _linear_bound_setup()
    b = diffusion_nll_bound(model, s, x0, "eps", n_t=n_t, k_exact=k_exact, generator=torch.Generator().manual_seed(1))
    summary = bound_summary(b)
    assert abs(summary["diffusion"] - expected) < 4 * b["diffusion"].std().item() / math.sqrt(len(x0))
    ratio = ((b["diffusion"] - exact) ** 2).mean() / (b["diffusion_se"] ** 2).mean()
    assert 0.7 < ratio.item() < 1.4, ratio  # measured 0.89-1.01 for these settings
    assert (b["total_se"] >= b["diffusion_se"]).all() and torch.allclose(
        b["total"], b["prior"] + b["diffusion"] + b["decoder"]
    )


def test_bound_se_falls_like_one_over_sqrt_n_and_the_proposal_pays():
    s, model, x0, exact, _ = _linear_bound_setup(n=200)
    se = {}
    for n, rho in [(8, 0.1), (32, 0.1), (32, 1.0)]:  # rho = 1: a uniform proposal
        g = torch.Generator().manual_seed(2)
        b = diffusion_nll_bound(model, s, x0, "eps", n_t=n, k_exact=1, rho=rho, generator=g)
        se[n, rho] = b["diffusion_se"].pow(2).mean().sqrt().item()
    assert 1.6 < se[8, 0.1] / se[32, 0.1] < 2.5, se  # sqrt(32 / 8) = 2
    assert se[32, 1.0] > 2 * se[32, 0.1], se  # measured ~3x: q ~ w_t e(t) follows the terms' size


def test_bound_summary_and_argument_errors():
    s, model, x0, _, _ = _linear_bound_setup(T=20, n=4)
    with pytest.raises(ValueError, match="standard error"):
        diffusion_nll_bound(model, s, x0, "eps", n_t=1, k_exact=5)
    with pytest.raises(ValueError, match="standard error"):
        diffusion_nll_bound(model, s, x0, "eps", n_eps=1)
    b = diffusion_nll_bound(model, s, x0, "eps", n_t=4, k_exact=5)
    summary = bound_summary(b)
    assert summary["se_mc"] == pytest.approx(b["total_se"].pow(2).sum().sqrt().item() / 4)
    assert summary["total"] == pytest.approx(b["total"].mean().item())
