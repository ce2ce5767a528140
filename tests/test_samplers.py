"""Samplers on Gaussian AR data with the exact optimal denoiser: the output distribution is known (Sigma).

With the exact denoiser, DDPM with many steps and the probability-flow ODE samplers reproduce the data
covariance; what is left is each sampler's discretisation error. Deterministic samplers are linear maps
x_T -> x_0 here, so feeding the identity gives their output covariance M M^T exactly, without sampling noise.
"""

import pytest
import torch

from audiodiff_minimal.data import ARProcess
from audiodiff_minimal.forward import training_target
from audiodiff_minimal.models.linear import gaussian_eps_hat
from audiodiff_minimal.samplers import (
    SAMPLERS,
    ddim_invert,
    ddim_sample,
    ddpm_sample,
    dpm_solver_pp_sample,
    inpaint,
    make_timesteps,
    sample,
    sdedit,
)
from audiodiff_minimal.schedules import make_schedule

L = 16
COV = ARProcess().covariance(L)
SCHEDULE = make_schedule("cosine", 1000)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Many tiny matmuls: one thread is 10-50x faster than two on the shared, loaded 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def model(x_t, t):
    return gaussian_eps_hat(x_t, t, COV, SCHEDULE)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def rel_cov_error(x, cov=COV):
    """Relative Frobenius error ||C - Sigma|| / ||Sigma|| of the (zero-mean) empirical covariance of x (n, 1, L)."""
    x = x.double().squeeze(1)
    return ((x.T @ x / len(x) - cov).norm() / cov.norm()).item()


def exact_cov_error(name, steps, schedule=SCHEDULE):
    """Output covariance M M^T of a deterministic sampler (a linear map here), relative Frobenius error."""
    eye = torch.eye(L).unsqueeze(1)  # (L, 1, L): the basis vectors as L start points x_T
    rows = sample(lambda x, t: gaussian_eps_hat(x, t, COV, schedule), schedule, eye.shape, name, steps, x_T=eye)
    M_T = rows.double().squeeze(1)  # row i is M e_i
    return ((M_T.T @ M_T - COV).norm() / COV.norm()).item()


def test_make_timesteps():
    assert make_timesteps(1000, 1000) == list(range(1000, 0, -1))
    ts = make_timesteps(1000, 15)
    assert len(ts) == 15 and ts[0] == 1000 and ts[-1] == 1 and all(a > b for a, b in zip(ts, ts[1:], strict=False))
    assert make_timesteps(300, 7)[0] == 300
    with pytest.raises(ValueError, match="steps"):
        make_timesteps(10, 11)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_shapes_and_trajectory(name):
    x, traj = sample(model, SCHEDULE, (3, 1, L), name, 6, generator=gen(), return_trajectory=True, progress=False)
    assert x.shape == (3, 1, L) and x.dtype == torch.float32
    assert traj["t"].tolist() == make_timesteps(1000, 6) + [0]
    assert traj["x_t"].shape == (7, 3, 1, L) and traj["x0_hat"].shape == (6, 3, 1, L)
    assert torch.equal(traj["x_t"][-1], x)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_seeded_reproducible(name):
    a = sample(model, SCHEDULE, (4, 1, L), name, 10, generator=gen(3), progress=False)
    b = sample(model, SCHEDULE, (4, 1, L), name, 10, generator=gen(3), progress=False)
    c = sample(model, SCHEDULE, (4, 1, L), name, 10, generator=gen(4), progress=False)
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 1e-3


@pytest.mark.parametrize("name", ["ddim", "dpm"])
def test_deterministic_given_x_T(name):
    """DDIM(eta=0) and DPM-Solver++ are ODE solvers: the generator is not used once x_T is given."""
    x_T = torch.randn(4, 1, L, generator=gen(1))
    a = sample(model, SCHEDULE, x_T.shape, name, 10, x_T=x_T, generator=gen(5), progress=False)
    b = sample(model, SCHEDULE, x_T.shape, name, 10, x_T=x_T, generator=gen(6), progress=False)
    assert torch.equal(a, b)


