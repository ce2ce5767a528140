"""Samplers on Gaussian AR data with the exact optimal denoiser: the output distribution is known (Sigma).

With the exact denoiser, DDPM with many steps and the probability-flow ODE samplers reproduce the data
covariance; what is left is each sampler's discretisation error. Deterministic samplers are linear maps
x_T -> x_0 here, so feeding the identity gives their output covariance M M^T exactly, without sampling noise,
and the exact ODE flow is known in closed form (a scaling per eigen-direction of Sigma).
"""

import pytest
import torch

from audiodiff_minimal.data import ARProcess
from audiodiff_minimal.forward import q_posterior, training_target
from audiodiff_minimal.models.linear import gaussian_eps_hat
from audiodiff_minimal.samplers import (
    SAMPLERS,
    Trajectory,
    ddim_invert,
    ddim_sample,
    ddpm_sample,
    denoiser,
    dpm_solver_pp_sample,
    inpaint,
    make_timesteps,
    progress,
    repaint_sample,
    replace_known,
    sample,
    sdedit,
)
from audiodiff_minimal.schedules import Schedule, make_schedule

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


DENOISE = denoiser(model, SCHEDULE)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def noise(n, seed=0, length=L):
    """(start noise x_{t_0} (n, 1, length), the generator after drawing it) for a seeded run."""
    g = gen(seed)
    return torch.randn(n, 1, length, generator=g), g


def run(name, steps, n=4, seed=0, net=model, **kwargs):
    x, g = noise(n, seed)
    return sample(net, SCHEDULE, x, name, steps, generator=g, progress=False, **kwargs)


def rel_cov_error(x, cov=COV):
    """Relative Frobenius error ||C - Sigma|| / ||Sigma|| of the (zero-mean) empirical covariance of x (n, 1, L)."""
    x = x.double().squeeze(1)
    return ((x.T @ x / len(x) - cov).norm() / cov.norm()).item()


def exact_cov_error(name, steps, schedule=SCHEDULE):
    """Output covariance M M^T of a deterministic sampler (a linear map here), relative Frobenius error."""
    eye = torch.eye(L).unsqueeze(1)  # (L, 1, L): the basis vectors as L start points x_T
    rows = sample(lambda x, t: gaussian_eps_hat(x, t, COV, schedule), schedule, eye, name, steps, progress=False)
    M_T = rows.double().squeeze(1)  # row i is M e_i
    return ((M_T.T @ M_T - COV).norm() / COV.norm()).item()


def exact_flow(t, s):
    """The probability-flow ODE's exact map x_t -> x_s for N(0, Sigma) data: in each eigen-direction of Sigma
    (variance lam) the 1-D linear flow that keeps the marginal N(0, alpha_bar lam + sigma^2), i.e. a scaling by the
    ratio of the marginal standard deviations. (L, L) float64."""
    lam, V = torch.linalg.eigh(COV.double())
    ab = SCHEDULE.alpha_bar
    return V @ torch.diag(((ab[s] * lam + 1 - ab[s]) / (ab[t] * lam + 1 - ab[t])).sqrt()) @ V.T


def respaced(timesteps):
    """The schedule of the subsequence as a schedule of its own (Nichol & Dhariwal 2021, Sec. 4): step k = 1..N is
    t_{N-k}, alpha_bar'_k = alpha_bar_{t_{N-k}}, beta'_k = 1 - alpha_bar'_k / alpha_bar'_{k-1}."""
    ab = SCHEDULE.alpha_bar[[0, *timesteps[::-1]]]
    return Schedule("respaced", len(timesteps), torch.cat([ab.new_zeros(1), 1 - ab[1:] / ab[:-1]]))


# ------------------------------------------------------------------------------------------ timesteps


def test_make_timesteps():
    assert make_timesteps(1000, 1000) == list(range(1000, 0, -1))
    ts = make_timesteps(1000, 15)
    assert len(ts) == 15 and ts[0] == 1000 and ts[-1] == 1 and all(a > b for a, b in zip(ts, ts[1:], strict=False))
    assert make_timesteps(300, 7)[0] == 300
    with pytest.raises(ValueError, match="steps"):
        make_timesteps(10, 11)
    with pytest.raises(ValueError, match="steps"):
        make_timesteps(1000, 0)  # not "all 1000 steps"


