"""Linear denoisers on Gaussian data: closed forms, the learnable model, ancestral sampling."""

import pytest
import torch

from audiodiff_minimal.data import ARProcess
from audiodiff_minimal.forward import eps_to_x0
from audiodiff_minimal.models.linear import (
    LinearEps,
    gaussian_eps_hat,
    gaussian_eps_matrices,
    gaussian_eps_matrix,
    gaussian_x0_matrix,
    stratified_t,
    train_linear_eps,
    wiener_eps_hat,
)
from audiodiff_minimal.schedules import make_schedule

AR = ARProcess()


def test_x0_wiener_filter_equals_eps_matrix_converted():
    L, s = 12, make_schedule("cosine", 40)
    cov = AR.covariance(L)
    x_t = torch.randn(3, 1, L, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for step in (1, 20, 40):
        t = torch.full((3,), step)
        x0_hat = eps_to_x0(x_t, t, x_t @ gaussian_eps_matrix(cov, step, s).T, s)
        assert torch.allclose(x0_hat, x_t @ gaussian_x0_matrix(cov, step, s).T, atol=1e-9)


def test_stacked_matrices_index_equals_step():
    L, s = 8, make_schedule("linear", 10)
    cov = AR.covariance(L)
    W = gaussian_eps_matrices(cov, s)
    assert W.shape == (11, L, L) and torch.all(W[0] == 0)
    assert torch.allclose(W[7], gaussian_eps_matrix(cov, 7, s))


def test_linear_eps_shapes_and_errors():
    model = LinearEps(16, 10)
    t = stratified_t(10, 2)
    assert t.tolist()[:4] == [1, 1, 2, 2] and len(t) == 20
    assert model(torch.randn(20, 1, 16), t).shape == (20, 1, 16)
    with pytest.raises(ValueError, match="length 16"):
        model(torch.randn(2, 1, 8), t[:2])


def test_sgd_finds_the_wiener_filter():
    L, s = 8, make_schedule("cosine", 5)
    cov = AR.covariance(L)
    model = LinearEps(L, 5)
    losses = train_linear_eps(model, AR.sample(5000, L, seed=0), s, steps=600, lr=15.0, per_step=64)
    W, W_star = model.weight.detach().double()[1:], gaussian_eps_matrices(cov, s)[1:]
    assert losses[-1] < 0.5 * losses[0]
    assert ((W - W_star).norm() / W_star.norm()).item() < 0.1


def test_too_large_learning_rate_stops_early():
    L, s = 8, make_schedule("cosine", 5)
    losses = train_linear_eps(LinearEps(L, 5), AR.sample(500, L, seed=0), s, steps=500, lr=2000.0, per_step=16)
    assert len(losses) < 500


def test_wiener_filter_equals_matrix_for_circulant_covariance():
    L, s = 16, make_schedule("cosine", 30)
    power = torch.from_numpy(AR.power_spectrum(torch.fft.rfftfreq(L, d=1 / AR.sr).numpy()))  # (L // 2 + 1,)
    c = torch.fft.irfft(power, n=L)  # autocovariance of the circular process
    idx = torch.arange(L)
    cov = c[(idx[:, None] - idx[None, :]) % L]  # (L, L) circulant
    x_t = torch.randn(6, 1, L, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([1, 5, 10, 20, 25, 30])
    assert torch.allclose(wiener_eps_hat(x_t, t, power, s), gaussian_eps_hat(x_t, t, cov, s), atol=1e-9)
    with pytest.raises(ValueError, match="need 9"):
        wiener_eps_hat(x_t, t, power[:-1], s)


def test_weight_index_equals_step_on_every_path():
    """eps_hat = W_t x_t reads weight[t] both on stratified batches (training) and on any other batch (sampling)."""
    T, L, g = 6, 8, torch.Generator().manual_seed(3)
    model = LinearEps(L, T)
    with torch.no_grad():
        model.weight.copy_(torch.randn(T + 1, L, L, generator=g))  # a different matrix for every step
    t_strat = stratified_t(T, 2)  # the batched-matmul path
    t_any = torch.tensor([3, 1, 6, 6, 2, 5, 4, 1, 3])  # the per-clip path
    for t in (t_strat, t_any, torch.tensor([1]), torch.tensor([T])):
        x_t = torch.randn(len(t), 1, L, generator=g)
        expected = torch.stack([x_t[i] @ model.weight[step].T for i, step in enumerate(t.tolist())])
        torch.testing.assert_close(model(x_t, t).detach(), expected.detach(), atol=1e-5, rtol=1e-5)
