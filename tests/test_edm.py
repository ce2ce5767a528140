"""EDM (edm.py): sigma of a VP level, preconditioning, Karras sigmas, Algorithm 2, on exactly solvable Gaussian data."""

import math

import pytest
import torch

from audiodiff_minimal.data import ARProcess
from audiodiff_minimal.edm import (
    edm_denoiser,
    edm_preconditioning,
    edm_sample,
    gaussian_denoiser,
    gaussian_ode_map,
    karras_sigmas,
    sigma_to_alpha_bar,
    sigma_to_t,
    vp_denoiser,
    vp_sigma,
)
from audiodiff_minimal.forward import v_target
from audiodiff_minimal.samplers import Trajectory, ddim_sample, denoiser, make_timesteps
from audiodiff_minimal.schedules import make_schedule

L = 32
COV = ARProcess().covariance(L)


def test_vp_sigma_at_known_values():
    """alpha_bar = 0.2: sigma = sqrt(0.8 / 0.2) = 2; alpha_bar = 0.5: sigma = 1; and the inverse."""
    assert vp_sigma(0.2) == pytest.approx(2.0, rel=1e-12)
    assert vp_sigma(0.5) == pytest.approx(1.0, rel=1e-12)
    assert sigma_to_alpha_bar(2.0) == pytest.approx(0.2, rel=1e-12)


def test_sigma_to_t_inverts_the_schedule():
    """At every integer step the fractional step is that step; between two steps it lies between them."""
    schedule = make_schedule("cosine", 1000)
    sigma = vp_sigma(schedule.alpha_bar)
    for t in (1, 2, 10, 333, 999, 1000):
        assert sigma_to_t(sigma[t].item(), schedule) == pytest.approx(t, abs=1e-6)
    mid = math.sqrt(sigma[40].item() * sigma[41].item())  # halfway in log sigma
    assert 40 < sigma_to_t(mid, schedule) < 41


def test_karras_sigmas_known_values():
    """N = 2: [sigma_max, sigma_min, 0]; sigma^(1/rho) is evenly spaced (Karras Eq. 5); rho = 1 is linear."""
    assert karras_sigmas(2) == pytest.approx([80.0, 0.002, 0.0])
    s = torch.tensor(karras_sigmas(10)[:-1], dtype=torch.float64) ** (1 / 7)
    assert torch.allclose(s.diff(), s.diff()[0].expand(9), rtol=1e-9)
    assert karras_sigmas(3, 1.0, 3.0, rho=1.0) == pytest.approx([3.0, 2.0, 1.0, 0.0])
    # rho = 7: the middle level ((1.870 + 0.4116) / 2)^7 = 2.515, between the geometric (0.4) and arithmetic (40) means
    assert karras_sigmas(3)[1] == pytest.approx(2.5152, rel=1e-4)


def test_preconditioning_at_sigma_data():
    """At sigma = sigma_data: c_skip = 1/2, c_out = sigma_data / sqrt 2, c_in = 1 / (sigma_data sqrt 2)."""
    sd = 0.3
    c_skip, c_out, c_in, c_noise = edm_preconditioning(sd, sd)
    assert (c_skip, c_out, c_in) == pytest.approx((0.5, sd / math.sqrt(2), 1 / (sd * math.sqrt(2))), rel=1e-12)
    assert float(c_noise) == pytest.approx(math.log(sd) / 4, rel=1e-12)


@pytest.mark.parametrize("sigma", [0.01, 0.2, 3.0, 50.0])
def test_preconditioning_gives_unit_variance(sigma):
    """Karras Eq. (8): with Var(x_0) = sigma_data^2, the net's input c_in x and its target (x_0 - c_skip x) / c_out
    both have unit variance at every sigma (n = 200 000 numbers, 2% tolerance)."""
    sd = 0.3
    g = torch.Generator().manual_seed(0)
    x0, n = sd * torch.randn(200_000, generator=g), torch.randn(200_000, generator=g)
    x = x0 + sigma * n
    c_skip, c_out, c_in, _ = edm_preconditioning(sigma, sd)
    assert (c_in * x).var().item() == pytest.approx(1.0, rel=0.02)
    assert ((x0 - c_skip * x) / c_out).var().item() == pytest.approx(1.0, rel=0.02)