@pytest.mark.parametrize("bad", [[10, 20, 1], [10, 10, 1], [1001, 500, 1], [5, 0], [], [10.5, 1], 20])
def test_bad_timesteps_are_refused(bad):
    x, g = noise(1)
    for fn in (ddpm_sample, ddim_sample, dpm_solver_pp_sample, ddim_invert):
        with pytest.raises(ValueError, match="timesteps"):
            fn(DENOISE, x, bad, SCHEDULE)
    with pytest.raises(ValueError, match="timesteps"):
        repaint_sample(DENOISE, x, bad, SCHEDULE, x, torch.ones_like(x), 2, g)


# ------------------------------------------------------------------------------------ shape, hook, callback


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_shapes_and_trajectory(name):
    x, g = noise(3)
    traj = Trajectory(x)
    out = SAMPLERS[name](DENOISE, x, make_timesteps(1000, 6), SCHEDULE, callback=traj)
    assert out.shape == (3, 1, L) and out.dtype == torch.float32
    assert traj["t"].tolist() == make_timesteps(1000, 6) + [0]
    assert traj["x_t"].shape == (7, 3, 1, L) and traj["x0_hat"].shape == (6, 3, 1, L)
    assert torch.equal(traj["x_t"][0], x) and torch.equal(traj["x_t"][-1], out)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_hook_and_callback_see_every_step(name):
    """The callback gets (i, t, s, x_s, x0_hat) after each step; the hook's output is the next step's input."""
    ts, calls, seen, hooked = [1000, 600, 250, 40, 1], [], [], []
    hook = lambda x_s, s: (hooked.append((s, x_s)), x_s * 0.5 + s)[1]  # a visible edit
    spy = lambda x_t, t: (seen.append((t, x_t)), DENOISE(x_t, t))[1]
    x, _ = noise(2, seed=1)
    out = SAMPLERS[name](spy, x, ts, SCHEDULE, hook=hook, callback=lambda *a: calls.append(a))
    assert [(i, t, s) for i, t, s, _, _ in calls] == list(zip(range(5), ts, [*ts[1:], 0], strict=True))
    assert [t for t, _ in seen] == ts and torch.equal(seen[0][1], x)
    assert [s for s, _ in hooked] == [*ts[1:], 0]
    for (_, _, s, x_s, _), (_, before) in zip(calls, hooked, strict=True):
        assert torch.equal(x_s, before * 0.5 + s)  # the callback sees the hook's output ...
    for (_, _, _, x_s, _), (_, x_next) in zip(calls, seen[1:], strict=False):
        assert torch.equal(x_next, x_s)  # ... and the next step starts from it
    assert torch.equal(out, calls[-1][3])


def test_progress_and_trajectory_together():
    x, g = noise(2)
    traj = Trajectory(x)
    out = sample(model, SCHEDULE, x, "ddim", 5, generator=g, progress=True, callback=traj)
    assert torch.equal(traj["x_t"][-1], out)
    bar = progress(3, "test")
    for i in range(3):
        bar(i, 3 - i, 2 - i, x, x)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_seeded_reproducible(name):
    a, b, c = run(name, 10, seed=3), run(name, 10, seed=3), run(name, 10, seed=4)
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 1e-3


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_float64_start_gives_float64_samples(name):
    x, _ = noise(3, seed=2)
    a = SAMPLERS[name](
        DENOISE, x, make_timesteps(1000, 8), SCHEDULE, **({} if name == "dpm" else {"generator": gen(9)})
    )
    b = SAMPLERS[name](DENOISE, x.double(), make_timesteps(1000, 8), SCHEDULE,
                       **({} if name == "dpm" else {"generator": gen(9)}))  # fmt: skip
    assert b.dtype == torch.float64 and (a - b).abs().max() < 1e-4  # the same draws, moved to x's dtype


@pytest.mark.parametrize("name", ["ddim", "dpm"])
def test_deterministic_given_the_start_noise(name):
    """DDIM(eta=0) and DPM-Solver++ are ODE solvers: the generator is not used."""
    x, _ = noise(4, seed=1)
    a = sample(model, SCHEDULE, x, name, 10, generator=gen(5), progress=False)
    b = sample(model, SCHEDULE, x, name, 10, generator=gen(6), progress=False)
    assert torch.equal(a, b)


# --------------------------------------------------------------------------- each sampler against its paper