def test_ddim_eta_one_is_ddpm_with_posterior_variance():
    """DDIM Eq. (16) with eta = 1 gives sigma_t^2 = beta_tilde and then Eq. (12) is DDPM's step (same draws)."""
    a = ddim_sample(model, SCHEDULE, (5, 1, L), 20, eta=1.0, generator=gen(2), progress=False)
    b = ddpm_sample(model, SCHEDULE, (5, 1, L), 20, variance="beta_tilde", generator=gen(2), progress=False)
    assert (a - b).abs().max() < 1e-5


@pytest.mark.parametrize("prediction", ["x0", "v"])
def test_x0_and_v_predictions_give_the_same_samples(prediction):
    """A model predicting x0 or v (built from the exact eps model) must sample the same clips."""

    def other(x_t, t):
        eps = model(x_t, t)
        x0 = (x_t - SCHEDULE.sigma[t].view(-1, 1, 1).float() * eps) / SCHEDULE.alpha_bar[t].sqrt().view(-1, 1, 1)
        return training_target(x0.float(), eps, t, SCHEDULE, prediction)

    for name in SAMPLERS:
        a = sample(model, SCHEDULE, (4, 1, L), name, 10, generator=gen(7), progress=False)
        b = sample(other, SCHEDULE, (4, 1, L), name, 10, generator=gen(7), prediction=prediction, progress=False)
        assert (a - b).abs().max() < 1e-4, name


def test_ode_samplers_match_covariance_exactly():
    """Tolerances: the exact output covariance of the ODE solvers, relative Frobenius error."""
    assert exact_cov_error("ddim", 1000) < 0.01  # first order, converged
    dpm15, ddim15 = exact_cov_error("dpm", 15), exact_cov_error("ddim", 15)
    assert dpm15 < 0.05  # second order: good in 15 evaluations
    assert dpm15 < ddim15 / 4  # DDIM needs ~100 steps for this
    assert exact_cov_error("dpm", 100) < exact_cov_error("dpm", 50) / 2  # converges, faster than first order


def test_sampled_covariance_matches_sigma():
    """4000 samples: the empirical covariance of true samples is ~0.04 off (relative Frobenius) by chance."""
    n = 4000
    floor = rel_cov_error(ARProcess().sample(n, L, seed=0))
    ddpm1000 = rel_cov_error(ddpm_sample(model, SCHEDULE, (n, 1, L), 1000, generator=gen(1), progress=False))
    ddpm15 = rel_cov_error(ddpm_sample(model, SCHEDULE, (n, 1, L), 15, generator=gen(1), progress=False))
    dpm15 = rel_cov_error(dpm_solver_pp_sample(model, SCHEDULE, (n, 1, L), 15, generator=gen(1), progress=False))
    ddim50 = rel_cov_error(ddim_sample(model, SCHEDULE, (n, 1, L), 50, eta=0.5, generator=gen(1), progress=False))
    assert floor < 0.08
    assert ddpm1000 < 0.08 and dpm15 < 0.08 and ddim50 < 0.12
    assert ddpm15 > 2 * dpm15  # the fast solver wins by a wide margin at 15 evaluations


def test_linear_schedule_too():
    assert exact_cov_error("dpm", 25, make_schedule("linear", 1000)) < 0.05


# ---------------------------------------------------------------------------------------- editing

L_EDIT = 32
COV_EDIT = ARProcess().covariance(L_EDIT)


def edit_model(x_t, t):
    return gaussian_eps_hat(x_t, t, COV_EDIT, SCHEDULE)