def test_edm_denoiser_with_an_ideal_f_is_the_exact_denoiser():
    """F = the ideal target (D* - c_skip x) / c_out, written in c_in x, makes Eq. (7) return D* (scalar Gaussian)."""
    sd, sigma = 0.3, 0.7
    c_skip, c_out, c_in, _ = edm_preconditioning(sigma, sd)
    gain = sd**2 / (sd**2 + sigma**2)  # E[x_0 | x] = gain x for x_0 ~ N(0, sd^2)
    F = lambda y, c_noise: (gain - c_skip) / c_out * y / c_in  # noqa: E731
    x = torch.randn(4, 1, 8, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(edm_denoiser(F, sd)(x, sigma), gain * x, atol=1e-6)


def _errors(heun: bool, steps_list, cov=COV):
    """Error of edm_sample from sigma_max = 80 to sigma_min = 0.002 (Karras sigmas, no final step) against the
    exact ODE solution, for each number of steps."""
    x = 80.0 * torch.randn(16, 1, cov.shape[0], generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    exact = gaussian_ode_map(cov, x, 80.0, 0.002)
    D = gaussian_denoiser(cov)
    return [(edm_sample(D, x, karras_sigmas(N)[:-1], heun=heun) - exact).norm().item() / exact.norm().item()
            for N in steps_list]  # fmt: skip


def test_heun_error_falls_as_one_over_n_squared():
    """Heun (Algorithm 1): doubling the steps divides the error by about 4 (here 3.3-4.7); Euler's only by 2."""
    e = _errors(True, [16, 32, 64])
    ratios = [e[0] / e[1], e[1] / e[2]]
    assert all(3.3 < r < 4.7 for r in ratios), ratios
    assert e[2] < 1e-2


def test_euler_error_falls_as_one_over_n():
    """Euler (heun=False): doubling the steps divides the error by about 2 (here 1.6-2.4)."""
    e = _errors(False, [32, 64, 128])
    ratios = [e[0] / e[1], e[1] / e[2]]
    assert all(1.6 < r < 2.4 for r in ratios), ratios


def _gaussian_vp_net(schedule, prediction):
    """The exact network of the VP model at integer steps, predicting eps, x0 or v (through edm's D)."""
    D = gaussian_denoiser(COV)

    def net(x_vp, t):
        ab = schedule.alpha_bar[t.long()].view(-1, 1, 1).to(x_vp)  # (B, 1, 1)
        x0_hat = torch.cat([D(x_vp[i : i + 1] / ab[i].sqrt(), vp_sigma(ab[i]).item()) for i in range(len(t))])
        eps_hat = (x_vp - ab.sqrt() * x0_hat) / (1 - ab).sqrt()
        return {"eps": eps_hat, "x0": x0_hat, "v": ab.sqrt() * eps_hat - (1 - ab).sqrt() * x0_hat}[prediction]

    return net


@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
def test_vp_denoiser_is_the_exact_denoiser(prediction):
    """A VP network (any prediction) seen through vp_denoiser at sigma_t is D(x; sigma_t), Eq. (9.4)."""
    schedule = make_schedule("cosine", 1000)
    D = gaussian_denoiser(COV)
    x = 3 * torch.randn(2, 1, L, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    for t in (5, 300, 800):
        sigma = vp_sigma(schedule.alpha_bar[t]).item()
        x_edm = x * math.sqrt(1 + sigma**2)  # a point at the scale of level sigma
        got = vp_denoiser(_gaussian_vp_net(schedule, prediction), schedule, prediction, discrete=True)(x_edm, sigma)
        assert torch.allclose(got, D(x_edm, sigma), rtol=1e-6, atol=1e-9), (prediction, t)


def test_v_target_matches_the_vp_net():
    """The test's v net agrees with forward.v_target (so the test above checks the package's v, not its own)."""
    schedule = make_schedule("cosine", 1000)
    g = torch.Generator().manual_seed(3)
    x0, eps = torch.randn(1, 1, L, generator=g, dtype=torch.float64), torch.randn(1, 1, L, generator=g).double()
    t = torch.tensor([400])
    ab = schedule.alpha_bar[400].item()
    x_vp = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps
    eps_hat = _gaussian_vp_net(schedule, "eps")(x_vp, t)
    x0_hat = _gaussian_vp_net(schedule, "x0")(x_vp, t)
    assert torch.allclose(_gaussian_vp_net(schedule, "v")(x_vp, t), v_target(x0_hat, eps_hat, t, schedule))


def test_ddim_is_euler_in_sigma_and_the_exponential_integrator():
    """DDIM (eta = 0) on steps t_i is Euler's method on Eq. (9.3) at sigma_{t_i} in x = x_vp / sqrt(alpha_bar), and
    its step is the exponential integrator of the PF-ODE: x_s = (sigma_s / sigma_t) x_t + alpha_s (1 - e^{-h}) x0_hat
    (Lu et al. 2022, DPM-Solver++ first order; sigma, alpha the VP std and sqrt(alpha_bar), h the log-SNR gap)."""
    schedule = make_schedule("cosine", 1000)
    net = _gaussian_vp_net(schedule, "x0")
    x_T = torch.randn(3, 1, L, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    ts = make_timesteps(1000, 8)
    ddim = ddim_sample(denoiser(net, schedule, "x0"), x_T, ts, schedule)
    sigmas = [vp_sigma(schedule.alpha_bar[t]).item() for t in ts] + [0.0]
    x_start = x_T / schedule.alpha_bar[ts[0]].sqrt().item()  # Eq. (9.4)
    euler = edm_sample(vp_denoiser(net, schedule, "x0", discrete=True), x_start, sigmas, heun=False)
    assert torch.allclose(ddim, euler, rtol=1e-6, atol=1e-8)
    # one step t -> s against the exponential-integrator formula
    t, s = 600, 450
    a_t, a_s = schedule.alpha_bar[t].sqrt().item(), schedule.alpha_bar[s].sqrt().item()
    sd_t, sd_s = schedule.sigma[t].item(), schedule.sigma[s].item()
    h = math.log(a_s / sd_s) - math.log(a_t / sd_t)
    x0_hat = net(x_T, torch.tensor([t] * 3))
    traj = Trajectory(x_T)
    ddim_sample(denoiser(net, schedule, "x0"), x_T, [t, s], schedule, callback=traj)
    step = traj["x_t"][1].double()  # the state after the first step, at s
    assert torch.allclose(step, sd_s / sd_t * x_T + a_s * (1 - math.exp(-h)) * x0_hat, rtol=1e-6, atol=1e-8)


def test_churn_keeps_the_distribution():
    """Algorithm 2 with churn (S_churn = 40, S_noise = 1, 128 steps) still ends at N(0, C): the sample covariance of
    4000 clips of 8 samples matches C within 7% (Frobenius; 2-5% over seeds 0-4); adding the variance
    t_hat^2 - t^2 as a std would not."""
    cov = ARProcess().covariance(8)
    g = torch.Generator().manual_seed(5)
    x = 80.0 * torch.randn(4000, 1, 8, generator=g, dtype=torch.float64)
    out = edm_sample(gaussian_denoiser(cov), x, karras_sigmas(128), churn=40.0, generator=g).squeeze(1)
    emp = out.T @ out / len(out)
    assert (emp - cov).norm() / cov.norm() < 0.07


def test_churn_window_and_determinism():
    """churn = 0 draws nothing; a window [s_tmin, s_tmax] that holds no level is the same as no churn."""
    D = gaussian_denoiser(COV)
    x = 80.0 * torch.randn(2, 1, L, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    sigmas = karras_sigmas(12)
    plain = edm_sample(D, x, sigmas)
    windowed = edm_sample(D, x, sigmas, churn=30.0, s_tmin=100.0, s_tmax=200.0, generator=torch.Generator())
    churned = edm_sample(D, x, sigmas, churn=30.0, s_tmin=0.05, s_tmax=50.0, generator=torch.Generator())
    assert torch.equal(plain, windowed)
    assert not torch.allclose(plain, churned)


def test_heun_skips_the_correction_at_sigma_zero():
    """Network evaluations: Heun makes 2N - 1 (no correction on the step into sigma = 0), Euler N."""
    calls = []
    D = gaussian_denoiser(COV)
    counting = lambda x, sigma: calls.append(sigma) or D(x, sigma)  # noqa: E731
    x = 80.0 * torch.randn(1, 1, L, dtype=torch.float64)
    edm_sample(counting, x, karras_sigmas(6))
    assert len(calls) == 11 and 0.0 not in calls
    calls.clear()
    edm_sample(counting, x, karras_sigmas(6), heun=False)
    assert len(calls) == 6