@pytest.mark.parametrize("variance", ["beta_tilde", "beta"])
def test_ddpm_is_the_posterior_chain_of_the_respaced_schedule(variance):
    """DDPM Alg. 2 on a subsequence is DDPM on the respaced schedule: x_{k-1} = mu_tilde + sqrt(var) z with
    mu_tilde, beta_tilde from ``forward.q_posterior`` (Eqs. 6-7) of that schedule, z = 0 at the last step."""
    ts = [1000, 870, 600, 333, 90, 12, 1]
    R, x, g = respaced(ts), *noise(3, seed=8)
    out = ddpm_sample(DENOISE, x, ts, SCHEDULE, variance, g)
    x, g = noise(3, seed=8)
    for k in range(len(ts), 0, -1):
        x0_hat, _ = DENOISE(x, ts[len(ts) - k])
        mu, beta_tilde = q_posterior(x0_hat.double(), x.double(), torch.full((3,), k), R)
        var = beta_tilde if variance == "beta_tilde" else R.beta[k]
        x = (mu + var.sqrt() * torch.randn(x.shape, generator=g) if k > 1 else mu).float()
    assert (out - x).abs().max() < 1e-5


def test_ddim_eta_one_is_ddpm_with_posterior_variance():
    """DDIM Eq. (16) with eta = 1 gives sigma_t^2 = beta_tilde and then Eq. (12) is DDPM's step (same draws)."""
    x, g = noise(5, seed=2)
    a = ddim_sample(DENOISE, x, make_timesteps(1000, 20), SCHEDULE, eta=1.0, generator=g)
    x, g = noise(5, seed=2)
    b = ddpm_sample(DENOISE, x, make_timesteps(1000, 20), SCHEDULE, "beta_tilde", g)
    assert (a - b).abs().max() < 1e-5


@pytest.mark.parametrize("eta", [0.3, 0.7])
def test_ddim_noise_variance_is_eta_squared_beta_tilde(eta):
    """One DDIM step from a fixed x_t: the spread of x_s is sigma_t(eta)^2 = eta^2 beta_tilde (Eq. 16), with
    beta_tilde of the respaced pair from ``forward.q_posterior``. 2000 x 16 draws: 3% tolerance."""
    x_t = noise(1, seed=3)[0].expand(2000, 1, L)
    x_s = {}
    ddim_sample(
        DENOISE, x_t, [700, 300, 1], SCHEDULE, eta, gen(1), callback=lambda i, t, s, x, x0: x_s.setdefault(s, x)
    )
    _, beta_tilde = q_posterior(x_t, x_t, torch.tensor([3]), respaced([700, 300, 1]))  # step k = 3 -> 2 is 700 -> 300
    assert abs(x_s[300].double().var(0).mean().item() / (eta**2 * beta_tilde.item()) - 1) < 0.03


def test_dpm_solver_with_three_steps_is_ddim():
    """The first step and the one into t_{N-1} are first order (lower order final), and first-order DPM-Solver++
    is DDIM (substitute e^{-h} = alpha_t sigma_s / (alpha_s sigma_t)); the 4th evaluation brings a 2nd-order step."""
    x, _ = noise(4, seed=6)
    gap = {n: (run("ddim", n, seed=6) - run("dpm", n, seed=6)).abs().max().item() for n in (2, 3, 4)}
    assert gap[2] < 1e-5 and gap[3] < 1e-5 and gap[4] > 1e-3, gap


def ode_error(name, intervals, start=900, stop=100):
    """Relative error of a solver's map x_start -> x_stop (read by the callback) against the exact flow."""
    ts = [round(start - i * (start - stop) / intervals) for i in range(intervals + 1)] + [1]
    got = {}
    grab = lambda i, t, s, x_s, x0_hat: got.setdefault(s, x_s)
    SAMPLERS[name](DENOISE, torch.eye(L, dtype=torch.float64).unsqueeze(1), ts, SCHEDULE, callback=grab)
    M, E = got[stop].squeeze(1).T, exact_flow(start, stop)
    return ((M - E).norm() / E.norm()).item()


def test_ode_solvers_converge_with_their_order():
    """Against the exact flow: halving the step halves DDIM's error (first order) and quarters DPM-Solver++(2M)'s
    (second order); measured ratios at 32 -> 64 steps: 1.99 and 3.83."""
    ddim = ode_error("ddim", 32) / ode_error("ddim", 64)
    dpm = ode_error("dpm", 32) / ode_error("dpm", 64)
    assert 1.8 < ddim < 2.2 and 3.4 < dpm < 4.4, (ddim, dpm)
    assert ode_error("dpm", 16) < ode_error("ddim", 16) / 10


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
    ddpm1000, ddpm15 = rel_cov_error(run("ddpm", 1000, n, 1)), rel_cov_error(run("ddpm", 15, n, 1))
    dpm15, ddim50 = rel_cov_error(run("dpm", 15, n, 1)), rel_cov_error(run("ddim", 50, n, 1, eta=0.5))
    assert floor < 0.08
    assert ddpm1000 < 0.08 and dpm15 < 0.08 and ddim50 < 0.12
    assert ddpm15 > 2 * dpm15  # the fast solver wins by a wide margin at 15 evaluations