def inpaint_setup(n=1000):
    """One AR clip with samples 12..19 missing; the exact Gaussian conditional mean of the gap."""
    x = ARProcess().sample(1, L_EDIT, seed=5).expand(n, 1, L_EDIT)
    mask = torch.ones(1, 1, L_EDIT)
    mask[..., 12:20] = 0
    U, K = torch.arange(12, 20), torch.cat([torch.arange(12), torch.arange(20, L_EDIT)])
    mu = COV_EDIT[U][:, K] @ torch.linalg.solve(COV_EDIT[K][:, K], x[0, 0, K].double())  # E[x_U | x_K]
    return x, mask, U, K, mu


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_inpainting_keeps_the_known_region_exactly(name):
    x, mask, U, K, _ = inpaint_setup(8)
    out = inpaint(edit_model, SCHEDULE, x, mask, name, 20, generator=gen(0), progress=False)
    assert torch.equal(out[..., K], x[..., K])
    assert (out[..., U] - x[..., U]).abs().max() > 1e-3  # the gap was regenerated, not copied


def test_inpainting_moves_towards_the_gaussian_conditional():
    """Replacement only approximates p(x_U | x_K): its mean error is well below the unconditional one (= 1,
    the unconditional mean being 0), and RePaint's resampling reduces it further."""
    x, mask, U, K, mu = inpaint_setup()
    errors = []
    for resample in (1, 10):
        out = inpaint(edit_model, SCHEDULE, x, mask, "ddpm", 50, resample=resample, generator=gen(0), progress=False)
        errors.append(((out[:, 0, U].double().mean(0) - mu).norm() / mu.norm()).item())
    assert errors[0] < 0.8
    assert errors[1] < 0.6 and errors[1] < errors[0] - 0.1


def test_sdedit_keeps_more_of_the_recording_at_low_t0():
    x0 = ARProcess().sample(64, L_EDIT, seed=3)
    dist = []
    for t0 in (50, 300, 1000):
        out = sdedit(edit_model, SCHEDULE, x0, t0, "ddim", 20, generator=gen(0), progress=False)
        dist.append(((out - x0).norm() / x0.norm()).item())
    assert dist[0] < 0.2 < dist[2]  # t0 = 50 keeps the recording; t0 = T draws a fresh clip (~ sqrt 2 away)
    assert dist[0] < dist[1] < dist[2]
    with pytest.raises(ValueError, match="steps"):
        sdedit(edit_model, SCHEDULE, x0, 10, "ddim", 20, progress=False)


def test_ddim_inversion_round_trip():
    """Invert with DDIM's ODE and sample back: x0 returns, up to a first-order discretisation error."""
    x0 = ARProcess().sample(64, L_EDIT, seed=1)
    errors = []
    for steps in (100, 1000):
        x_T = ddim_invert(edit_model, SCHEDULE, x0, steps, progress=False)
        back = ddim_sample(edit_model, SCHEDULE, x0.shape, steps, x_T=x_T, progress=False)
        errors.append(((back - x0).norm() / x0.norm()).item())
    assert errors[0] < 0.06 and errors[1] < 0.01
    assert 0.8 < x_T.std() < 1.2  # the inverted clip looks like unit noise


def test_explicit_timesteps():
    ts = [1000, 700, 400, 150, 30, 1]
    a, traj = ddim_sample(model, SCHEDULE, (2, 1, L), ts, generator=gen(0), return_trajectory=True, progress=False)
    assert traj["t"].tolist() == [*ts, 0]
    with pytest.raises(ValueError, match="decrease"):
        ddim_sample(model, SCHEDULE, (2, 1, L), [10, 20, 1], progress=False)


def test_errors_are_readable():
    with pytest.raises(ValueError, match="unknown sampler"):
        sample(model, SCHEDULE, (1, 1, L), "euler", 5)
    with pytest.raises(ValueError, match="both"):
        ddim_sample(model, SCHEDULE, (1, 1, L), 5, known=torch.zeros(1, 1, L))
    with pytest.raises(ValueError, match="variance"):
        ddpm_sample(model, SCHEDULE, (1, 1, L), 5, variance="sigma")