@pytest.mark.parametrize("prediction", ["x0", "v"])
def test_x0_and_v_predictions_give_the_same_samples(prediction):
    """A model predicting x0 or v (built from the exact eps model) must sample the same clips."""

    def other(x_t, t):
        eps = model(x_t, t)
        x0 = (x_t - SCHEDULE.sigma[t].view(-1, 1, 1).float() * eps) / SCHEDULE.alpha_bar[t].sqrt().view(-1, 1, 1)
        return training_target(x0.float(), eps, t, SCHEDULE, prediction)

    for name in SAMPLERS:
        assert (run(name, 10, seed=7) - run(name, 10, seed=7, net=other, prediction=prediction)).abs().max() < 1e-4


def test_clip_x0_keeps_the_pair_consistent():
    x, _ = noise(4, seed=2)
    x_t = 3 * x  # loud enough that x0_hat leaves [-1, 1]
    x0_hat, eps_hat = denoiser(model, SCHEDULE, clip_x0=True)(x_t, 400)
    ab = SCHEDULE.alpha_bar[400].item()
    assert x0_hat.abs().max() <= 1 and DENOISE(x_t, 400)[0].abs().max() > 1
    assert (ab**0.5 * x0_hat + (1 - ab) ** 0.5 * eps_hat - x_t).abs().max() < 1e-5  # DDIM Eq. (9) still holds
    with pytest.raises(ValueError, match="prediction"):
        denoiser(model, SCHEDULE, prediction="score")


def test_linear_schedule_too():
    assert exact_cov_error("dpm", 25, make_schedule("linear", 1000)) < 0.05


# ---------------------------------------------------------------------------------------- editing

L_EDIT = 32
COV_EDIT = ARProcess().covariance(L_EDIT)


def edit_model(x_t, t):
    return gaussian_eps_hat(x_t, t, COV_EDIT, SCHEDULE)


EDIT = denoiser(edit_model, SCHEDULE)


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


def test_repaint_with_one_pass_is_ddpm_with_the_replacement_hook():
    x, mask, *_ = inpaint_setup(4)
    start, g = noise(4, seed=3, length=L_EDIT)
    a = repaint_sample(EDIT, start, make_timesteps(1000, 12), SCHEDULE, x, mask, 1, g)
    start, g = noise(4, seed=3, length=L_EDIT)
    b = ddpm_sample(
        EDIT, start, make_timesteps(1000, 12), SCHEDULE, generator=g, hook=replace_known(x, mask, SCHEDULE, g)
    )
    assert torch.equal(a, b)


def test_replacement_draws_the_known_region_from_q():
    """The hook writes a draw of q(x_s | known) = N(sqrt(alpha_bar_s) known, sigma_s^2 I) (DDPM Eq. 4) into the known
    region, ``known`` itself at s = 0, and leaves the rest of x_s alone. 2000 x 24 draws: 3% tolerance."""
    x, mask, U, K, _ = inpaint_setup(2000)
    x_s, _ = noise(2000, seed=5, length=L_EDIT)
    out = replace_known(x, mask, SCHEDULE, gen(2))(x_s, 300)
    ab = SCHEDULE.alpha_bar[300].item()
    resid = out[..., K] - ab**0.5 * x[..., K]  # should be sigma_s z
    assert abs(resid.var().item() / (1 - ab) - 1) < 0.03 and resid.mean().abs() < 0.01
    assert torch.equal(out[..., U], x_s[..., U])
    assert torch.equal(replace_known(x, mask, SCHEDULE, gen(2))(x_s, 0)[..., K], x[..., K])


def test_repaint_jumps_back_with_q_of_x_t_given_x_s():
    """Lines 9-10 of Algorithm 1: with everything known, x_s is a draw of q(x_s | known), and the jump back with
    q(x_t | x_s) = N(sqrt(1 - beta) x_s, beta I) makes the next pass's input a draw of q(x_t | known): residual
    variance sigma_t^2 (2000 x 32 draws: 3% tolerance; a jump with beta_tilde gives less)."""
    x, _, _, _, _ = inpaint_setup(2000)
    inputs = []
    spy = lambda x_t, t: (inputs.append((t, x_t)), EDIT(x_t, t))[1]
    start, g = noise(2000, seed=6, length=L_EDIT)
    repaint_sample(spy, start, [600, 200, 1], SCHEDULE, x, torch.ones(1, 1, L_EDIT), 2, g)
    assert [t for t, _ in inputs] == [600, 600, 200, 200, 1]
    ab = SCHEDULE.alpha_bar[600].item()
    resid = inputs[1][1] - ab**0.5 * x  # the second pass at t = 600 starts from the jumped-back state
    assert abs(resid.var().item() / (1 - ab) - 1) < 0.03 and resid.mean().abs() < 0.01


def test_repaint_resampling_keeps_the_marginals():
    """With nothing known, each jump back is q(x_t | x_s) and RePaint is DDPM with extra moves at every level that
    keep the marginals: the output covariance stays Sigma (2000 samples, 200 steps, U = 4: measured 0.043;
    DDPM alone 0.027)."""
    x, g = noise(2000, seed=4)
    nothing = torch.zeros(1, 1, L)
    out = repaint_sample(DENOISE, x, make_timesteps(1000, 200), SCHEDULE, torch.zeros_like(x), nothing, 4, g)
    assert rel_cov_error(out) < 0.08


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
    with pytest.raises(ValueError, match="ddpm"):
        inpaint(edit_model, SCHEDULE, x, mask, "ddim", 5, resample=3)


def test_sdedit_keeps_more_of_the_recording_at_low_t0():
    x0 = ARProcess().sample(64, L_EDIT, seed=3)
    dist = []
    for t0 in (50, 300, 1000):
        out = sdedit(EDIT, x0, t0, 20, SCHEDULE, "ddim", gen(0))
        dist.append(((out - x0).norm() / x0.norm()).item())
    assert dist[0] < 0.2 < dist[2]  # t0 = 50 keeps the recording; t0 = T draws a fresh clip (~ sqrt 2 away)
    assert dist[0] < dist[1] < dist[2]
    with pytest.raises(ValueError, match="steps"):
        sdedit(EDIT, x0, 10, 20, SCHEDULE)


def test_sdedit_removes_white_noise_of_a_known_level():
    """y = x0 + s n on Gaussian data: from the level where SNR_t0 <= 1/s^2, DDPM draws from p(x0 | y) (mean squared
    error about twice the Wiener filter's) and the ODE lands near the posterior mean (within 25% of Wiener)."""
    s_noise, x0 = 0.1, ARProcess().sample(500, L, seed=2)
    y = x0 + s_noise * torch.randn(x0.shape, generator=gen(1))
    t0 = int((SCHEDULE.snr[1:] * s_noise**2 <= 1).nonzero()[0]) + 1
    wiener = y.double().squeeze(1) @ (COV @ torch.linalg.inv(COV + s_noise**2 * torch.eye(L))).T
    mse = lambda x: ((x.double().squeeze(1) - x0.double().squeeze(1)) ** 2).mean().item()
    ddpm, ddim = (mse(sdedit(DENOISE, y, t0, 20, SCHEDULE, n, gen(2), s_noise)) for n in ("ddpm", "ddim"))
    assert 1.5 < ddpm / mse(wiener) < 2.5 and ddim < 1.25 * mse(wiener), (ddpm, ddim, mse(wiener))
    with pytest.raises(ValueError, match="t0 >="):
        sdedit(DENOISE, y, t0 - 5, 5, SCHEDULE, "ddim", gen(2), s_noise)


def test_ddim_inversion_round_trip():
    """Invert with DDIM's ODE and sample back: x0 returns, up to a first-order discretisation error."""
    x0 = ARProcess().sample(64, L_EDIT, seed=1)
    errors = []
    for steps in (100, 1000):
        x_T = ddim_invert(EDIT, x0, make_timesteps(1000, steps), SCHEDULE)
        back = ddim_sample(EDIT, x_T, make_timesteps(1000, steps), SCHEDULE)
        errors.append(((back - x0).norm() / x0.norm()).item())
    assert errors[0] < 0.06 and errors[1] < 0.01
    assert 0.8 < x_T.std() < 1.2  # the inverted clip looks like unit noise


def test_errors_are_readable():
    x, _ = noise(1)
    with pytest.raises(ValueError, match="unknown sampler"):
        sample(model, SCHEDULE, x, "euler", 5)
    with pytest.raises(ValueError, match="variance"):
        ddpm_sample(DENOISE, x, [5, 1], SCHEDULE, variance="sigma")
    with pytest.raises(ValueError, match="broadcast"):
        replace_known(x, torch.ones(1, 1, L + 1), SCHEDULE)
    with pytest.raises(ValueError, match="resample"):
        repaint_sample(DENOISE, x, [5, 1], SCHEDULE, x, torch.ones_like(x), 0)
